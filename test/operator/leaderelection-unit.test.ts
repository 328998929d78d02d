// The election algorithm on its own: an in-memory Lease store with the API server's optimistic
// concurrency (resourceVersion, 409 on a stale write) and vitest's fake clock. No API server
// here; test/operator/leader-election.test.ts runs the same elector against a real one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaderElector, validateLeaderElection, type Lease, type LeaseClient, type LeaderElectionConfig } from '../../operator/src/runtime/leaderelection.js';
import { ApiError } from '../../operator/src/runtime/rest.js';

const cfg = (identity: string, releaseOnCancel = true): LeaderElectionConfig => ({
  leaseName: 'op',
  leaseNamespace: 'ns',
  identity,
  leaseDurationMs: 3000,
  renewDeadlineMs: 2000,
  retryPeriodMs: 500,
  releaseOnCancel,
});

/** One Lease, as kube-apiserver keeps it: every write bumps resourceVersion; a write on an older one is a 409. */
class FakeLeaseStore {
  lease: Lease | undefined;
  private rv = 0;
  /** While set, every call hangs until its signal aborts (a partitioned network). */
  stalled = false;
  readonly calls: Array<{ op: string; who: string; at: number; aborted?: number }> = [];

  client(who: string): LeaseClient {
    const call = <T>(op: string, signal: AbortSignal | undefined, run: () => T): Promise<T> => {
      const entry: { op: string; who: string; at: number; aborted?: number } = { op, who, at: Date.now() };
      this.calls.push(entry);
      if (!this.stalled) return Promise.resolve().then(run);
      return new Promise<T>((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          entry.aborted = Date.now();
          reject(signal.reason as Error);
        });
      });
    };
    return {
      get: (signal) => call('get', signal, () => (this.lease ? structuredClone(this.lease) : undefined)),
      create: (lease, signal) =>
        call('create', signal, () => {
          if (this.lease) throw new ApiError(409, 'AlreadyExists', 'leases "op" already exists', 'POST', '/leases');
          this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
        }),
      replace: (lease, signal) =>
        call('replace', signal, () => {
          if (!this.lease || lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion)
            throw new ApiError(409, 'Conflict', 'the object has been modified', 'PUT', '/leases/op');
          this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
        }),
    };
  }
}

let store: FakeLeaseStore;
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  store = new FakeLeaseStore();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Advances the fake clock in small steps (timers and the promises they release run in between). */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const elector = (identity: string, releaseOnCancel = true) => new LeaderElector(store.client(identity), cfg(identity, releaseOnCancel));

