import { describe, expect, it } from 'vitest';
import { counterDelta, firstBaseline } from '../../operator/src/collector/deltas.js';
import { statusWriteDue } from '../../operator/src/collector/deadband.js';
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
  it('writes first, on a move beyond the band, on shares after the min interval, and at the max interval', () => {
    expect(statusWriteDue(undefined, v(100), 0)).toBe(true);
    const last = { value: v(100), at: 0 };
    expect(statusWriteDue(last, v(104), 10_000)).toBe(false);
    expect(statusWriteDue(last, v(110), 10_000)).toBe(true);
    expect(statusWriteDue(last, v(0), 10_000)).toBe(true);
    expect(statusWriteDue(last, v(100, 3), 10_000)).toBe(false);
    expect(statusWriteDue(last, v(100, 3), 30_000)).toBe(true);
    expect(statusWriteDue(last, v(101), 299_999)).toBe(false);
    expect(statusWriteDue(last, v(101), 300_000)).toBe(true);
  });
});
