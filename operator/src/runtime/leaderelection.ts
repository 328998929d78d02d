import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeRest } from './rest.js';
import { Leases, objectPath, collectionPath } from './resource.js';
import { InterruptibleSleep } from './interruptible-sleep.js';

export interface LeaderElectionConfig {
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  /** How long a non-renewed lease keeps standbys away (client-go default 15 s). */
  leaseDurationMs: number;
  /** The leader gives up if it could not renew for this long (default 10 s); < leaseDuration. */
  renewDeadlineMs: number;
  /** Pause between acquire/renew attempts (default 2 s). */
  retryPeriodMs: number;
  /** Clear the holder on graceful shutdown so a standby takes over at once. */
  releaseOnCancel: boolean;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * The three Lease calls the elector makes, so its algorithm can be driven by a fake store and a
 * fake clock in unit tests; kubeLeaseClient is the real one.
 */
export interface LeaseClient {
  /** The Lease, or undefined when it does not exist. */
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  /** Fails with 409 (isConflict) when it exists already (another candidate created it first). */
  create(lease: Lease, signal?: AbortSignal): Promise<void>;
  /** PUT guarded by lease.metadata.resourceVersion: fails with 409 (isConflict) when the Lease changed since it was read. */
  replace(lease: Lease, signal?: AbortSignal): Promise<void>;
}

/** The Lease `namespace/name` through the API server. */
export function kubeLeaseClient(rest: KubeRest, namespace: string, name: string): LeaseClient {
  const path = objectPath(Leases, namespace, name);
  const call = (signal?: AbortSignal) => (signal ? { signal } : {});
  return {
    get: async (signal) => {
      try {
        return await rest.get<Lease>(path, undefined, call(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: async (lease, signal) => {
      await rest.create(collectionPath(Leases, namespace), lease, call(signal));
    },
    replace: async (lease, signal) => {
      await rest.replace(path, lease, call(signal));
    },
  };
}

/** An AbortSignal that fires after `ms` (a plain timer, so a fake clock drives it too); clear() when done. */
function deadlineSignal(ms: number, what: string): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`${what}: ${ms} ms passed`, 'TimeoutError')), ms);
  return { signal: ac.signal, clear: () => clearTimeout(timer) };
}

export function validateLeaderElection(c: LeaderElectionConfig): void {
  if (!(c.leaseDurationMs > c.renewDeadlineMs))
    throw new Error(`leader election: lease duration (${c.leaseDurationMs} ms) must be greater than renew deadline (${c.renewDeadlineMs} ms)`);
  if (!(c.renewDeadlineMs > c.retryPeriodMs * 1.2))
    throw new Error(`leader election: renew deadline (${c.renewDeadlineMs} ms) must be greater than 1.2 x retry period (${c.retryPeriodMs} ms)`);
  if (c.leaseDurationMs < 1000) throw new Error('leader election: lease duration must be at least 1 s');
  if (!c.identity) throw new Error('leader election: identity must not be empty');
}

/** Lease times are metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Lease-based leader election with client-go's algorithm: a candidate takes the lease when it is
 * free or when its record has not changed for leaseDuration as observed on the candidate's own
 * clock (so clock skew between nodes does not matter); the leader renews every retryPeriod and
 * steps down if it could not renew within renewDeadline.
 */
export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  /** When the lease was last written by us (acquire or renew), on this process's clock. */
  private lastRenewAt = 0;
  private readonly sleeper = new InterruptibleSleep();

