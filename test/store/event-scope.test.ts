/**
 * Migration 4 (event scope) on a database an earlier operator filled: events written before it
 * (documents, and lines left in a spill file) keep every field and gain the scope they implied;
 * operator-level events (leadership), which name no fleet or pool, are stored and queried by scope.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNames, HistoryStore, MIGRATIONS, parseStoreConfig, SPILL_FILE, StoreValidationError } from '../../operator/src/store/index.js';
import { detectFeatures } from '../../operator/src/store/features.js';
import { quietLogger, T0, tempDir, uniqueDbName } from './helpers.js';
import { startFerretDB, type FerretDB } from '../support/index.js';
import { Registry } from 'prom-client';

let fdb: FerretDB;
let client: MongoClient | undefined;
let store: HistoryStore | undefined;
const spill = tempDir('event-scope');

beforeAll(async () => {
  fdb = await startFerretDB();
}, 120_000);

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 });
  await client?.close();
  await fdb?.stop();
  spill.remove();
});

/** An event as the store wrote it before migration 4: _id = eventId, expireAt, no scope. */
const oldEvent = (i: number, about: { fleet?: string; pool?: string }) => ({
  _id: `old-${i}`,
  eventId: `old-${i}`,
  namespace: 'mining',
  ...about,
  type: 'failover',
  severity: 'warning',
  reason: 'PoolFailover',
  message: `old decision ${i}`,
  time: new Date(T0.getTime() + i * 1000),
  details: { from: 'a', to: 'b' },
  actor: 'operator-old',
  expireAt: new Date(T0.getTime() + 365 * 86_400_000),
});

describe('event scope (migration 4)', () => {
  it('back-fills scope on stored and spilled events without losing data; operator events fit', { timeout: 120_000 }, async () => {
    const dbName = uniqueDbName('scope');
    const config = parseStoreConfig({ uri: fdb.uri, dbName, buffer: { spillDir: spill.dir } });
    const names = collectionNames('');
    // The database as migrations 1-3 left it, with events in it.
    client = new MongoClient(fdb.uri);
    await client.connect();
    const db = client.db(dbName);
    const { features } = await detectFeatures(db, '', quietLogger);
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      const notes = await m.up({ db, names, config, features });
      await db.collection<{ _id: number }>(names.migrations).insertOne({ _id: m.version, name: m.name, appliedAt: new Date(), notes } as never);
    }
    const old = [oldEvent(0, { fleet: 'alpha' }), oldEvent(1, { pool: 'pool-a' }), oldEvent(2, { fleet: 'alpha', pool: 'pool-b' })];
    await db.collection(names.events).insertMany(old as never[]);
    // A spill line from the earlier process (the store replays it at start).
    const spilled = { ...oldEvent(3, { fleet: 'beta' }), time: new Date(T0.getTime() + 3000).toISOString() } as Record<string, unknown>;
    delete spilled._id;
    delete spilled.expireAt;
    writeFileSync(path.join(spill.dir, SPILL_FILE), `${JSON.stringify({ k: 'events', d: spilled })}\n`);

    store = await HistoryStore.connect(
      { uri: fdb.uri, dbName, buffer: { spillDir: spill.dir }, writer: { flushIntervalMs: 50, batchSize: 10, retryInitialMs: 50, retryMaxMs: 500 } },
      { registry: new Registry(), logger: quietLogger },
    );
    expect(store.available).toBe(true);
    expect((await store.migrationStatus()).map((m) => [m.version, m.name, m.applied])).toContainEqual([4, 'event-scope', true]);

    await store.recordEvent({
      eventId: 'lease:leadership:op-1:1',
      scope: 'operator',
      namespace: 'minefleet-system',
      type: 'leadership',
      severity: 'info',
      reason: 'LeaderElected',
      message: 'op-1 leads',
      time: new Date(T0.getTime() + 10_000),
      actor: 'op-1',
    });
    expect(await store.flush(30_000)).toBe(true);

    const stored = await db.collection(names.events).find({}).sort({ time: 1 }).toArray();
    expect(stored.map((e) => [e._id, e.scope])).toEqual([
      ['old-0', 'fleet'],
      ['old-1', 'pool'],
      ['old-2', 'fleet'],
      ['old-3', 'fleet'],
      ['lease:leadership:op-1:1', 'operator'],
    ]);
    // Nothing else about the old documents changed.
    for (const o of old) expect(stored.find((e) => String(e._id) === o._id)).toEqual({ ...o, scope: o.fleet !== undefined ? 'fleet' : 'pool' });
    expect((await db.collection(names.events).listIndexes().toArray()).some((i) => i.name === 'scope_time_desc')).toBe(true);

    const ops = await store.queryEvents({ namespace: 'minefleet-system', scope: 'operator' });
    expect(ops.events.map((e) => [e.reason, e.actor, e.scope])).toEqual([['LeaderElected', 'op-1', 'operator']]);
    expect((await store.queryEvents({ namespace: 'mining', fleet: 'alpha' })).events.map((e) => e.eventId)).toEqual(['old-2', 'old-0']);
    expect((await store.queryEvents({ namespace: 'mining', pool: 'pool-a' })).events.map((e) => e.scope)).toEqual(['pool']);
    await expect(store.queryEvents({ namespace: 'mining' })).rejects.toThrow(/give a fleet or a pool, or scope 'operator'/);

    // An event about nothing, or a scope without its name, is refused at the call with the field named.
    const base = { namespace: 'mining', type: 'alert', severity: 'info', reason: 'R', message: 'm', time: new Date() } as const;
    await expect(store.recordEvent(base)).rejects.toThrow(/fleet: an event names a fleet, a pool or both, or has scope 'operator'/);
    await expect(store.recordEvent({ ...base, scope: 'pool', fleet: 'alpha' })).rejects.toThrow(StoreValidationError);
    await expect(store.recordEvent({ ...base, scope: 'pool', fleet: 'alpha' })).rejects.toThrow(/pool: scope 'pool' needs pool/);
  });
});
