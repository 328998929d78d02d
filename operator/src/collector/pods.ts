import type { KubeObject, ResourceType } from '../runtime/resource.js';
import { FLEET_LABEL } from '../controllers/minerfleet/desired/metadata.js';
import { METRICS_PORT_NAME } from '../controllers/minerfleet/desired/workload.js';

export const Pods: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };

/** Only miner pods: they carry the fleet label. */
export const MINER_POD_SELECTOR = FLEET_LABEL;

/** What the collector keeps of a Pod (a few hundred bytes instead of ~10 KiB). */
export interface MinerPod extends KubeObject {
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string; labels: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; metricsPort?: number };
  status: { podIP?: string; ready: boolean; startTime?: string };
}

interface RawPod extends KubeObject {
  spec?: { nodeName?: string; containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }> };
  status?: { podIP?: string; startTime?: string; conditions?: Array<{ type?: string; status?: string }> };
}

/**
 * The shared Pod informer's transform (one stable function: the Manager's one-cache-per-type
 * check compares it by identity, and the MinerFleet controller shares this cache for Weighted).
 */
export const minerPodTransform = (o: KubeObject): KubeObject => trimPod(o);

/** The informer transform: trims a Pod to IP, readiness, fleet label, metrics port, node and start time. */
export function trimPod(obj: KubeObject): KubeObject {
  const p = obj as RawPod;
  let metricsPort: number | undefined;
  for (const c of p.spec?.containers ?? []) for (const port of c.ports ?? []) if (port.name === METRICS_PORT_NAME) metricsPort = port.containerPort;
  const fleet = p.metadata.labels?.[FLEET_LABEL];
  const trimmed: MinerPod = {
    metadata: {
      name: p.metadata.name ?? '',
      namespace: p.metadata.namespace ?? '',
      uid: p.metadata.uid ?? '',
      ...(p.metadata.resourceVersion ? { resourceVersion: p.metadata.resourceVersion } : {}),
      labels: fleet !== undefined ? { [FLEET_LABEL]: fleet } : {},
      ...(p.metadata.deletionTimestamp ? { deletionTimestamp: p.metadata.deletionTimestamp } : {}),
    },
    spec: { ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}), ...(metricsPort !== undefined ? { metricsPort } : {}) },
    status: {
      ...(p.status?.podIP ? { podIP: p.status.podIP } : {}),
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      ...(p.status?.startTime ? { startTime: p.status.startTime } : {}),
    },
  };
  return trimmed;
}

/** A pod worth scraping: ready, with an IP and a metrics port, not terminating. */
export function scrapeTarget(p: MinerPod, defaultPort: number): { url: string; sharesUrl: string } | undefined {
  if (!p.status.ready || !p.status.podIP || p.metadata.deletionTimestamp) return undefined;
  const port = p.spec.metricsPort ?? defaultPort;
  const host = p.status.podIP.includes(':') ? `[${p.status.podIP}]` : p.status.podIP;
  return { url: `http://${host}:${port}/metrics`, sharesUrl: `http://${host}:${port}/shares` };
}
