/**
 * When the cycle after the one that started at `due` starts (pure): one interval later, or at
 * `now` when the cycle ended past that (an overrun; the schedule then continues from `now`).
 */
export function nextCycleStart(due: number, intervalMs: number, now: number): { at: number; overrun: boolean } {
  const at = due + intervalMs;
  return at >= now ? { at, overrun: false } : { at: now, overrun: true };
}