describe('LeaderElector algorithm (fake Lease store, fake clock)', () => {
  it('rejects inconsistent timings, naming them', () => {
    expect(() => validateLeaderElection({ ...cfg('x'), renewDeadlineMs: 3000 })).toThrow(
      /lease duration \(3000 ms\) must be greater than renew deadline \(3000 ms\)/,
    );
    expect(() => validateLeaderElection({ ...cfg('x'), retryPeriodMs: 1800 })).toThrow(/renew deadline \(2000 ms\) must be greater than 1.2 x retry period/);
    expect(() => validateLeaderElection({ ...cfg(''), identity: '' })).toThrow(/identity must not be empty/);
    expect(() => elector('ok')).not.toThrow();
  });

  it('creates the Lease when free; a standby stays out while the leader renews; release hands over within one retry period', async () => {
    const a = elector('a');
    const b = elector('b');
    expect(await a.acquire()).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 3, leaseTransitions: 0 });
    const aHold = a.holdLeadership();
    let bLeadsAt: number | undefined;
    const bAcq = b.acquire().then((v) => (bLeadsAt = v ? Date.now() : undefined));
    await advance(20_000); // many lease durations
    expect(bLeadsAt).toBeUndefined();
    expect(store.lease?.spec?.holderIdentity).toBe('a');
    // a renewed about every retry period: renewTime is recent on the fake clock
    expect(Date.now() - Date.parse(store.lease!.spec!.renewTime!)).toBeLessThanOrEqual(500 * 1.2 + 10);

    const releasedAt = Date.now();
    const stopping = a.stop();
    await advance(0);
    expect(await stopping).toBe(true);
    expect(await aHold).toBe('stopped');
    expect(store.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await advance(1000);
    await bAcq;
    expect(bLeadsAt).toBeDefined();
    // released: b takes it at its next attempt (retry period + jitter), not after the lease duration
    expect(bLeadsAt! - releasedAt).toBeLessThanOrEqual(500 * 1.2);
    // a released Lease taken over is not a transition from a holder
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 0 });
    expect(b.previousHolder).toBeUndefined();
    await b.stop();
  });

  it('a vanished leader (no release) is replaced once its record stood still for the lease duration on the candidate clock', async () => {
    const a = elector('a', false);
    expect(await a.acquire()).toBe(true);
    expect(await a.stop()).toBe(false); // stops renewing, keeps the Lease: like a crashed process
    expect(store.lease?.spec?.holderIdentity).toBe('a');
    // The record's renewTime lies far in the past for b: only b's own observation counts.
    await advance(60_000);
    const b = elector('b');
    const startedAt = Date.now();
    let leadsAt: number | undefined;
    const acq = b.acquire().then((v) => (leadsAt = v ? Date.now() : undefined));
    await advance(2900);
    expect(leadsAt).toBeUndefined();
    await advance(1000);
    await acq;
    expect(leadsAt! - startedAt).toBeGreaterThanOrEqual(3000);
    expect(leadsAt! - startedAt).toBeLessThanOrEqual(3000 + 500 * 1.2);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.previousHolder).toBe('a');
    await b.stop();
  });

  it('two candidates at the same moment: exactly one wins (the second create is a 409) and keeps it', async () => {
    const electors = { a: elector('a'), b: elector('b') };
    const won: string[] = [];
    for (const [id, e] of Object.entries(electors))
      void e.acquire().then((v) => {
        if (!v) return;
        won.push(id);
        void e.holdLeadership();
      });
    await advance(10_000);
    expect(won).toHaveLength(1);
    expect(store.lease?.spec?.holderIdentity).toBe(won[0]);
    // both saw no Lease and created one; the API server's refusal decided
    expect(store.calls.filter((c) => c.op === 'create').map((c) => c.who)).toEqual(['a', 'b']);
    await Promise.all([electors.a.stop(), electors.b.stop()]);
  });

  it('a renew that hangs: lost exactly at the renew deadline, the hung request aborted then; the watchdog fails after deadline + slack', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    const hold = a.holdLeadership();
    let outcome: string | undefined;
    void hold.then((o) => (outcome = o));
    await advance(1600); // a few renews
    expect(a.renewalHealthy(500)).toBe(true);
    store.stalled = true;
    const stalledAt = Date.now();
    await advance(5000);
    expect(outcome).toBe('lost');
    expect(a.isLeader).toBe(false);
    const hung = store.calls.filter((c) => c.at >= stalledAt);
    expect(hung.length).toBeGreaterThanOrEqual(1);
    // the cycle started one retry period after the last renew; its deadline aborted the request
    const cycleStart = hung[0]!.at;
    expect(hung[0]!.aborted! - cycleStart).toBe(2000);
    expect(hung.every((c) => c.aborted !== undefined)).toBe(true);
    // no call after the deadline
    expect(store.calls.filter((c) => c.at > cycleStart + 2000)).toEqual([]);
  });

  it('watchdog: renewalHealthy fails while leading without a renew for renewDeadline + slack', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    expect(a.renewalHealthy(500)).toBe(true);
    // no holdLeadership loop: the lease is never renewed (a starved event loop)
    await advance(2500);
    expect(a.renewalHealthy(500)).toBe(true);
    await advance(1);
    expect(a.renewalHealthy(500)).toMatch(/^leader lease not renewed for 2501 ms \(renew deadline 2000 ms \+ 500 ms slack\)$/);
    await a.stop();
  });

  it('release on stop is bounded by the renew deadline when the API server does not answer', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    store.stalled = true;
    const t0 = Date.now();
    let released: boolean | undefined;
    const stop = a.stop().then((r) => (released = r));
    await advance(1999);
    expect(released).toBeUndefined();
    await advance(1);
    await stop;
    expect(released).toBe(false);
    expect(Date.now() - t0).toBe(2000);
    expect(store.calls.at(-1)).toMatchObject({ op: 'get', who: 'a', aborted: t0 + 2000 });
    expect(a.isLeader).toBe(false);
  });
});
