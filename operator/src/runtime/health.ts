import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** true / false / a failure reason, or a passing check with a detail line (e.g. 'history store: buffering, MongoDB down'). */
export type Check = () => boolean | string | { ok: true; detail: string };

/**
 * `/healthz` and `/readyz` (probe port) and `/metrics` (metrics port); the two may share a port.
 * A check returns true when fine, or false / a reason string when not.
 */
export class HealthServer {
  private servers: Server[] = [];
  readonly ports: { probe?: number; metrics?: number } = {};

  constructor(
    private readonly checks: { healthz: Record<string, Check>; readyz: Record<string, Check> },
    private readonly registry: Registry,
  ) {}

  /** Adds a readiness check after construction (e.g. the history store, known once it is configured). */
  addReadyz(name: string, check: Check): void {
    this.checks.readyz[name] = check;
  }

  async start(opts: { probePort: number; metricsPort: number; host?: string }): Promise<void> {
    const host = opts.host ?? '0.0.0.0';
    const same = opts.probePort === opts.metricsPort && opts.probePort !== 0;
    const probe = await this.listen(opts.probePort, host, { probes: true, metrics: same });
    this.ports.probe = probe;
    this.ports.metrics = same ? probe : await this.listen(opts.metricsPort, host, { probes: false, metrics: true });
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.servers) s.closeAllConnections();
    this.servers = [];
  }

  private run(kind: 'healthz' | 'readyz'): { ok: boolean; body: string } {
    const lines: string[] = [];
    let ok = true;
    for (const [name, check] of Object.entries(this.checks[kind])) {
      let r: ReturnType<Check>;
      try {
        r = check();
      } catch (err) {
        r = (err as Error).message;
      }
      if (r === true) lines.push(`[+]${name} ok`);
      else if (typeof r === 'object') lines.push(`[+]${name} ok: ${r.detail}`);
      else {
        ok = false;
        lines.push(`[-]${name} failed: ${r === false ? 'not ready' : r}`);
      }
    }
    lines.push(ok ? `${kind} check passed` : `${kind} check failed`);
    return { ok, body: lines.join('\n') + '\n' };
  }

  private listen(port: number, host: string, serve: { probes: boolean; metrics: boolean }): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end(`method ${req.method} not allowed\n`);
        return;
      }
      if (serve.probes && (path === '/healthz' || path === '/readyz' || path === '/livez')) {
        const r = this.run(path === '/readyz' ? 'readyz' : 'healthz');
        res.writeHead(r.ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8' }).end(r.body);
        return;
      }
      if (serve.metrics && path === '/metrics') {
        this.registry
          .metrics()
          .then((text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text))
          .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`));
        return;
      }
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(
          `no such path ${path}; try ${serve.probes ? '/healthz, /readyz' : ''}${serve.probes && serve.metrics ? ', ' : ''}${serve.metrics ? '/metrics' : ''}\n`,
        );
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
  }
}
