import { describe, expect, it } from 'vitest';
import { counterDelta, firstBaseline } from '../../operator/src/collector/deltas.js';
import { pickStatusWrites, shareWriteBudget, statusWriteReason } from '../../operator/src/collector/deadband.js';
import { nextCycleStart } from '../../operator/src/collector/schedule.js';
import { ExpositionError, parseMinerMetrics, shareKey } from '../../operator/src/collector/exposition.js';
import { WindowAccumulator, type PodObservation } from '../../operator/src/collector/windows.js';
import { minerText } from './miner-text.js';
import { SampleDocSchema, RollupDocSchema } from '../../operator/src/store/index.js';

describe('exposition parsing of the real miner metrics', () => {
  it('reads counters, gauges, the active pool and its state from MinerMetrics output', async () => {
    const text = await minerText((m) => {
      m.addHashes(0, 12345);
      m.shares.inc({ pool: 'p1', result: 'accepted', reason: '' }, 7);
      m.shares.inc({ pool: 'p1', result: 'rejected', reason: 'low difficulty share' }, 2);
      m.setActivePool(['p0', 'p1'], 'p1');
      m.difficulty.set({ pool: 'p0' }, 9);
      m.difficulty.set({ pool: 'p1' }, 0.5);
      m.setConnectionState('p1', 'authorized');
    });
    const r = parseMinerMetrics(text);
    expect(r.hashesTotal).toBe(12345);
    expect(r.shares.get(shareKey('p1', 'accepted', ''))).toBe(7);
    expect(r.shares.get(shareKey('p1', 'rejected', 'low difficulty share'))).toBe(2);
    expect(r.activePool).toBe('p1');
    expect(r.difficulty).toBe(0.5);
    expect(r.connectionState).toBe('authorized');
    expect(r.startTimeSeconds).toBeGreaterThan(1_600_000_000);
  });

  it('reads the start time from miners that still export the doubly prefixed process metric', () => {
    const text = [
      '# TYPE minefleet_miner_hashes_total counter',
      'minefleet_miner_hashes_total 5',
      '# TYPE minefleet_miner_process_process_start_time_seconds gauge',
      'minefleet_miner_process_process_start_time_seconds 1700000000',
      '',
    ].join('\n');
    expect(parseMinerMetrics(text).startTimeSeconds).toBe(1_700_000_000);
  });

  it('names what is wrong in bad input', () => {
    expect(() => parseMinerMetrics('# TYPE foo counter\nfoo 1\n')).toThrow(/minefleet_miner_hashes_total is missing/);
    expect(() => parseMinerMetrics('minefleet_miner_hashes_total 1\nminefleet_miner_shares_total{pool="p",result="weird",reason=""} 1\n')).toThrow(
      ExpositionError,
    );
  });
});

const reading = (hashes: number, accepted: number, start = 100) => ({
  hashesTotal: hashes,
  hashrate10s: 0,
  hashrate60s: 0,
  shares: new Map([[shareKey('p', 'accepted', ''), accepted]]),
  difficulty: 0,
  activePool: 'p',
  connectionState: 'authorized',
  jobAgeSeconds: 0,
  startTimeSeconds: start,
});

describe('counter deltas', () => {
  it('first scrape is a baseline; then increments; a restart (start time or a counter down) counts from zero, never negative or doubled', () => {
    const a = counterDelta(undefined, reading(1000, 5), 0);
    expect(a.delta).toBeUndefined();
    const b = counterDelta(a.baseline, reading(1600, 8), 15_000);
    expect(b.delta).toMatchObject({ hashes: 600, reset: false, seconds: 15 });
    expect(b.delta!.shares.get(shareKey('p', 'accepted', ''))).toBe(3);
    // Restarted process, and by chance already past the old counts: the start time tells.
    const c = counterDelta(b.baseline, reading(2000, 9, 200), 30_000);
    expect(c.delta).toMatchObject({ hashes: 2000, reset: true });
    expect(c.delta!.shares.get(shareKey('p', 'accepted', ''))).toBe(9);
    // No start time exposed: a counter going down is the reset.
    const d0 = counterDelta(undefined, { ...reading(5000, 10), startTimeSeconds: undefined }, 0);
    const d = counterDelta(d0.baseline, { ...reading(300, 1), startTimeSeconds: undefined }, 15_000);
    expect(d.delta).toMatchObject({ hashes: 300, reset: true });
    expect(d.delta!.shares.get(shareKey('p', 'accepted', ''))).toBe(1);
  });
});

