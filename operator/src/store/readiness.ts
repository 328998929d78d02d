import type { HistoryStore } from './store.js';

/**
 * The store's line in /readyz. Always passing: the operator keeps working while MongoDB is down
 * (it buffers, then spills), so an outage must not take the operator out of its Service; the
 * detail says what the store is doing. `available` follows the store's periodic ping, so the
 * line is true of the server even when nothing is being written.
 */
export function storeReadiness(store: Pick<HistoryStore, 'available' | 'bufferedCounts'>): { ok: true; detail: string } {
  const b = store.bufferedCounts();
  return {
    ok: true,
    detail: store.available
      ? `MongoDB available, ${b.memory + b.spill} document(s) pending`
      : `MongoDB unavailable, buffering (${b.memory} in memory, ${b.spill} spilled)`,
  };
}
