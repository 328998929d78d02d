/** The collector's part of a MinerFleet's status. */
export interface FleetRate {
  hashrate: number;
  shares: { accepted: number; rejected: number; stale: number };
}

export interface DeadBand {
  /** relative hashrate change that is worth a write at once (0.05 = 5 %) */
  relative: number;
  /** new share counts are written at most this often */
  minIntervalMs: number;
  /** write at least this often even when steady (so the value's age stays bounded) */
  maxIntervalMs: number;
}

/**
 * Share counts at most once a minute (one 60 s window): every fleet's counts move every cycle, so
 * this interval is what 1,000 fleets cost the API server (about 17 writes/s), and every write is
 * a watch event for every MinerFleet cache.
 */
export const DEFAULT_DEAD_BAND: DeadBand = { relative: 0.05, minIntervalMs: 60_000, maxIntervalMs: 300_000 };

/** Why a status write is due: `shares` (counts moved) is the only one that may wait a cycle. */
export type StatusWriteReason = 'first' | 'hashrate' | 'firstShares' | 'maxInterval' | 'shares';

const total = (s: FleetRate['shares']) => s.accepted + s.rejected + s.stale;

/**
 * Whether the fleet's status is worth a write, and why (pure). A steady fleet costs one write
 * per maxInterval; a hashrate move beyond the band, and a fleet's first shares, are written at
 * once; share counts that moved are written at most once per minInterval.
 */
export function statusWriteReason(
  last: { value: FleetRate; at: number } | undefined,
  next: FleetRate,
  now: number,
  band: DeadBand = DEFAULT_DEAD_BAND,
): StatusWriteReason | undefined {
  if (!last) return 'first';
  const since = now - last.at;
  if (since >= band.maxIntervalMs) return 'maxInterval';
  const a = last.value.hashrate;
  const b = next.hashrate;
  if ((a === 0) !== (b === 0)) return 'hashrate';
  if (a > 0 && Math.abs(b - a) / a > band.relative) return 'hashrate';
  const s = last.value.shares;
  if (total(s) === 0 && total(next.shares) > 0) return 'firstShares';
  const moved = s.accepted !== next.shares.accepted || s.rejected !== next.shares.rejected || s.stale !== next.shares.stale;
  return moved && since >= band.minIntervalMs ? 'shares' : undefined;
}

/**
 * Share-count writes a cycle may send: the fleets' share of one minInterval (1,000 fleets, 15 s
 * cycles, 60 s: 250). Without it every fleet written in the first cycle comes due in the same
 * later cycle, 1,000 writes at once, and stays in step; with it the writes spread over the
 * cycles of a minInterval and stay spread.
 */
export function shareWriteBudget(fleets: number, intervalMs: number, band: DeadBand = DEFAULT_DEAD_BAND): number {
  if (band.minIntervalMs <= 0) return Infinity;
  return Math.max(1, Math.ceil((fleets * intervalMs) / band.minIntervalMs));
}

/**
 * The due writes to send this cycle (pure): every one with another reason, and of the share-only
 * ones the longest unwritten first, up to `budget`. A deferred one stays due (its counts keep
 * accumulating), so it goes in a later cycle; none waits for ever, since the oldest go first.
 */
export function pickStatusWrites<T extends { reason: StatusWriteReason; lastAt: number }>(due: readonly T[], budget: number): T[] {
  const shares = due.filter((d) => d.reason === 'shares').sort((x, y) => x.lastAt - y.lastAt);
  return [...due.filter((d) => d.reason !== 'shares'), ...shares.slice(0, budget)];
}
