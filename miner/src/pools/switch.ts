/**
 * Owns the Stratum client of the active pool and moves to another pool without stopping the
 * process: the new client starts first, hashing moves to its jobs as soon as it has one, and the
 * old client finishes its in-flight submits before it closes.
 *
 * Local fallback (the fast path of failover): the miner falls to the next pool on its own when
 * the active session is unusable, whatever the cause: connection refused/reset, TLS failure,
 * login refused (fallbackAfterSeconds without a usable session), no valid job or only invalid
 * jobs (jobTimeoutSeconds), a submit unanswered (submitTimeoutSeconds), or every share rejected
 * (maxConsecutiveRejects). "Usable" means authorized AND holding a valid job, so a pool that
 * accepts the login but never sends work cannot hold the miner by reconnecting forever.
 * The fleet's decision has the last word: a new runtime revision moves the miner to the pool it
 * names even after a local fallback.
 */
import type { Logger } from 'pino';
import type { MinerConfig, PoolConfig } from '../config/schema.js';
import { resolveCredentials } from '../config/load.js';
import type { MinerMetrics } from '../metrics/metrics.js';
import { CONNECTION_LOST_CODE, StratumClient, SUBMIT_TIMEOUT_CODE, type ShareOutcome } from '../stratum/client.js';
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

/** How often the watchdog looks at the active session (cheap: a few comparisons). */
const WATCHDOG_MS = 200;

export class PoolManager {
  private client: StratumClient | null = null;
  private config!: MinerConfig;
  private watchdog: NodeJS.Timeout | null = null;
  /** Since when the active session is not usable (null: usable); why. */
  private unusableSince: number | null = null;
  private unusableReason = 'connecting';
  private rejectsInARow = 0;
  private noOtherPoolLogged = false;
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

  /** The pool the fleet (config or runtime channel) wants; differs from active after a local fallback. */
  get wantedPoolName(): string {
    return this.wanted;
  }

  /**
   * Apply a (new) config and wanted pool; switches when the wanted pool or its settings changed.
   * cause 'runtime' is the fleet's decision: it also ends a local fallback.
   */
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
    } else if ((wantedChanged || cause === 'runtime') && cur.poolName !== wanted) {
      this.switchTo(find(config, wanted)!, cause);
    } else if (!find(config, cur.poolName)) {
      this.switchTo(find(config, wanted)!, cause); // the pool we were on is gone from the list
    } else if (!unchanged(cur.poolName)) {
      this.switchTo(find(config, cur.poolName)!, cause); // same pool, new URL/credentials/TLS
    } else {
      this.opts.metrics.setActivePool(
        config.pools.map((p) => p.name),
        cur.poolName,
      );
    }
    this.opts.metrics.localFallback.set(this.client && this.client.poolName !== this.wanted ? 1 : 0);
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
      submitTimeoutMs: this.config.failover.submitTimeoutSeconds * 1000,
      log,
    });
    this.client = client;
    this.unusableSince = Date.now();
    this.unusableReason = 'connecting';
    this.rejectsInARow = 0;
    this.noOtherPoolLogged = false;
    metrics.setActivePool(
      this.config.pools.map((p) => p.name),
      pool.name,
    );
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
      if (s !== 'authorized') {
        this.opts.onNoWork();
        if (this.unusableSince === null) {
          this.unusableSince = Date.now();
          this.unusableReason = 'disconnected';
        }
      }
    });
    client.on('failure', (f) => {
      if (client !== this.client) return;
      this.unusableReason = f.kind;
    });
    client.on('job', (job) => {
      if (client !== this.client) return;
      if (client.state === 'authorized') this.unusableSince = null;
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
    this.opts.metrics.localFallback.set(pool.name !== this.wanted ? 1 : 0);
    if (!this.watchdog) {
      this.watchdog = setInterval(() => this.check(), WATCHDOG_MS);
      this.watchdog.unref?.();
    }
  }

  /** The result of a share submitted on `client`: unanswered or all-rejected submits fall over. */
  noteSubmit(client: StratumClient, outcome: ShareOutcome): void {
    if (client !== this.client) return;
    if (outcome.result === 'accepted') {
      this.rejectsInARow = 0;
      return;
    }
    if (outcome.result !== 'rejected' || outcome.code === CONNECTION_LOST_CODE || outcome.code === -1) return;
    if (outcome.code === SUBMIT_TIMEOUT_CODE) {
      this.fallBack('submit_timeout', `a share submit was not answered within ${this.config.failover.submitTimeoutSeconds}s`);
      return;
    }
    this.rejectsInARow++;
    if (this.rejectsInARow >= this.config.failover.maxConsecutiveRejects) {
      this.fallBack('rejected', `${this.rejectsInARow} shares in a row rejected (last: ${outcome.reason})`);
    }
  }

  private check(): void {
    const client = this.client;
    if (!client || client.state === 'stopped' || this.unusableSince === null) return;
    const f = this.config.failover;
    // Authorized but without a valid job: the job deadline; otherwise the dead-connection one.
    const limitS = client.state === 'authorized' ? f.jobTimeoutSeconds : f.fallbackAfterSeconds;
    const unusableMs = Date.now() - this.unusableSince;
    if (unusableMs < limitS * 1000) return;
    const reason =
      client.state === 'authorized'
        ? this.unusableReason === 'connecting' || this.unusableReason === 'disconnected'
          ? 'no_job'
          : this.unusableReason
        : this.unusableReason;
    this.fallBack(reason, `session unusable for ${Math.round(unusableMs / 100) / 10}s (state ${client.state}, ${reason})`);
  }

  private fallBack(reason: string, detail: string): void {
    const client = this.client;
    if (!client) return;
    const to = nextPool(this.config, client.poolName);
    if (!to) {
      if (!this.noOtherPoolLogged) this.opts.log.warn({ pool: client.poolName, reason }, `${detail}; no other pool to fall back to, retrying this one`);
      this.noOtherPoolLogged = true;
      return;
    }
    this.opts.log.warn({ from: client.poolName, to, reason }, `${detail}; falling back to the next pool`);
    this.opts.metrics.fallbacks.inc({ from: client.poolName, to, reason });
    this.switchTo(
      this.config.pools.find((p) => p.name === to)!,
      'fallback',
    );
  }

  async stop(drainMs = 3000): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const all = [...this.draining, ...(this.client ? [this.client] : [])];
    await Promise.all(all.map((c) => c.stop(drainMs)));
  }
}
