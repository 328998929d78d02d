import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * The miner's recent share results, served at GET /shares?after=SEQ so the operator's collector
 * stores each one exactly once. A bounded ring: memory stays fixed however long nobody reads, and
 * what falls out before it is read is counted (by the reader, from `oldestSeq`). Sequence numbers
 * start at 1 in each process; `bootId` changes with the process, so a reader that sees a new
 * bootId knows the numbering restarted and starts its cursor again at 0.
 */
export const ShareRecordSchema = z
  .object({
    seq: z.number().int().min(1),
    time: z.string().meta({ description: 'ISO time the pool answered (or the share was found stale)' }),
    pool: z.string(),
    worker: z.string(),
    jobId: z.string(),
    extranonce2: z.string(),
    ntime: z.string(),
    nonce: z.string(),
    difficulty: z.number(),
    result: z.enum(['accepted', 'rejected', 'stale']),
    reason: z.string().optional(),
    block: z.boolean().optional(),
  })
  .strict();
export type ShareRecord = z.infer<typeof ShareRecordSchema>;

/** The /shares reply: the contract between miner and collector. */
export const SharesPageSchema = z
  .object({
    bootId: z.string().min(1),
    /** Highest sequence number issued so far (0: none yet). */
    lastSeq: z.number().int().min(0),
    /** Lowest sequence number still in the ring (lastSeq + 1 when empty). */
    oldestSeq: z.number().int().min(1),
    shares: z.array(ShareRecordSchema),
    /** More records after the last one returned (page limit reached). */
    more: z.boolean(),
  })
  .strict();
export type SharesPage = z.infer<typeof SharesPageSchema>;

export const SHARES_PAGE_MAX = 1000;

export class ShareRing {
  readonly bootId = randomUUID();
  private readonly slots: Array<ShareRecord | undefined>;
  private lastSeq = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`share ring capacity must be a positive integer, got ${capacity}`);
    this.slots = new Array<ShareRecord | undefined>(capacity);
  }

  push(record: Omit<ShareRecord, 'seq'>): ShareRecord {
    const r = { ...record, seq: ++this.lastSeq };
    this.slots[r.seq % this.capacity] = r;
    return r;
  }

  get oldestSeq(): number {
    return Math.max(1, this.lastSeq - this.capacity + 1);
  }

  /** Records with seq > after, oldest first, at most `limit`. */
  after(after: number, limit = SHARES_PAGE_MAX): SharesPage {
    const from = Math.max(after + 1, this.oldestSeq);
    const to = Math.min(this.lastSeq, from + limit - 1);
    const shares: ShareRecord[] = [];
    for (let s = from; s <= to; s++) shares.push(this.slots[s % this.capacity]!);
    return { bootId: this.bootId, lastSeq: this.lastSeq, oldestSeq: this.lastSeq === 0 ? 1 : this.oldestSeq, shares, more: to < this.lastSeq };
  }
}

/** Parses the query of GET /shares; throws an Error naming the bad parameter. */
export function parseSharesQuery(search: URLSearchParams): { after: number; limit: number } {
  const num = (name: string, dflt: number, max: number): number => {
    const raw = search.get(name);
    if (raw === null || raw === '') return dflt;
    if (!/^\d{1,15}$/.test(raw)) throw new Error(`query parameter '${name}' must be a non-negative integer, got '${raw.slice(0, 40)}'`);
    const v = Number(raw);
    if (v > max) throw new Error(`query parameter '${name}' must be at most ${max}, got ${v}`);
    return v;
  };
  const after = num('after', 0, Number.MAX_SAFE_INTEGER);
  const limit = num('limit', SHARES_PAGE_MAX, SHARES_PAGE_MAX);
  if (limit === 0) throw new Error(`query parameter 'limit' must be at least 1`);
  for (const k of search.keys())
    if (k !== 'after' && k !== 'limit') throw new Error(`unknown query parameter '${k.slice(0, 40)}'; /shares takes after and limit`);
  return { after, limit };
}
