/** Unit tests of the pure fleet failover decision (Priority, Weighted, failback, flapping). */
import { describe, expect, it } from 'vitest';
import {
  decideFailover,
  rendezvousScore,
  weightedQuotas,
  type FailoverInput,
  type PoolHealth,
  type PreviousDecision,
} from '../../operator/src/controllers/minerfleet/failover.js';

const pools = [
  { name: 'a', priority: 0, weight: 1 },
  { name: 'b', priority: 1, weight: 1 },
  { name: 'c', priority: 2, weight: 1 },
];
const up = (sinceMs: number): PoolHealth => ({ available: true, availableSinceMs: sinceMs });
const down: PoolHealth = { available: false };
const pods = (n: number, prefix = 'fleet-abc-') => Array.from({ length: n }, (_, i) => `${prefix}${i.toString(36).padStart(5, 'x')}`);

function input(over: Partial<FailoverInput>): FailoverInput {
  return { strategy: 'Priority', failbackAfterSeconds: 60, pools, health: {}, pods: pods(3), nowMs: 1_000_000, previous: {}, ...over };
}

describe('Priority', () => {
  it('starts on the best available pool; unknown health counts as usable', () => {
    expect(decideFailover(input({})).activePool).toBe('a');
    const d = decideFailover(input({ health: { a: down } }));
    expect(d).toMatchObject({ activePool: 'b', reason: 'Initial', switched: false, poolAvailable: true });
  });

  it('fails over at once when the active pool is down, to the best pool that is up', () => {
    const d = decideFailover(input({ health: { a: down, b: up(0), c: up(0) }, previous: { activePool: 'a' } }));
    expect(d).toMatchObject({ activePool: 'b', reason: 'Failover', switched: true, from: 'a', counts: { b: 3 } });
  });

  it('failbackAfterSeconds: returns to the better pool only after it has been up that long', () => {
    const now = 1_000_000;
    const early = decideFailover(input({ nowMs: now, failbackAfterSeconds: 60, health: { a: up(now - 59_000), b: up(0) }, previous: { activePool: 'b' } }));
    expect(early).toMatchObject({ activePool: 'b', reason: 'Steady', switched: false, recheckAtMs: now + 1000 });
    const late = decideFailover(input({ nowMs: now, failbackAfterSeconds: 60, health: { a: up(now - 60_000), b: up(0) }, previous: { activePool: 'b' } }));
    expect(late).toMatchObject({ activePool: 'a', reason: 'Failback', switched: true, from: 'b' });
    // a different failbackAfterSeconds changes the outcome for the same health
    const short = decideFailover(input({ nowMs: now, failbackAfterSeconds: 10, health: { a: up(now - 59_000), b: up(0) }, previous: { activePool: 'b' } }));
    expect(short.activePool).toBe('a');
  });

  it('a pool flapping every 3 s for 2 minutes: one switch away, one back after it settles', () => {
    let previous: PreviousDecision = { activePool: 'a' };
    const switches: string[] = [];
    let aSince = 0;
    let aUp = true;
    for (let t = 0; t <= 180_000; t += 500) {
      const flapping = t < 120_000;
      const wantUp = flapping ? Math.floor(t / 3000) % 2 === 1 : true;
      if (wantUp !== aUp) {
        aUp = wantUp;
        if (aUp) aSince = t;
      }
      const d = decideFailover(input({ nowMs: t, failbackAfterSeconds: 30, health: { a: aUp ? up(aSince) : down, b: up(0), c: down }, previous }));
      if (d.switched) switches.push(`${d.from}->${d.activePool}@${t}`);
      previous = { activePool: d.activePool! };
    }
    expect(switches).toHaveLength(2);
    expect(switches[0]).toMatch(/^a->b@/);
    expect(switches[1]).toMatch(/^b->a@/);
    expect(Number(switches[1]!.split('@')[1])).toBeGreaterThanOrEqual(120_000 + 30_000 - 3000);
  });

  it('no pool available: stays where it is, PoolAvailable false, no switch', () => {
    const d = decideFailover(input({ health: { a: down, b: down, c: down }, previous: { activePool: 'b' } }));
    expect(d).toMatchObject({ activePool: 'b', poolAvailable: false, reason: 'NoPoolAvailable', switched: false });
    // one returns: the fleet moves there (not stable yet, but the only one that works)
    const back = decideFailover(input({ nowMs: 5000, health: { a: down, b: down, c: up(4000) }, previous: { activePool: 'b' } }));
    expect(back).toMatchObject({ activePool: 'c', poolAvailable: true, reason: 'Failover' });
  });
});

