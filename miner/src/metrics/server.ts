/** One HTTP port for /metrics, /shares, /healthz (process alive) and /readyz (authorized and holding a job), behind the endpoint limits. */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import { createHardenedServer, listen, type HttpLimits, type Route } from './hardened-server.js';
import { parseSharesQuery, type ShareRing } from './share-ring.js';

export interface ProbeSource {
  ready(): { ok: boolean; reason: string };
}

export async function startMetricsServer(
  host: string,
  port: number,
  registry: Registry,
  probes: ProbeSource,
  shares?: ShareRing,
  limits?: Partial<HttpLimits>,
): Promise<http.Server & { port: number }> {
  const routes: Record<string, Route> = {
    '/metrics': async () => ({ status: 200, contentType: registry.contentType, body: await registry.metrics() }),
    '/healthz': () => ({ status: 200, body: 'ok\n' }),
    '/readyz': () => {
      const r = probes.ready();
      return { status: r.ok ? 200 : 503, body: `${r.reason}\n` };
    },
  };
  if (shares) {
    routes['/shares'] = (url) => {
      let q: { after: number; limit: number };
      try {
        q = parseSharesQuery(url.searchParams);
      } catch (err) {
        return { status: 400, body: `${(err as Error).message}\n` };
      }
      return { status: 200, contentType: 'application/json', body: JSON.stringify(shares.after(q.after, q.limit)) };
    };
  }
  const server = createHardenedServer({ routes, limits, registry });
  const bound = await listen(server, port, host);
  return Object.assign(server, { port: bound });
}
