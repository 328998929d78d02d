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

export const DEFAULT_DEAD_BAND: DeadBand = { relative: 0.05, minIntervalMs: 30_000, maxIntervalMs: 300_000 };

/**
 * Whether the fleet's status is worth a write (pure). A steady fleet costs one write per
 * maxInterval; a hashrate move beyond the band is written at once; share counts that moved are
 * written at most once per minInterval.
 */
export function statusWriteDue(last: { value: FleetRate; at: number } | undefined, next: FleetRate, now: number, band: DeadBand = DEFAULT_DEAD_BAND): boolean {
  if (!last) return true;
  const since = now - last.at;
  if (since >= band.maxIntervalMs) return true;
  const a = last.value.hashrate;
  const b = next.hashrate;
  if ((a === 0) !== (b === 0)) return true;
  if (a > 0 && Math.abs(b - a) / a > band.relative) return true;
  const s = last.value.shares;
  const moved = s.accepted !== next.shares.accepted || s.rejected !== next.shares.rejected || s.stale !== next.shares.stale;
  return moved && since >= band.minIntervalMs;
}