describe('Weighted', () => {
  const wpools = [
    { name: 'a', priority: 0, weight: 3 },
    { name: 'b', priority: 1, weight: 1 },
  ];
  const all = { a: up(0), b: up(0) };

  it('quotas are exact and within one miner of the weights', () => {
    for (let n = 0; n <= 40; n++) {
      const q = weightedQuotas(
        [
          { name: 'a', priority: 0, weight: 5 },
          { name: 'b', priority: 1, weight: 3 },
          { name: 'c', priority: 2, weight: 2 },
        ],
        n,
      );
      expect(q.a! + q.b! + q.c!).toBe(n);
      expect(Math.abs(q.a! - (n * 5) / 10)).toBeLessThan(1);
      expect(Math.abs(q.b! - (n * 3) / 10)).toBeLessThan(1);
      expect(Math.abs(q.c! - (n * 2) / 10)).toBeLessThan(1);
    }
  });

  it('pools[].weight spreads the miners (3:1 of 12 is 9 and 3; 1:1 is 6 and 6), deterministically', () => {
    const ps = pods(12);
    const d = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps }));
    expect(d.counts).toEqual({ a: 9, b: 3 });
    expect(Object.keys(d.assignments).sort()).toEqual([...ps].sort());
    const again = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: all, pods: [...ps].reverse() }));
    expect(again.assignments).toEqual(d.assignments);
    const even = decideFailover(input({ strategy: 'Weighted', pools: wpools.map((p) => ({ ...p, weight: 1 })), health: all, pods: ps }));
    expect(even.counts).toEqual({ a: 6, b: 6 });
  });

  it('adding a pod moves at most one existing miner; removing one moves at most one', () => {
    const ps = pods(11);
    const d1 = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps }));
    const ps2 = [...ps, 'fleet-abc-newpod'];
    const d2 = decideFailover(
      input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps2, previous: { activePool: d1.activePool!, assignments: d1.assignments } }),
    );
    expect(d2.moved).toBeLessThanOrEqual(1);
    expect(d2.counts).toEqual({ a: 9, b: 3 });
    const ps3 = ps2.filter((p) => p !== ps[4]);
    const d3 = decideFailover(
      input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps3, previous: { activePool: d2.activePool!, assignments: d2.assignments } }),
    );
    expect(d3.moved).toBeLessThanOrEqual(1);
    expect(Math.abs(d3.counts.a! - (11 * 3) / 4)).toBeLessThan(1);
  });

  it('the first pods of a fleet spread over every available pool, even when only the default pool is known from before', () => {
    // The race seen on a loaded machine: the fleet's first decision (no pods yet) published the
    // default pool "a" in the runtime ConfigMap, the cached status did not show that decision's
    // spread yet, and all pools had turned Available a moment ago. No pod was ever placed, so
    // there is nothing to fail back from and no pool is held out.
    const now = 1_000_000;
    const fresh = { a: up(now - 500), b: up(now - 500) };
    const ps = pods(12);
    const d = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: fresh, pods: ps, nowMs: now, previous: { activePool: 'a' } }));
    expect(d).toMatchObject({ counts: { a: 9, b: 3 }, reason: 'Initial', switched: false, moved: 0 });
    expect(d.recheckAtMs).toBeUndefined();
    // Once pods were placed, a pool outside the spread waits for failbackAfterSeconds as before.
    const onlyA = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: { a: up(0), b: down }, pods: ps, nowMs: now, previous: {} }));
    const later = decideFailover(
      input({
        strategy: 'Weighted',
        pools: wpools,
        health: fresh,
        pods: ps,
        nowMs: now,
        previous: { activePool: onlyA.activePool!, assignments: onlyA.assignments, spread: ['a'] },
      }),
    );
    expect(later).toMatchObject({ counts: { a: 12 }, reason: 'Steady', recheckAtMs: now - 500 + 60_000 });
  });

  it('a pool going down moves only its miners; it rejoins after failbackAfterSeconds', () => {
    const ps = pods(12);
    const d1 = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps }));
    const onA = ps.filter((p) => d1.assignments[p] === 'a');
    const d2 = decideFailover(
      input({
        strategy: 'Weighted',
        pools: wpools,
        health: { a: up(0), b: down },
        pods: ps,
        previous: { activePool: d1.activePool!, assignments: d1.assignments },
      }),
    );
    expect(d2).toMatchObject({ counts: { a: 12 }, reason: 'Failover', switched: true, moved: 3 });
    for (const p of onA) expect(d2.assignments[p]).toBe('a');
    const now = 1_000_000;
    const d3 = decideFailover(
      input({
        strategy: 'Weighted',
        nowMs: now,
        failbackAfterSeconds: 60,
        pools: wpools,
        health: { a: up(0), b: up(now - 30_000) },
        pods: ps,
        previous: { activePool: d2.activePool!, assignments: d2.assignments },
      }),
    );
    expect(d3).toMatchObject({ counts: { a: 12 }, reason: 'Steady', switched: false, recheckAtMs: now + 30_000 });
    const d4 = decideFailover(
      input({
        strategy: 'Weighted',
        nowMs: now + 30_000,
        failbackAfterSeconds: 60,
        pools: wpools,
        health: { a: up(0), b: up(now - 30_000) },
        pods: ps,
        previous: { activePool: d3.activePool!, assignments: d3.assignments },
      }),
    );
    expect(d4).toMatchObject({ counts: { a: 9, b: 3 }, reason: 'Failback', moved: 3 });
  });

  it('rendezvous scores are stable and spread', () => {
    expect(rendezvousScore('p', 'a')).toBe(rendezvousScore('p', 'a'));
    expect(rendezvousScore('p', 'a')).not.toBe(rendezvousScore('p', 'b'));
    const s = rendezvousScore('x', 'y');
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThan(1);
  });

  it('no pool available: everyone stays put', () => {
    const ps = pods(4);
    const d1 = decideFailover(input({ strategy: 'Weighted', pools: wpools, health: all, pods: ps }));
    const d2 = decideFailover(
      input({
        strategy: 'Weighted',
        pools: wpools,
        health: { a: down, b: down },
        pods: ps,
        previous: { activePool: d1.activePool!, assignments: d1.assignments },
      }),
    );
    expect(d2).toMatchObject({ poolAvailable: false, reason: 'NoPoolAvailable', switched: false, moved: 0 });
    expect(d2.assignments).toEqual(d1.assignments);
  });
});
