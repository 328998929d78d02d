/** One HTTP port for /metrics, /healthz (process alive) and /readyz (authorized and holding a job). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
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
): Promise<http.Server & { port: number }> {
  const server = http.createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end(`method ${req.method} not allowed\n`);
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (path === '/shares' && shares) {
      let q: { after: number; limit: number };
      try {
        q = parseSharesQuery(new URLSearchParams(query));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(shares.after(q.after, q.limit)));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = probes.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.reason}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such path '${path}'; try /metrics, /shares, /healthz or /readyz\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return Object.assign(server, { port: addr.port });
}
