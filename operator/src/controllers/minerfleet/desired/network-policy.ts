import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { MinerFleet, NetworkTarget } from '../../../api/v1alpha1/index.js';
import { networkTargets } from './external.js';
import { fleetLabels, ownedMeta } from './metadata.js';
import type { FleetNames } from './names.js';
import type { OrderedPool } from './pools.js';

/** Where the API server really listens (an EndpointSlice address: policies see traffic after kube-proxy's DNAT). */
export interface ApiServerEndpoint {
  ip: string;
  port: number;
}

/** Operator-wide settings of the fleets' NetworkPolicies (flags / chart values). */
export interface NetworkPolicySettings {
  /** API server endpoints; empty when they could not be read: then its usual ports are allowed to any address. */
  apiServer: ApiServerEndpoint[];
  /** The operator's pods (the collector scrapes /metrics and /shares). No namespace: any namespace. */
  operatorPods: { namespace?: string; labels: Record<string, string> };
  /** Prometheus' pods. No namespaceSelector: any namespace. */
  prometheus: { namespaceSelector?: Record<string, string>; podSelector: Record<string, string> };
}

/** The ports an API server listens on when its endpoints are unknown (the kubernetes Service's and kube-apiserver's default). */
export const FALLBACK_API_SERVER_PORTS = [443, 6443];
const DNS_PORT = 53;
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const IPV4_LITERAL = /^(\d{1,3}\.){3}\d{1,3}$/;

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sortedLabels = (labels: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(labels).sort(([a], [b]) => byString(a, b)));

/** host and port of a validated stratum+tcp:// or stratum+ssl:// URL. */
export function poolEndpoint(url: string): { host: string; port: number } {
  const m = /^stratum\+(?:tcp|ssl):\/\/([^:/]+):(\d{1,5})$/.exec(url);
  if (!m) throw new Error(`desired state: pool URL ${JSON.stringify(url)} is not scheme://host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * Egress to the pools, one rule per port: the union of the addresses the pools on that port
 * declare (spec.egressCIDRs, plus the URL host when it is an IPv4 literal), or any address as soon
 * as one pool on that port is a DNS name without egressCIDRs (a NetworkPolicy cannot name a host).
 */
function poolEgress(ordered: OrderedPool[]): V1NetworkPolicyEgressRule[] {
  const byPort = new Map<number, { anywhere: boolean; cidrs: Set<string> }>();
  for (const { pool } of ordered) {
    const { host, port } = poolEndpoint(pool.spec.url);
    const cidrs = [...(pool.spec.egressCIDRs ?? []), ...(IPV4_LITERAL.test(host) ? [`${host}/32`] : [])];
    const entry = byPort.get(port) ?? { anywhere: false, cidrs: new Set<string>() };
    if (cidrs.length === 0) entry.anywhere = true;
    for (const c of cidrs) entry.cidrs.add(c);
    byPort.set(port, entry);
  }
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, { anywhere, cidrs }]) => ({
      ...(anywhere ? {} : { to: [...cidrs].sort(byString).map((cidr) => ({ ipBlock: { cidr } })) }),
      ports: [{ protocol: 'TCP', port }],
    }));
}

/**
 * Egress to networked ASICs (device.kind network): the supervisor drives each over its cgminer
 * API, so it may open the targets' API ports, at the target's address when that is an IP literal.
 */
function deviceEgress(fleet: MinerFleet, resolved?: NetworkTarget[]): V1NetworkPolicyEgressRule[] {
  const byPort = new Map<number, { anywhere: boolean; cidrs: Set<string> }>();
  for (const t of networkTargets(fleet, resolved)) {
    const entry = byPort.get(t.port) ?? { anywhere: false, cidrs: new Set<string>() };
    if (IPV4_LITERAL.test(t.host)) entry.cidrs.add(`${t.host}/32`);
    else if (t.host.includes(':')) entry.cidrs.add(`${t.host}/128`);
    else entry.anywhere = true;
    byPort.set(t.port, entry);
  }
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, { anywhere, cidrs }]) => ({
      ...(anywhere ? {} : { to: [...cidrs].sort(byString).map((cidr) => ({ ipBlock: { cidr } })) }),
      ports: [{ protocol: 'TCP', port }],
    }));
}

/** Egress to the API server (the miners watch their runtime ConfigMap), one rule per port. */
function apiServerEgress(endpoints: ApiServerEndpoint[]): V1NetworkPolicyEgressRule[] {
  if (endpoints.length === 0) return [{ ports: FALLBACK_API_SERVER_PORTS.map((port) => ({ protocol: 'TCP', port })) }];
  const byPort = new Map<number, Set<string>>();
  for (const e of endpoints) byPort.set(e.port, (byPort.get(e.port) ?? new Set()).add(`${e.ip}/${e.ip.includes(':') ? 128 : 32}`));
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, cidrs]) => ({ to: [...cidrs].sort(byString).map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port }] }));
}

function peers(settings: NetworkPolicySettings): V1NetworkPolicyPeer[] {
  const { operatorPods, prometheus } = settings;
  return [
    {
      namespaceSelector: operatorPods.namespace ? { matchLabels: { [NAMESPACE_NAME_LABEL]: operatorPods.namespace } } : {},
      podSelector: { matchLabels: sortedLabels(operatorPods.labels) },
    },
    {
      namespaceSelector: prometheus.namespaceSelector ? { matchLabels: sortedLabels(prometheus.namespaceSelector) } : {},
      podSelector: { matchLabels: sortedLabels(prometheus.podSelector) },
    },
  ];
}

/**
 * The miner pods' NetworkPolicy. Ingress: the metrics port only (/metrics, /shares, /healthz,
 * /readyz; the kubelet's probes come from the node, which NetworkPolicy implementations allow),
 * from the operator and Prometheus. Egress: DNS (any address: where the resolver runs is the
 * cluster's business), the API server, the pools' ports. Everything else is denied, so a
 * compromised miner cannot reach the farm's LAN, the cloud metadata service or another pool.
 */
export function minerNetworkPolicy(
  fleet: MinerFleet,
  names: FleetNames,
  ordered: OrderedPool[],
  metricsPort: number,
  settings: NetworkPolicySettings,
  /** Network fleets with targetsFrom: the resolved targets (their API ports are egress). */
  resolvedTargets?: NetworkTarget[],
): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ownedMeta(fleet, names.networkPolicy),
    spec: {
      podSelector: { matchLabels: fleetLabels(fleet) },
      policyTypes: ['Ingress', 'Egress'],
      // The wire name is `from`; client-node's model calls it `_from` (a reserved word in its generator).
      ingress: [{ from: peers(settings), ports: [{ protocol: 'TCP', port: metricsPort }] } as unknown as V1NetworkPolicyIngressRule],
      egress: [
        {
          ports: [
            { protocol: 'UDP', port: DNS_PORT },
            { protocol: 'TCP', port: DNS_PORT },
          ],
        },
        ...apiServerEgress(settings.apiServer),
        ...poolEgress(ordered),
        ...deviceEgress(fleet, resolvedTargets),
      ],
    },
  };
}
