import type { Db, Document, Filter } from 'mongodb';
import { z } from 'zod';
import type { CollectionNames } from './collections.js';
import { EVENT_SCOPES, type EventDoc, type RollupDoc, type ShareDoc } from './schemas.js';

export class StoreQueryError extends Error {
  override name = 'StoreQueryError';
}

function parseQuery<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new StoreQueryError(`invalid ${what} query: ${r.error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** The rule every time-range query shares. */
const toAfterFrom = (q: { from: Date; to: Date }): boolean => q.to.getTime() > q.from.getTime();
const TO_AFTER_FROM = { error: 'to must be after from', path: ['to'] };

// ---------- fleet history, downsampled ----------

export const FleetHistoryQuerySchema = z
  .object({
    namespace: z.string().min(1),
    fleet: z.string().min(1),
    from: z.date(),
    to: z.date(),
    points: z.number().int().min(1).max(10_000),
  })
  .strict()
  .refine(toAfterFrom, TO_AFTER_FROM);
export type FleetHistoryQuery = z.infer<typeof FleetHistoryQuerySchema>;

export interface HistoryPoint {
  /** Bucket bounds: [start, end). */
  start: Date;
  end: Date;
  /** Rollup windows that fell into the bucket. */
  windows: number;
  /** Mean fleet hashrate (H/s) over those windows, and the highest one. */
  hashrate: number;
  hashrateMax: number;
  shares: { accepted: number; rejected: number; stale: number };
  /** Most pods seen in one window of the bucket. */
  podsMax: number;
}

export interface FleetHistory {
  bucketMs: number;
  points: HistoryPoint[];
  /** 'aggregation': a $group pipeline on the server; 'client': rows fetched and bucketed here. */
  method: 'aggregation' | 'client';
}

export function bucketSizeMs(q: FleetHistoryQuery): number {
  return Math.max(1, Math.ceil((q.to.getTime() - q.from.getTime()) / q.points));
}

function historyMatch(q: FleetHistoryQuery): Filter<Document> {
  return { namespace: q.namespace, fleet: q.fleet, windowStart: { $gte: q.from, $lt: q.to } };
}

function point(q: FleetHistoryQuery, bucketMs: number, index: number, agg: Omit<HistoryPoint, 'start' | 'end'>): HistoryPoint {
  const start = new Date(q.from.getTime() + index * bucketMs);
  const end = new Date(Math.min(q.to.getTime(), start.getTime() + bucketMs));
  return { start, end, ...agg };
}

export async function fleetHistoryByAggregation(db: Db, names: CollectionNames, input: FleetHistoryQuery): Promise<FleetHistory> {
  const q = parseQuery(FleetHistoryQuerySchema, input, 'fleet history');
  const bucketMs = bucketSizeMs(q);
  const rows = await db
    .collection(names.rollups)
    .aggregate<{ _id: number; windows: number; hashrate: number; hashrateMax: number; accepted: number; rejected: number; stale: number; podsMax: number }>([
      { $match: historyMatch(q) },
      {
        $group: {
          _id: { $floor: { $divide: [{ $subtract: ['$windowStart', q.from] }, bucketMs] } },
          windows: { $sum: 1 },
          hashrate: { $avg: '$hashrate' },
          hashrateMax: { $max: '$hashrate' },
          accepted: { $sum: '$shares.accepted' },
          rejected: { $sum: '$shares.rejected' },
          stale: { $sum: '$shares.stale' },
          podsMax: { $max: '$pods' },
        },
      },
      { $sort: { _id: 1 } },
    ])
    .toArray();
  return {
    bucketMs,
    method: 'aggregation',
    points: rows.map((r) =>
      point(q, bucketMs, r._id, {
        windows: r.windows,
        hashrate: r.hashrate,
        hashrateMax: r.hashrateMax,
        shares: { accepted: r.accepted, rejected: r.rejected, stale: r.stale },
        podsMax: r.podsMax,
      }),
    ),
  };
}

/** Same answer as the pipeline, for servers without $group expressions: fetch the rows, bucket here. */
export async function fleetHistoryInClient(db: Db, names: CollectionNames, input: FleetHistoryQuery): Promise<FleetHistory> {
  const q = parseQuery(FleetHistoryQuerySchema, input, 'fleet history');
  const bucketMs = bucketSizeMs(q);
  const cursor = db
    .collection<RollupDoc>(names.rollups)
    .find(historyMatch(q) as Filter<RollupDoc>, { projection: { _id: 0, windowStart: 1, hashrate: 1, shares: 1, pods: 1 }, sort: { windowStart: 1 } });
  const buckets = new Map<number, Omit<HistoryPoint, 'start' | 'end'> & { sum: number }>();
  for await (const r of cursor) {
    const index = Math.floor((r.windowStart.getTime() - q.from.getTime()) / bucketMs);
    let b = buckets.get(index);
    if (!b) {
      b = { windows: 0, hashrate: 0, hashrateMax: -Infinity, shares: { accepted: 0, rejected: 0, stale: 0 }, podsMax: -Infinity, sum: 0 };
      buckets.set(index, b);
    }
    b.windows++;
    b.sum += r.hashrate;
    b.hashrateMax = Math.max(b.hashrateMax, r.hashrate);
    b.shares.accepted += r.shares.accepted;
    b.shares.rejected += r.shares.rejected;
    b.shares.stale += r.shares.stale;
    b.podsMax = Math.max(b.podsMax, r.pods);
  }
  const points = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, { sum, ...b }]) => point(q, bucketMs, index, { ...b, hashrate: sum / b.windows }));
  return { bucketMs, method: 'client', points };
}

// ---------- share acceptance ----------

export const ShareStatsQuerySchema = z
  .object({
    namespace: z.string().min(1),
    fleet: z.string().min(1).optional(),
    pool: z.string().min(1).optional(),
    from: z.date(),
    to: z.date(),
    topReasons: z.number().int().min(1).max(100).default(5),
  })
  .strict()
  .refine(toAfterFrom, TO_AFTER_FROM);
export type ShareStatsQuery = z.input<typeof ShareStatsQuerySchema>;

export interface ShareStats {
  accepted: number;
  rejected: number;
  stale: number;
  total: number;
  /** accepted / total, or null when there were no shares. */
  acceptanceRate: number | null;
  /** Reasons of rejected and stale shares, most frequent first. */
  topRejectReasons: Array<{ reason: string; count: number }>;
}

export async function shareStats(db: Db, names: CollectionNames, input: ShareStatsQuery): Promise<ShareStats> {
  const q = parseQuery(ShareStatsQuerySchema, input, 'share stats');
  const match: Filter<Document> = { namespace: q.namespace, time: { $gte: q.from, $lt: q.to } };
  if (q.fleet) match.fleet = q.fleet;
  if (q.pool) match.pool = q.pool;
  // Grouping by plain fields with $sum works on every server we target (FerretDB included).
  const rows = await db
    .collection<ShareDoc>(names.shares)
    .aggregate<{ _id: { result: ShareDoc['result']; reason?: string | null }; n: number }>([
      { $match: match },
      { $group: { _id: { result: '$result', reason: '$reason' }, n: { $sum: 1 } } },
    ])
    .toArray();
  const stats: ShareStats = { accepted: 0, rejected: 0, stale: 0, total: 0, acceptanceRate: null, topRejectReasons: [] };
  const reasons = new Map<string, number>();
  for (const r of rows) {
    stats[r._id.result] += r.n;
    stats.total += r.n;
    if (r._id.result !== 'accepted') {
      const reason = r._id.reason ?? (r._id.result === 'stale' ? 'stale' : 'unspecified');
      reasons.set(reason, (reasons.get(reason) ?? 0) + r.n);
    }
  }
  stats.acceptanceRate = stats.total === 0 ? null : stats.accepted / stats.total;
  stats.topRejectReasons = [...reasons.entries()]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
    .slice(0, q.topReasons);
  return stats;
}

// ---------- events, newest first, paginated ----------

export const EventsQuerySchema = z
  .object({
    namespace: z.string().min(1),
    fleet: z.string().min(1).optional(),
    pool: z.string().min(1).optional(),
    /** Only events of this scope ('operator': leadership changes, which name no fleet or pool). */
    scope: z.enum(EVENT_SCOPES).optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    /** Opaque cursor from the previous page's nextCursor. */
    cursor: z.string().min(1).optional(),
  })
  .strict()
  .refine((q) => q.fleet !== undefined || q.pool !== undefined || q.scope === 'operator', {
    error: "give a fleet or a pool, or scope 'operator'",
    path: ['fleet'],
  });
export type EventsQuery = z.input<typeof EventsQuerySchema>;

export interface EventsPage {
  events: EventDoc[];
  /** Pass as `cursor` to get the next (older) page; absent on the last page. */
  nextCursor?: string;
}

const CursorSchema = z.object({ t: z.iso.datetime(), id: z.string().min(1) }).strict();

function encodeCursor(e: EventDoc): string {
  return Buffer.from(JSON.stringify({ t: e.time.toISOString(), id: e.eventId })).toString('base64url');
}

function decodeCursor(cursor: string): { t: Date; id: string } {
  try {
    const c = CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { t: new Date(c.t), id: c.id };
  } catch {
    throw new StoreQueryError('invalid events query: cursor: not a cursor returned by a previous page');
  }
}

/** Keyset pagination on (time desc, eventId desc): stable while new events arrive. */
export async function listEvents(db: Db, names: CollectionNames, input: EventsQuery): Promise<EventsPage> {
  const q = parseQuery(EventsQuerySchema, input, 'events');
  const filter: Filter<Document> = { namespace: q.namespace };
  if (q.fleet) filter.fleet = q.fleet;
  if (q.pool) filter.pool = q.pool;
  if (q.scope) filter.scope = q.scope;
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    filter.$or = [{ time: { $lt: c.t } }, { time: c.t, eventId: { $lt: c.id } }];
  }
  const rows = await db
    .collection(names.events)
    .find(filter, { projection: { _id: 0, expireAt: 0 }, sort: { time: -1, eventId: -1 }, limit: q.limit + 1 })
    .toArray();
  const events = rows.slice(0, q.limit) as unknown as EventDoc[];
  const last = events[events.length - 1];
  return rows.length > q.limit && last ? { events, nextCursor: encodeCursor(last) } : { events };
}
