import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
// The same hardened server as the miner's endpoints (one set of limits for every minefleet endpoint).
import { createHardenedServer, listen, type HttpLimits, type Route } from '../../../miner/src/metrics/hardened-server.js';

/** true / false / a failure reason, or a passing check with a detail line (e.g. 'history store: buffering, MongoDB down'). */
export type Check = () => boolean | string | { ok: true; detail: string };

/**
 * `/healthz` and `/readyz` (probe port) and `/metrics` (metrics port); the two may share a port.
 * A check returns true when fine, or false / a reason string when not. Served behind the endpoint
 * limits of the hardened server (methods, sizes, timeouts, connection caps, per-client rate limit).
 */
export class HealthServer {
  private servers: Server[] = [];
  readonly ports: { probe?: number; metrics?: number } = {};

  constructor(
    private readonly checks: { healthz: Record<string, Check>; readyz: Record<string, Check> },
    private readonly registry: Registry,
    private readonly limits?: Partial<HttpLimits>,
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

  /**
   * Stops accepting and ends every open connection now: a keep-alive probe connection or a slow
   * scrape must not keep answering for a process that is done (see Manager: a lost lease).
   */
  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
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
    const routes: Record<string, Route> = {};
    if (serve.probes) {
      for (const path of ['/healthz', '/readyz', '/livez']) {
        routes[path] = () => {
          const r = this.run(path === '/readyz' ? 'readyz' : 'healthz');
          return { status: r.ok ? 200 : 500, body: r.body };
        };
      }
    }
    if (serve.metrics) routes['/metrics'] = async () => ({ status: 200, contentType: this.registry.contentType, body: await this.registry.metrics() });
    const server = createHardenedServer({ routes, limits: this.limits, registry: this.registry });
    this.servers.push(server);
    return listen(server, port, host);
  }
}