describe('first sight of a miner process', () => {
  const historyStart = 1_000_000_000; // ms
  it('counts a process started after history began from zero (whole-second start time tolerated), an older one from its first scrape', () => {
    // Started after the collector: everything it counted is unseen.
    const young = firstBaseline(reading(5000, 4, 1_000_010), historyStart);
    expect(young).toMatchObject({ hashesTotal: 0, startTimeSeconds: 1_000_010 });
    expect(counterDelta(young, reading(5000, 4, 1_000_010), 1_000_020_000).delta!.shares.get(shareKey('p', 'accepted', ''))).toBe(4);
    // History began at .300, the process at .400, exposed rounded to the whole second (.000): still counted from zero.
    expect(firstBaseline(reading(10, 1, 1_000_000), historyStart + 300)).toBeDefined();
    // Older than history: its counts are from before the collector; baseline only.
    expect(firstBaseline(reading(5000, 4, 999_990), historyStart)).toBeUndefined();
    expect(firstBaseline({ ...reading(5000, 4), startTimeSeconds: undefined }, historyStart)).toBeUndefined();
  });
});

const obs = (over: Partial<PodObservation>): PodObservation => ({
  namespace: 'ns',
  fleet: 'f',
  pod: 'f-0',
  podUid: 'u0',
  at: 0,
  hashes: 0,
  shares: new Map(),
  pool: 'p',
  difficulty: 0.01,
  hashrate10s: 0,
  hashrate60s: 0,
  connectionState: 'authorized',
  jobAgeSeconds: 1,
  ...over,
});

describe('windows and rollups', () => {
  it('sums per pod per aligned window, keeps a deleted pod, merges a same-name pod, rolls up per fleet, closes after the grace', () => {
    const acc = new WindowAccumulator(60, 15_000);
    const T = Date.UTC(2026, 11, 1, 10, 0, 0);
    acc.add(obs({ at: T + 10_000, hashes: 600, shares: new Map([[shareKey('p', 'accepted', ''), 2]]) }));
    acc.add(obs({ at: T + 25_000, hashes: 600, shares: new Map([[shareKey('p', 'rejected', 'duplicate share'), 1]]) }));
    acc.add(obs({ pod: 'f-1', podUid: 'u1', at: T + 12_000, hashes: 1200 })); // then deleted
    acc.add(obs({ pod: 'f-2', podUid: 'u2a', at: T + 20_000, hashes: 60 }));
    acc.add(obs({ pod: 'f-2', podUid: 'u2b', at: T + 50_000, hashes: 60 })); // same name, new UID
    acc.add(obs({ at: T + 70_000, hashes: 999 })); // next window
    expect(acc.close(T + 60_000 + 14_999).samples).toEqual([]);
    const closed = acc.close(T + 75_000);
    expect(acc.openWindows).toBe(1);
    expect(closed.samples).toHaveLength(3);
    for (const s of closed.samples) SampleDocSchema.parse(s);
    const f0 = closed.samples.find((s) => s.pod === 'f-0')!;
    expect(f0).toMatchObject({ hashrate: 20, shares: { accepted: 2, rejected: 1, stale: 0 }, reasons: { 'duplicate share': 1 } });
    expect(f0.windowStart.getTime()).toBe(T);
    expect(closed.samples.find((s) => s.pod === 'f-2')!.podUids).toEqual(['u2a', 'u2b']);
    expect(closed.rollups).toHaveLength(1);
    RollupDocSchema.parse(closed.rollups[0]);
    expect(closed.rollups[0]).toMatchObject({ pods: 3, hashrate: 20 + 20 + 2, shares: { accepted: 2, rejected: 1, stale: 0 }, activePool: 'p' });
    expect(acc.close(0, true).samples.map((s) => s.hashrate)).toEqual([999 / 60]);
  });
});