  constructor(
    private readonly leases: LeaseClient,
    readonly config: LeaderElectionConfig,
    private readonly log?: Logger,
    private readonly onStatus?: (leading: boolean) => void,
  ) {
    validateLeaderElection(config);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Who held the lease before this instance took it (undefined: free, released, or ours). */
  previousHolder: string | undefined;
  /** The lease's transition count as this instance last wrote it. */
  leaseTransitions = 0;

  /**
   * Blocks until this instance leads (true) or stop() was called (false). Then call
   * `holdLeadership` to keep renewing.
   */
  async acquire(): Promise<boolean> {
    this.log?.info({ lease: this.leaseRef }, 'waiting to acquire leader lease');
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.lastRenewAt = Date.now();
        this.setLeading(true);
        this.log?.info({ lease: this.leaseRef, identity: this.config.identity }, 'acquired leader lease');
        return true;
      }
      await this.sleeper.sleep(this.jittered(this.config.retryPeriodMs));
    }
    return false;
  }

  /**
   * Renews until stop() (resolves 'stopped') or until a renew cycle passes its deadline ('lost').
   * As client-go: each cycle starts after a retryPeriod pause and retries until it succeeds or
   * renewDeadline has passed since the cycle started; the deadline is an AbortSignal on the
   * requests themselves, so a hung API call cannot keep this instance leading past it, and 'lost'
   * resolves the moment the deadline passes, not when the stalled request gives up.
   */
  async holdLeadership(): Promise<'stopped' | 'lost'> {
    while (!this.stopped) {
      await this.sleeper.sleep(this.config.retryPeriodMs);
      if (this.stopped) break;
      const cycle = deadlineSignal(this.config.renewDeadlineMs, 'renew deadline');
      const deadline = cycle.signal;
      const expired = new Promise<'expired'>((resolve) => deadline.addEventListener('abort', () => resolve('expired'), { once: true }));
      const renewed = (async (): Promise<'renewed' | 'stopped'> => {
        for (;;) {
          if (this.stopped) return 'stopped';
          if (await this.tryAcquireOrRenew(deadline)) return 'renewed';
          if (deadline.aborted) return 'stopped'; // the race below already answered 'expired'
          await this.sleeper.sleep(this.jittered(this.config.retryPeriodMs));
        }
      })();
      const outcome = await Promise.race([renewed, expired]);
      cycle.clear();
      if (outcome === 'renewed') {
        this.lastRenewAt = Date.now();
        continue;
      }
      if (outcome === 'stopped') break;
      this.setLeading(false);
      this.log?.error(
        { lease: this.leaseRef, renewDeadlineMs: this.config.renewDeadlineMs, sinceRenewMs: Date.now() - this.lastRenewAt },
        'failed to renew leader lease within the renew deadline; stepping down',
      );
      return 'lost';
    }
    return 'stopped';
  }

  /**
   * Watchdog as client-go's HealthzAdaptor: fails while this instance believes it leads but has
   * not renewed for renewDeadline + slack (a renew loop that hangs or an event loop that starves).
   */
  renewalHealthy(slackMs: number, now = Date.now()): true | string {
    if (!this.leading) return true;
    const since = now - this.lastRenewAt;
    return since <= this.config.renewDeadlineMs + slackMs
      ? true
      : `leader lease not renewed for ${since} ms (renew deadline ${this.config.renewDeadlineMs} ms + ${slackMs} ms slack)`;
  }

  /** Stops the loops; releases the lease if we hold it and releaseOnCancel is set. True when released. */
  async stop(): Promise<boolean> {
    this.stopped = true;
    this.sleeper.wake();
    const released = this.leading && this.config.releaseOnCancel ? await this.release() : false;
    this.setLeading(false);
    return released;
  }

  private get leaseRef(): string {
    return `${this.config.leaseNamespace}/${this.config.leaseName}`;
  }

  private setLeading(v: boolean): void {
    if (this.leading !== v) {
      this.leading = v;
      this.onStatus?.(v);
    }
  }

  private jittered(ms: number): number {
    return ms * (1 + Math.random() * 0.2);
  }

  private async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const { identity, leaseDurationMs } = this.config;
    const now = new Date();
    const durationSeconds = Math.max(1, Math.round(leaseDurationMs / 1000));
    try {
      const lease = await this.leases.get(signal);
      if (!lease) {
        await this.leases.create(
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.config.leaseName, namespace: this.config.leaseNamespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          signal,
        );
        this.observed = undefined;
        this.previousHolder = undefined;
        this.leaseTransitions = 0;
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify(spec);
      if (!this.observed || this.observed.record !== record) this.observed = { record, at: Date.now() };
      const holder = spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== identity;
      const recordDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && this.observed.at + recordDurationMs > Date.now()) return false;
      const takingOver = holder !== identity;
      const next: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
      };
      // PUT with the read resourceVersion: a concurrent candidate's write makes ours fail with 409.
      await this.leases.replace({ ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: next }, signal);
      this.leaseTransitions = next.leaseTransitions ?? 0;
      if (takingOver) this.previousHolder = holder || undefined;
      if (takingOver) this.log?.info({ lease: this.leaseRef, previousHolder: holder || undefined }, 'took over leader lease');
      return true;
    } catch (err) {
      if (!isConflict(err) && !signal?.aborted) this.log?.warn({ err, lease: this.leaseRef }, 'leader lease acquire/renew failed');
      return false;
    }
  }

  /**
   * Bounded by renewDeadline like a renew: an API server that does not answer must not hold up a
   * shutdown (the lease then simply expires, as after a crash).
   */
  private async release(): Promise<boolean> {
    const bound = deadlineSignal(this.config.renewDeadlineMs, 'lease release deadline');
    const { signal } = bound;
    try {
      // A renew still in flight when stop() was called may write the lease between our read and
      // our write (409): read again and retry, so a graceful stop does release the lease.
      for (let attempt = 1; ; attempt++) {
        try {
          const lease = await this.leases.get(signal);
          if (lease?.spec?.holderIdentity !== this.config.identity) return false;
          const now = microTime();
          await this.leases.replace(
            {
              ...lease,
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
            },
            signal,
          );
          this.log?.info({ lease: this.leaseRef }, 'released leader lease');
          return true;
        } catch (err) {
          if (isConflict(err) && attempt < 5 && !signal.aborted) continue;
          this.log?.warn(
            { err: signal.aborted ? (signal.reason as Error) : err, lease: this.leaseRef, renewDeadlineMs: this.config.renewDeadlineMs },
            'could not release leader lease; it expires after its lease duration',
          );
          return false;
        }
      }
    } finally {
      bound.clear();
    }
  }
}
