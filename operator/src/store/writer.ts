import { MongoBulkWriteError, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import type { Logger } from 'pino';
import type { StoreConfig } from './config.js';
import { DUPLICATE_KEY, errorText, isTransientError } from './connection.js';
import { retentionMs, TIME_FIELD, type CollectionNames } from './collections.js';
import type { StoreMetrics } from './metrics.js';
import { UNIQUE_KEYS } from './migrations/index.js';
import type { CollectionKind, PendingItem, PendingKind } from './schemas.js';

export interface WriteTarget {
  db: Db;
  names: CollectionNames;
  config: StoreConfig;
  /** Probes go to a time-series collection: plain inserts, no unique key. */
  probesTimeSeries: boolean;
}

/** Stored documents are keyed by a string _id (see documentId). */
type StoredDoc = Document & { _id: string };

interface Planned {
  collection: string;
  kind: PendingKind;
  op: AnyBulkWriteOperation<StoredDoc>;
}

/**
 * The document's _id is its idempotency key, so a retried insert hits the _id index and fails
 * with a duplicate-key error that means "already written". (Looking up a compound key per upsert
 * is ~100x slower on FerretDB v1: it does not use secondary indexes for the upsert's filter.)
 * JSON of the key parts is unambiguous whatever characters the parts contain.
 */
export function documentId(kind: CollectionKind, doc: Document): string {
  const parts = Object.keys(UNIQUE_KEYS[kind]).map((f) => {
    const v = doc[f] as unknown;
    return v instanceof Date ? v.toISOString() : v;
  });
  // Optional trailing parts (a sample's deviceName) are left out when absent, so documents
  // without them keep the ids they had before the key grew (a replayed spill stays idempotent).
  while (parts.length > 0 && parts.at(-1) === undefined) parts.pop();
  return kind === 'events' ? String(doc.eventId) : JSON.stringify(parts);
}

/** expireAt is derived from the document's own time, so a replay writes the same value. */
function withExpiry(kind: CollectionKind, doc: Document, config: StoreConfig): Document {
  const t = doc[TIME_FIELD[kind]] as Date;
  const { retentionDays, ...rest } = doc;
  const ms = typeof retentionDays === 'number' ? retentionDays * 86_400_000 : retentionMs(config, kind);
  return { ...rest, expireAt: new Date(t.getTime() + ms) };
}

/**
 * The bulk operation for one pending item. Every operation is idempotent: a record is inserted
 * under its key once, and a replay of the same key is a duplicate-key error that counts as done
 * (first write wins: samples, rollups and shares are final when the collector writes them).
 */
export function planOperation(item: PendingItem, target: WriteTarget): Planned {
  const { names, config } = target;
  if (item.kind === 'eventResolutions') {
    // Resolution is set once; a replay finds it set and changes nothing.
    return {
      collection: names.events,
      kind: 'eventResolutions',
      op: { updateOne: { filter: { _id: item.doc.eventId, resolution: { $exists: false } }, update: { $set: { resolution: item.doc.resolution } } } },
    };
  }
  if (item.kind === 'probes' && target.probesTimeSeries) {
    // Time-series collections keep their own expiry and have no unique _id: best-effort dedupe only.
    return { collection: names.probes, kind: 'probes', op: { insertOne: { document: { _id: documentId('probes', item.doc), ...item.doc } } } };
  }
  const doc = withExpiry(item.kind, item.doc, config);
  return { collection: names[item.kind], kind: item.kind, op: { insertOne: { document: { _id: documentId(item.kind, doc), ...doc } } } };
}

export class TransientWriteError extends Error {
  override name = 'TransientWriteError';
}

export interface BatchResult {
  written: number;
  dropped: number;
}

/**
 * Writes a batch with one unordered bulkWrite per collection. A transient failure throws
 * TransientWriteError (the caller keeps the whole batch and retries it: idempotent). Documents the
 * server rejects for good are dropped, counted and logged, so one bad document never blocks the queue.
 */
export async function writeBatch(items: readonly PendingItem[], target: WriteTarget, metrics: StoreMetrics, logger: Logger): Promise<BatchResult> {
  const byCollection = new Map<string, Planned[]>();
  for (const item of items) {
    const p = planOperation(item, target);
    const list = byCollection.get(p.collection);
    if (list) list.push(p);
    else byCollection.set(p.collection, [p]);
  }
  const result: BatchResult = { written: 0, dropped: 0 };
  for (const [collection, planned] of byCollection) {
    const stop = metrics.batchSeconds.startTimer({ collection });
    try {
      await target.db.collection<StoredDoc>(collection).bulkWrite(
        planned.map((p) => p.op),
        { ordered: false },
      );
      result.written += planned.length;
      metrics.written.inc({ collection }, planned.length);
    } catch (err) {
      // The driver wraps a network failure in the middle of a bulk write in MongoBulkWriteError.
      const cause = err instanceof MongoBulkWriteError && err.errorResponse instanceof Error ? err.errorResponse : err;
      const writeErrors: Array<{ code?: number; index: number; errmsg?: string }> =
        err instanceof MongoBulkWriteError
          ? ((Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as Array<{ code?: number; index: number; errmsg?: string }>)
          : [];
      if (isTransientError(cause)) {
        metrics.failures.inc({ collection, reason: 'unavailable' }, 1);
        throw new TransientWriteError(`writing ${planned.length} documents to ${collection} failed: ${errorText(cause)}`);
      }
      if (err instanceof MongoBulkWriteError && writeErrors.length > 0) {
        // Duplicate key: written before (a retry or replay). Anything else: rejected for good.
        let bad = 0;
        for (const we of writeErrors) {
          if (we.code === DUPLICATE_KEY) continue;
          bad++;
          const p = planned[we.index];
          // A per-document write error is the server's answer (code + text), not an exception with a stack.
          logger.error({ collection, kind: p?.kind, code: we.code, serverSaid: we.errmsg }, 'history store: server rejected a document; dropped');
        }
        result.written += planned.length - bad;
        result.dropped += bad;
        metrics.written.inc({ collection }, planned.length - bad);
        if (bad > 0) {
          metrics.failures.inc({ collection, reason: 'rejected' }, 1);
          metrics.dropped.inc({ reason: 'rejected' }, bad);
        }
      } else {
        metrics.failures.inc({ collection, reason: 'rejected' }, 1);
        metrics.dropped.inc({ reason: 'rejected' }, planned.length);
        result.dropped += planned.length;
        logger.error({ collection, err: cause, documents: planned.length }, 'history store: batch rejected by the server; dropped');
      }
    } finally {
      stop();
    }
  }
  return result;
}
