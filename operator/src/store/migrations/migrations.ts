import { MongoServerError, type Db, type IndexDescription } from 'mongodb';
import type { StoreConfig } from '../config.js';
import { NAMESPACE_EXISTS } from '../connection.js';
import { collectionNames, type CollectionNames } from '../collections.js';
import type { ServerFeatures } from '../features.js';
import { COLLECTION_KINDS, type CollectionKind } from '../schemas.js';

export interface MigrationContext {
  db: Db;
  names: CollectionNames;
  config: StoreConfig;
  features: ServerFeatures;
}

export interface Migration {
  version: number;
  name: string;
  /** Must be idempotent: it may run again after a crash between applying and recording it. */
  up(ctx: MigrationContext): Promise<string[]>;
}

async function ensureCollection(db: Db, name: string, options: Parameters<Db['createCollection']>[1] = {}): Promise<void> {
  try {
    await db.createCollection(name, options);
  } catch (err) {
    if (err instanceof MongoServerError && Number(err.code) === NAMESPACE_EXISTS) return;
    throw err;
  }
}

/** Unique keys that make every retried write an idempotent upsert. */
export const UNIQUE_KEYS: Record<CollectionKind, Record<string, 1>> = {
  // deviceName last: a miner pod's sample has none, and its _id stays what it was before devices (documentId).
  samples: { namespace: 1, fleet: 1, pod: 1, windowStart: 1, deviceName: 1 },
  rollups: { namespace: 1, fleet: 1, windowStart: 1 },
  shares: { pool: 1, worker: 1, jobId: 1, extranonce2: 1, ntime: 1, nonce: 1 },
  events: { eventId: 1 },
  probes: { namespace: 1, pool: 1, time: 1 },
};

/** The samples key migration 2 created (one row per pod and window). */
const SAMPLES_KEY_V2 = { namespace: 1, fleet: 1, pod: 1, windowStart: 1 } as const;

/** Indexes behind the queries in queries.ts. */
const QUERY_INDEXES: Record<CollectionKind, IndexDescription[]> = {
  samples: [{ key: { namespace: 1, fleet: 1, windowStart: 1 }, name: 'fleet_window' }],
  rollups: [],
  shares: [
    { key: { namespace: 1, fleet: 1, time: 1 }, name: 'fleet_time' },
    { key: { namespace: 1, pool: 1, time: 1 }, name: 'pool_time' },
  ],
  events: [
    { key: { namespace: 1, fleet: 1, time: -1, eventId: -1 }, name: 'fleet_time_desc' },
    { key: { namespace: 1, pool: 1, time: -1, eventId: -1 }, name: 'pool_time_desc' },
  ],
  probes: [],
};

