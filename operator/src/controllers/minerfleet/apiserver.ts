import type { Logger } from 'pino';
import { EndpointSlices, objectPath } from '../../runtime/resource.js';
import { isNotFound, type KubeRest } from '../../runtime/rest.js';
import type { ApiServerEndpoint } from './desired/index.js';

/** The EndpointSlice the API server itself maintains for the `kubernetes` Service. */
export const API_SERVER_SLICE = { namespace: 'default', name: 'kubernetes' };

interface EndpointSliceView {
  addressType?: string;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

/**
 * address x port of the `kubernetes` EndpointSlice, sorted. NetworkPolicies are enforced after
 * kube-proxy's DNAT, so an egress rule must name these addresses, not the Service's ClusterIP.
 * Endpoints that report not ready are kept: a briefly unready API server must not be cut off.
 */
export function apiServerEndpointsOf(slice: EndpointSliceView): ApiServerEndpoint[] {
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return [];
  const ports = (slice.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number').map((p) => p.port!);
  const ips = [...new Set((slice.endpoints ?? []).flatMap((e) => e.addresses ?? []))];
  const out = ips.flatMap((ip) => ports.map((port) => ({ ip, port })));
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
}

interface EndpointsView {
  subsets?: Array<{ addresses?: Array<{ ip?: string }>; notReadyAddresses?: Array<{ ip?: string }>; ports?: Array<{ port?: number; protocol?: string }> }>;
}

/** The same from the core/v1 Endpoints, for clusters without the EndpointSlice mirroring controller. */
export function apiServerEndpointsOfEndpoints(ep: EndpointsView): ApiServerEndpoint[] {
  const out = (ep.subsets ?? []).flatMap((s) => {
    const ips = [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map((a) => a.ip).filter((ip): ip is string => !!ip);
    const ports = (s.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number').map((p) => p.port!);
    return ips.flatMap((ip) => ports.map((port) => ({ ip, port })));
  });
  const seen = new Set<string>();
  return out
    .filter((e) => !seen.has(`${e.ip}:${e.port}`) && seen.add(`${e.ip}:${e.port}`))
    .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
}

/**
 * The API server's endpoints for the miners' NetworkPolicies, read from the API (one GET every
 * refreshMs, shared by all fleets). A failed read keeps the last good value; with none yet the
 * policies fall back to the API server's usual ports at any address (never to no access at all:
 * miners that cannot watch their runtime ConfigMap miss every failover).
 */
export class ApiServerEndpoints {
  private value: ApiServerEndpoint[] = [];
  private readAt = -Infinity;
  private warned = false;

  constructor(
    private readonly rest: KubeRest,
    private readonly log: Logger,
    private readonly refreshMs = 300_000,
  ) {}

  async get(signal?: AbortSignal): Promise<ApiServerEndpoint[]> {
    if (Date.now() - this.readAt < this.refreshMs) return this.value;
    this.readAt = Date.now();
    try {
      let found: ApiServerEndpoint[];
      try {
        const slice = await this.rest.get<EndpointSliceView>(objectPath(EndpointSlices, API_SERVER_SLICE.namespace, API_SERVER_SLICE.name), undefined, {
          signal,
        });
        found = apiServerEndpointsOf(slice);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // No mirroring controller: the API server may still write its core/v1 Endpoints itself.
        const ep = await this.rest.get<EndpointsView>(`/api/v1/namespaces/${API_SERVER_SLICE.namespace}/endpoints/${API_SERVER_SLICE.name}`, undefined, {
          signal,
        });
        found = apiServerEndpointsOfEndpoints(ep);
      }
      if (found.length > 0) this.value = found;
      this.warned = false;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (!this.warned)
        this.log.warn(
          { err, slice: `${API_SERVER_SLICE.namespace}/${API_SERVER_SLICE.name}` },
          'cannot read the API server endpoints; miner NetworkPolicies keep the last known ones (or allow the usual API server ports at any address)',
        );
      this.warned = true;
    }
    return this.value;
  }
}
