import type { MinerReading } from './exposition.js';

/** What the delta rules read of a reading (a miner's or one device's). */
type Counters = Pick<MinerReading, 'hashesTotal' | 'shares' | 'startTimeSeconds'>;

/** The counters of one pod's previous scrape: what the next scrape's deltas count from. */
export interface CounterBaseline {
  hashesTotal: number;
  shares: Map<string, number>;
  startTimeSeconds: number | undefined;
  at: number;
}

export interface ScrapeDelta {
  hashes: number;
  /** by `pool|result|reason`, only non-zero entries */
  shares: Map<string, number>;
  /** the miner restarted since the baseline: counts are taken from zero */
  reset: boolean;
  /** seconds since the baseline */
  seconds: number;
}

/**
 * Turns two scrapes into increments that survive miner restarts (pure). A restart shows as a new
 * process start time or any counter going down; then the current values are the increments since
 * the restart (what was counted between the last scrape and the crash is unknowable and is not
 * invented). The first scrape of a pod only sets the baseline: it returns undefined.
 */
export function counterDelta(prev: CounterBaseline | undefined, cur: Counters, at: number): { delta: ScrapeDelta | undefined; baseline: CounterBaseline } {
  const baseline: CounterBaseline = { hashesTotal: cur.hashesTotal, shares: cur.shares, startTimeSeconds: cur.startTimeSeconds, at };
  if (!prev) return { delta: undefined, baseline };
  let reset = prev.startTimeSeconds !== undefined && cur.startTimeSeconds !== undefined && prev.startTimeSeconds !== cur.startTimeSeconds;
  if (!reset && cur.hashesTotal < prev.hashesTotal) reset = true;
  if (!reset) for (const [k, v] of prev.shares) if ((cur.shares.get(k) ?? 0) < v) reset = true;
  const shares = new Map<string, number>();
  for (const [k, v] of cur.shares) {
    const d = reset ? v : v - (prev.shares.get(k) ?? 0);
    if (d > 0) shares.set(k, d);
  }
  return {
    delta: { hashes: reset ? cur.hashesTotal : cur.hashesTotal - prev.hashesTotal, shares, reset, seconds: Math.max(0, (at - prev.at) / 1000) },
    baseline,
  };
}

/** process_start_time_seconds is rounded to whole seconds (prom-client). */
export const START_TIME_RESOLUTION_MS = 1000;

/**
 * The baseline for a miner process the collector has no baseline for (pure). History begins
 * when the collector's lineage started (kept across restarts in its state): a process that
 * started after that has all its counts unseen, so they count from zero; one that is older has
 * counts from before history, and its first scrape only sets the baseline (undefined here).
 * The start time is exposed rounded to the second, hence the tolerance: without it a miner
 * started just after the collector lost everything it counted before its first scrape.
 */
export function firstBaseline(cur: Counters, historyStartMs: number): CounterBaseline | undefined {
  if (cur.startTimeSeconds === undefined) return undefined;
  const startedMs = cur.startTimeSeconds * 1000;
  if (startedMs < historyStartMs - START_TIME_RESOLUTION_MS) return undefined;
  return { hashesTotal: 0, shares: new Map(), startTimeSeconds: cur.startTimeSeconds, at: startedMs };
}