/** True when probes live in a time-series collection (created so by migration 1). */
export async function probesAreTimeSeries(db: Db, names: CollectionNames): Promise<boolean> {
  const [info] = await db.listCollections({ name: names.probes }).toArray();
  return (info as { type?: string } | undefined)?.type === 'timeseries';
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create-collections',
    async up({ db, names, config, features }) {
      const notes: string[] = [];
      for (const kind of ['samples', 'rollups', 'shares', 'events'] as const) await ensureCollection(db, names[kind]);
      // Probes are insert-only measurements: the one collection that fits a time-series layout.
      // Samples/rollups/shares/events need unique keys (idempotent retries), which time-series
      // collections cannot have, so they stay plain on every server.
      if (features.timeSeries) {
        await ensureCollection(db, names.probes, {
          timeseries: { timeField: 'time', granularity: 'seconds' },
          expireAfterSeconds: config.retentionDays.probes * 86_400,
        });
        notes.push(`${names.probes}: time-series collection`);
      } else {
        await ensureCollection(db, names.probes);
        notes.push(`${names.probes}: plain collection (server lacks time-series collections)`);
      }
      return notes;
    },
  },
  {
    version: 2,
    name: 'unique-keys-and-query-indexes',
    async up({ db, names }) {
      const notes: string[] = [];
      const tsProbes = await probesAreTimeSeries(db, names);
      for (const kind of COLLECTION_KINDS) {
        const indexes: IndexDescription[] = [...QUERY_INDEXES[kind]];
        if (kind === 'probes' && tsProbes) {
          indexes.push({ key: { namespace: 1, pool: 1, time: 1 }, name: 'pool_time' });
          notes.push(`${names.probes}: no unique key (time-series collections cannot have one)`);
        } else {
          // Samples had the key without deviceName then; migration 5 widens it (and a re-run
          // after migration 5 must not meet the wider index under the same name).
          const widened = kind === 'samples' && (await db.collection(names.samples).indexes()).some((i) => i.name === 'idempotency_key');
          if (!widened) indexes.push({ key: kind === 'samples' ? SAMPLES_KEY_V2 : UNIQUE_KEYS[kind], name: 'idempotency_key', unique: true });
        }
        // One createIndex per index: FerretDB v1.24 panics on a multi-index createIndexes whose
        // indexes already exist (a re-run), and one at a time is just as idempotent.
        for (const { key, ...options } of indexes) await db.collection(names[kind]).createIndex(key, options);
      }
      return notes;
    },
  },
  {
    version: 3,
    name: 'retention',
    async up({ db, names, features }) {
      const notes: string[] = [];
      const tsProbes = await probesAreTimeSeries(db, names);
      for (const kind of COLLECTION_KINDS) {
        if (kind === 'probes' && tsProbes) continue; // the collection's own expireAfterSeconds
        // Each document carries expireAt (its time + the configured retention), so retention can
        // change without rebuilding an index: a TTL index with expireAfterSeconds 0.
        if (features.ttlIndexes) {
          await db.collection(names[kind]).createIndex({ expireAt: 1 }, { name: 'retention', expireAfterSeconds: 0 });
        } else {
          await db.collection(names[kind]).createIndex({ expireAt: 1 }, { name: 'retention' });
          notes.push(`${names[kind]}: expireAt index without TTL; the store sweeps expired documents`);
        }
      }
      return notes;
    },
  },
  {
    version: 4,
    name: 'event-scope',
    async up({ db, names }) {
      // Events were about a fleet or a pool; operator-level events (leadership) are about neither,
      // so every event now says what it is about. Back-fill the documents written before (nothing
      // else changes: no document is removed or rewritten), then index operator events by time.
      const events = db.collection(names.events);
      const fleet = await events.updateMany({ scope: { $exists: false }, fleet: { $exists: true } }, { $set: { scope: 'fleet' } });
      const pool = await events.updateMany({ scope: { $exists: false }, pool: { $exists: true } }, { $set: { scope: 'pool' } });
      await events.createIndex({ namespace: 1, scope: 1, time: -1, eventId: -1 }, { name: 'scope_time_desc' });
      return [`${names.events}: scope set on ${fleet.modifiedCount} fleet and ${pool.modifiedCount} pool event(s) written before`];
    },
  },
  {
    version: 5,
    name: 'samples-per-device',
    async up({ db, names }) {
      // A supervisor pod drives many devices and the collector writes one sample per device and
      // window: the unique key gains deviceName. Stored samples have none (null in the index), so
      // the wider key holds them as the old one did; nothing is rewritten.
      const samples = db.collection(names.samples);
      const current = (await samples.indexes()).find((i) => i.name === 'idempotency_key');
      const wanted = UNIQUE_KEYS.samples;
      if (current && JSON.stringify(current.key) === JSON.stringify(wanted)) return [`${names.samples}: key already includes deviceName`];
      if (current) await samples.dropIndex('idempotency_key');
      await samples.createIndex(wanted, { name: 'idempotency_key', unique: true });
      return [`${names.samples}: unique key (namespace, fleet, pod, windowStart, deviceName)`];
    },
  },
];

export interface MigrationRecord {
  _id: number;
  name: string;
  appliedAt: Date;
  notes: string[];
}

export interface MigrationStatus {
  version: number;
  name: string;
  applied: boolean;
  appliedAt?: Date;
  notes?: string[];
}

export async function migrationStatus(db: Db, prefix: string): Promise<MigrationStatus[]> {
  const names = collectionNames(prefix);
  const records = await db.collection<MigrationRecord>(names.migrations).find({}).toArray();
  const byVersion = new Map(records.map((r) => [r._id, r]));
  return MIGRATIONS.map((m) => {
    const r = byVersion.get(m.version);
    return r
      ? { version: m.version, name: m.name, applied: true, appliedAt: r.appliedAt, notes: r.notes }
      : { version: m.version, name: m.name, applied: false };
  });
}

/** Applies pending migrations in version order and records each; returns the versions applied now. */
export async function migrateUp(ctx: Omit<MigrationContext, 'names'>): Promise<MigrationStatus[]> {
  const names = collectionNames(ctx.config.collectionPrefix);
  const status = await migrationStatus(ctx.db, ctx.config.collectionPrefix);
  const applied: MigrationStatus[] = [];
  for (const m of MIGRATIONS) {
    if (status.find((s) => s.version === m.version)?.applied) continue;
    const notes = await m.up({ ...ctx, names });
    const appliedAt = new Date();
    // $setOnInsert: when two operator replicas migrate at once the first record wins.
    await ctx.db
      .collection<MigrationRecord>(names.migrations)
      .updateOne({ _id: m.version }, { $setOnInsert: { name: m.name, appliedAt, notes } }, { upsert: true });
    applied.push({ version: m.version, name: m.name, applied: true, appliedAt, notes });
  }
  return applied;
}
