/**
 * Owns the Stratum client of the active pool and moves to another pool without stopping the
 * process: the new client starts first, hashing moves to its jobs as soon as it has one, and the
 * old client finishes its in-flight submits before it closes. Also falls to the next pool on its
 * own when the active connection stays dead for fallbackAfterSeconds.
 */
import type { Logger } from 'pino';
import type { MinerConfig, PoolConfig } from '../config/schema.js';
import { resolveCredentials } from '../config/load.js';
import type { MinerMetrics } from '../metrics/metrics.js';
import { StratumClient } from '../stratum/client.js';
import type { Job } from '../work/job.js';
import { nextPool } from './selector.js';

export type SwitchCause = 'startup' | 'config' | 'runtime' | 'fallback';

export interface PoolManagerOptions {
  log: Logger;
  metrics: MinerMetrics;
  onJob: (client: StratumClient, job: Job) => void;
  onNoWork: () => void;
  env?: NodeJS.ProcessEnv;
}

export class PoolManager {
  private client: StratumClient | null = null;
  private config!: MinerConfig;
  private fallbackTimer: NodeJS.Timeout | null = null;
  private draining = new Set<StratumClient>();
  /** The pool config/runtime ask for; differs from active only after a fallback. */
  private wanted = '';

  constructor(private readonly opts: PoolManagerOptions) {}

  get active(): StratumClient | null {
    return this.client;
  }

  get activePoolName(): string | null {
    return this.client?.poolName ?? null;
  }

  /** Apply a (new) config and wanted pool; switches when the wanted pool or its settings changed. */
  apply(config: MinerConfig, wanted: string, cause: SwitchCause): void {
    const prev = this.config as MinerConfig | undefined;
    this.config = config;
    const cur = this.client;
    const wantedChanged = wanted !== this.wanted;
    this.wanted = wanted;
    const find = (c: MinerConfig | undefined, name: string) => c?.pools.find((p) => p.name === name);
    const unchanged = (name: string) =>
      JSON.stringify(find(prev, name)) === JSON.stringify(find(config, name)) && JSON.stringify(prev?.failover) === JSON.stringify(config.failover);
    if (!cur) {
      this.switchTo(find(config, wanted)!, cause);
    } else if (wantedChanged && cur.poolName !== wanted) {
      this.switchTo(find(config, wanted)!, cause);
    } else if (!find(config, cur.poolName)) {
      this.switchTo(find(config, wanted)!, cause); // the pool we were on is gone from the list
    } else if (!unchanged(cur.poolName)) {
      this.switchTo(find(config, cur.poolName)!, cause); // same pool, new URL/credentials/TLS
    } else {
      this.opts.metrics.setActivePool(config.pools.map((p) => p.name), cur.poolName);
      this.armFallback();
    }
  }

  private switchTo(pool: PoolConfig, cause: SwitchCause): void {
    const { log, metrics } = this.opts;
    const old = this.client;
    const creds = resolveCredentials(this.config, pool, this.opts.env ?? process.env);
    const client = new StratumClient({
      poolName: pool.name,
      url: pool.url,
      login: creds.login,
      password: creds.password,
      ...(pool.tls ? { tls: pool.tls } : {}),
      idleTimeoutMs: this.config.failover.idleTimeoutSeconds * 1000,
      backoff: this.config.failover.backoff,
      log,
    });
    this.client = client;
    metrics.setActivePool(this.config.pools.map((p) => p.name), pool.name);
    if (old) {
      metrics.poolSwitches.inc({ from: old.poolName, to: pool.name, cause });
      metrics.connectionState.remove({ pool: old.poolName, state: old.state });
      log.info({ from: old.poolName, to: pool.name, cause }, 'switching pool');
    } else {
      log.info({ pool: pool.name, cause }, 'mining on pool');
    }
    metrics.setConnectionState(pool.name, client.state);
    client.on('state', (s) => {
      if (client !== this.client) return;
      metrics.setConnectionState(pool.name, s);
      if (s !== 'authorized') this.opts.onNoWork();
      this.armFallback();
    });
    client.on('job', (job) => {
      if (client !== this.client) return;
      metrics.difficulty.set({ pool: pool.name }, job.session.difficulty);
      this.opts.onJob(client, job);
    });
    client.on('badMessage', (kind) => metrics.badMessages.inc({ pool: pool.name, kind }));
    client.on('reconnect', (reason) => metrics.reconnects.inc({ pool: pool.name, reason }));
    client.start();
    if (old) {
      this.opts.onNoWork();
      this.draining.add(old);
      void old.stop(5000).finally(() => this.draining.delete(old));
    }
    this.armFallback();
  }

  private armFallback(): void {
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
    const client = this.client;
    if (!client || client.state === 'authorized' || client.state === 'stopped') return;
    const limitMs = this.config.failover.fallbackAfterSeconds * 1000;
    const wait = Math.max(0, limitMs - client.deadForMs());
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
      if (client !== this.client || client.state === 'authorized') return;
      const to = nextPool(this.config, client.poolName);
      if (!to) {
        this.opts.log.warn({ pool: client.poolName }, 'connection dead past fallbackAfterSeconds but there is no other pool');
        return;
      }
      this.opts.log.warn({ from: client.poolName, to, fallbackAfterSeconds: this.config.failover.fallbackAfterSeconds }, 'pool connection dead too long; falling to next pool');
      this.opts.metrics.fallbacks.inc({ from: client.poolName, to });
      this.switchTo(this.config.pools.find((p) => p.name === to)!, 'fallback');
    }, wait);
    this.fallbackTimer.unref?.();
  }

  async stop(drainMs = 3000): Promise<void> {
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    const all = [...this.draining, ...(this.client ? [this.client] : [])];
    await Promise.all(all.map((c) => c.stop(drainMs)));
  }
}