describe('status dead band', () => {
  const v = (hashrate: number, accepted = 0) => ({ hashrate, shares: { accepted, rejected: 0, stale: 0 } });
  const statusWriteDue = (...a: Parameters<typeof statusWriteReason>) => statusWriteReason(...a) !== undefined;
  it('writes first, on a move beyond the band, on shares after the min interval, and at the max interval', () => {
    expect(statusWriteDue(undefined, v(100), 0)).toBe(true);
    const last = { value: v(100, 1), at: 0 };
    expect(statusWriteDue(last, v(104, 1), 10_000)).toBe(false);
    expect(statusWriteDue(last, v(110, 1), 10_000)).toBe(true);
    expect(statusWriteDue(last, v(0, 1), 10_000)).toBe(true);
    expect(statusWriteDue(last, v(100, 3), 10_000)).toBe(false);
    expect(statusWriteDue(last, v(100, 3), 59_999)).toBe(false);
    expect(statusWriteDue(last, v(100, 3), 60_000)).toBe(true);
    expect(statusWriteDue(last, v(101, 1), 299_999)).toBe(false);
    expect(statusWriteDue(last, v(101, 1), 300_000)).toBe(true);
    // a fleet's first shares at once: status never shows 0 shares for a fleet that has some
    expect(statusWriteDue({ value: v(100), at: 0 }, v(100, 1), 10_000)).toBe(true);
  });
});

describe('cycle schedule', () => {
  it('starts a cycle every interval from the first; one that ends past the next start is an overrun and the schedule continues from its end', () => {
    // a 4 s cycle started at 0: the next starts at 15 s
    expect(nextCycleStart(0, 15_000, 4_000)).toEqual({ at: 15_000, overrun: false });
    // ending exactly on the next start is on time
    expect(nextCycleStart(15_000, 15_000, 30_000)).toEqual({ at: 30_000, overrun: false });
    // a 17 s cycle: the next starts at once, 2 s late, and the one after 15 s from there
    const late = nextCycleStart(30_000, 15_000, 47_000);
    expect(late).toEqual({ at: 47_000, overrun: true });
    expect(nextCycleStart(late.at, 15_000, 50_000)).toEqual({ at: 62_000, overrun: false });
    // a cycle longer than two intervals is still one overrun: no burst of cycles to catch up
    expect(nextCycleStart(62_000, 15_000, 100_000)).toEqual({ at: 100_000, overrun: true });
  });
});

describe('status write budget', () => {
  const v = (hashrate: number, accepted = 0) => ({ hashrate, shares: { accepted, rejected: 0, stale: 0 } });

  it('says why a write is due', () => {
    const last = { value: v(100), at: 0 };
    expect(statusWriteReason(undefined, v(100), 0)).toBe('first');
    expect(statusWriteReason(last, v(120), 1_000)).toBe('hashrate');
    expect(statusWriteReason(last, v(100, 5), 1_000)).toBe('firstShares');
    const counted = { value: v(100, 5), at: 0 };
    expect(statusWriteReason(counted, v(100, 9), 59_000)).toBeUndefined();
    expect(statusWriteReason(counted, v(100, 9), 60_000)).toBe('shares');
    expect(statusWriteReason(last, v(100), 300_000)).toBe('maxInterval');
  });

  it("spreads share-only writes over a minInterval's cycles, oldest first, never holding back another reason", () => {
    // 1,000 fleets at 15 s cycles and a 60 s minInterval: a quarter per cycle
    expect(shareWriteBudget(1000, 15_000)).toBe(250);
    expect(shareWriteBudget(3, 1_000)).toBe(1);
    expect(shareWriteBudget(3, 1_000, { relative: 0.05, minIntervalMs: 0, maxIntervalMs: 1 })).toBe(Infinity);
    const due = [
      { id: 'a', reason: 'shares' as const, lastAt: 30 },
      { id: 'b', reason: 'hashrate' as const, lastAt: 40 },
      { id: 'c', reason: 'shares' as const, lastAt: 10 },
      { id: 'd', reason: 'shares' as const, lastAt: 20 },
      { id: 'e', reason: 'first' as const, lastAt: 0 },
    ];
    expect(pickStatusWrites(due, 2).map((d) => d.id)).toEqual(['b', 'e', 'c', 'd']);
    expect(pickStatusWrites(due, 0).map((d) => d.id)).toEqual(['b', 'e']);
    // every fleet written in one cycle: four cycles later they are spread 250 a cycle, and stay so
    const lastAt = new Map(Array.from({ length: 1000 }, (_, i) => [i, 0]));
    const perCycle: number[] = [];
    for (let t = 60_000; t <= 180_000; t += 15_000) {
      const dueNow = [...lastAt].filter(([, at]) => t - at >= 60_000).map(([i, at]) => ({ i, reason: 'shares' as const, lastAt: at }));
      const sent = pickStatusWrites(dueNow, shareWriteBudget(1000, 15_000));
      for (const s of sent) lastAt.set(s.i, t);
      perCycle.push(sent.length);
    }
    expect(perCycle).toEqual([250, 250, 250, 250, 250, 250, 250, 250, 250]);
  });
});
