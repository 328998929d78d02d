import { SharesPageSchema, type SharesPage, type ShareRecord } from '../../../miner/src/metrics/share-ring.js';
import type { ShareDoc } from '../store/index.js';
import type { MinerReading } from './exposition.js';

export type ShareHistoryMode = 'none' | 'rejected' | 'all';

/** Where the collector is in one miner process's share ring. */
export interface ShareCursor {
  bootId: string;
  seq: number;
}

/**
 * One page read after `from` (pure): the records past the cursor, the new cursor, and how many
 * fell out of the ring before they were read (the reader came too late). A page whose bootId
 * differs from the cursor's comes from a restarted miner: read it again from 0 (see `restarted`).
 */
export function advanceCursor(from: number, page: SharesPage): { cursor: ShareCursor; fresh: ShareRecord[]; lost: number } {
  const fresh = page.shares.filter((s) => s.seq > from);
  const lost = page.lastSeq > from ? Math.max(0, page.oldestSeq - (from + 1)) : 0;
  return { cursor: { bootId: page.bootId, seq: fresh.at(-1)?.seq ?? from }, fresh, lost };
}

export function restarted(cursor: ShareCursor | undefined, page: SharesPage): boolean {
  return cursor !== undefined && cursor.bootId !== page.bootId;
}

export function parseSharesPage(text: string): SharesPage {
  const r = SharesPageSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`bad /shares reply: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** A miner process's share counters (minefleet_miner_shares_total summed) as one scrape saw them. */
export interface SharesSeen {
  total: number;
  startTimeSeconds: number | undefined;
}

export function sharesSeen(r: Pick<MinerReading, 'shares' | 'startTimeSeconds'>): SharesSeen {
  let total = 0;
  for (const v of r.shares.values()) total += v;
  return { total, startTimeSeconds: r.startTimeSeconds };
}

/**
 * Whether a pod may hold share records the cursor has not read (pure). The miner pushes a record
 * into its ring and counts it in minefleet_miner_shares_total in the same tick, so counters equal
 * to those seen before the last complete pull, from the same process (start time), mean the ring
 * holds nothing new: a steady pod costs one request a cycle, not two. No cursor or no complete
 * pull yet: due.
 */
export function sharesDue(cursor: ShareCursor | undefined, lastPull: SharesSeen | undefined, now: Pick<MinerReading, 'shares' | 'startTimeSeconds'>): boolean {
  if (!cursor || !lastPull) return true;
  const seen = sharesSeen(now);
  return seen.startTimeSeconds !== lastPull.startTimeSeconds || seen.total !== lastPull.total;
}

/** Which records the fleet keeps (spec.history.shares). */
export function keepShare(mode: ShareHistoryMode, s: ShareRecord): boolean {
  return mode === 'all' || (mode === 'rejected' && s.result !== 'accepted');
}

export function shareDoc(s: ShareRecord, pod: { namespace: string; fleet: string; pod: string; podUid: string; retentionDays?: number }): ShareDoc {
  return {
    namespace: pod.namespace,
    fleet: pod.fleet,
    pod: pod.pod,
    pool: s.pool,
    worker: s.worker,
    jobId: s.jobId,
    extranonce2: s.extranonce2,
    ntime: s.ntime,
    nonce: s.nonce,
    difficulty: s.difficulty,
    result: s.result,
    ...(s.reason ? { reason: s.reason.slice(0, 512) } : {}),
    time: new Date(s.time),
    podUid: pod.podUid,
    seq: s.seq,
    ...(pod.retentionDays !== undefined ? { retentionDays: pod.retentionDays } : {}),
  };
}
