import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, startFerretDB, waitFor, type FerretDB } from '../support/index.js';
import {
  HistoryStore,
  migrateUp,
  StoreConfigError,
  StoreUnavailableError,
  StoreValidationError,
  type EventInput,
  type StoreConfigInput,
} from '../../operator/src/store/index.js';
import { fleetHistoryInClient } from '../../operator/src/store/queries.js';
import { metricValue, openStore, rollup, sample, share, T0, tempDir, uniqueDbName } from './helpers.js';

const run = promisify(execFile);

let fdb: FerretDB;
const dirs: Array<() => void> = [];
const stores: HistoryStore[] = [];

beforeAll(async () => {
  fdb = await startFerretDB();
});

afterAll(async () => {
  for (const s of stores) await s.close({ flushTimeoutMs: 0 }).catch(() => undefined);
  await fdb?.stop();
  for (const d of dirs) d();
});

function config(over: Partial<StoreConfigInput> = {}): StoreConfigInput {
  const t = tempDir('store');
  dirs.push(t.remove);
  return {
    uri: fdb.uri,
    dbName: uniqueDbName('s'),
    collectionPrefix: 'mf_',
    writer: { batchSize: 100, flushIntervalMs: 50, retryInitialMs: 100, retryMaxMs: 1_000 },
    buffer: { spillDir: t.dir },
    timeouts: { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000, socketTimeoutMS: 30_000 },
    ...over,
  };
}

async function connected(over: Partial<StoreConfigInput> = {}) {
  const r = await openStore(config(over));
  stores.push(r.store);
  expect(r.store.available).toBe(true);
  return r;
}

/** Collections with their type and indexes, plus migration records: what "same state" means. */
async function schemaSnapshot(db: Db): Promise<unknown> {
  const cols = (await db.listCollections().toArray())
    .map((c) => ({ name: c.name, type: (c as { type?: string }).type }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const out: Record<string, unknown> = {};
  for (const c of cols) {
    const idx = await db.collection(c.name).listIndexes().toArray();
    out[c.name] = {
      type: c.type,
      indexes: idx
        .map((i) => ({ name: i.name, key: i.key, unique: i.unique ?? false, ttl: i.expireAfterSeconds }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    };
  }
  out['records'] = await db
    .collection('mf_migrations')
    .find({}, { sort: { _id: 1 } })
    .toArray();
  return out;
}

describe('history store against FerretDB', () => {
  it('runs migrations at connect; running them again is a no-op with the same state', async () => {
    const { store } = await connected();
    const db = store.database();
    const before = await schemaSnapshot(db);
    const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['mf_events', 'mf_migrations', 'mf_probes', 'mf_rollups', 'mf_samples', 'mf_shares']);
    const sampleIdx = await db.collection('mf_samples').listIndexes().toArray();
    expect(sampleIdx.find((i) => i.name === 'idempotency_key')).toMatchObject({
      unique: true,
      key: { namespace: 1, fleet: 1, pod: 1, windowStart: 1, deviceName: 1 },
    });
    expect((await store.migrationStatus()).map((m) => [m.version, m.applied])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ]);

    expect(await migrateUp({ db, config: store.config, features: store.features!.features })).toEqual([]);
    // Re-apply every migration body too (as after a crash between applying and recording).
    await db.collection('mf_migrations').deleteMany({});
    expect((await migrateUp({ db, config: store.config, features: store.features!.features })).map((m) => m.version)).toEqual([1, 2, 3, 4, 5]);
    const after = (await schemaSnapshot(db)) as Record<string, unknown>;
    const { records: r1, ...s1 } = before as Record<string, unknown>;
    const { records: r2, ...s2 } = after;
    expect(s2).toEqual(s1);
    expect((r2 as Array<{ _id: number }>).map((r) => r._id)).toEqual((r1 as Array<{ _id: number }>).map((r) => r._id));

    // Which features the server lacks, and that each was detected (FerretDB v1 lacks all three).
    const h = await store.health();
    expect(h.available).toBe(true);
    if (h.server?.version && !process.env.MONGODB_URI) {
      expect(store.features!.fallbacks.map((f) => f.feature).sort()).toEqual(['aggregationExpressions', 'timeSeries', 'ttlIndexes']);
    }
  });

  it('migrate CLI: status, up, up again, status', async () => {
    const cli = path.join(REPO_ROOT, 'dist/operator/src/store/cli.js');
    const db = uniqueDbName('cli');
    const args = (a: string) => [cli, 'migrate', a, '--uri', fdb.uri, '--db', db, '--prefix', 'cli_'];
    const s0 = await run(process.execPath, args('status'));
    expect(s0.stdout).toMatch(/1 create-collections\s+pending/);
    const up1 = await run(process.execPath, args('up'));
    expect(up1.stdout).toMatch(/applied 1 create-collections/);
    expect(up1.stdout).toMatch(/applied 3 retention/);
    const up2 = await run(process.execPath, args('up'));
    expect(up2.stdout.trim()).toBe('up to date: no pending migrations');
    const s1 = await run(process.execPath, [...args('status'), '--json']);
    expect((JSON.parse(s1.stdout) as Array<{ applied: boolean }>).every((m) => m.applied)).toBe(true);
    const bad = await run(process.execPath, [cli, 'migrate', 'sideways', '--uri', fdb.uri]).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/unknown command "migrate sideways"/);
  });

  it('writes and reads back every collection; retried writes never duplicate', async () => {
    const { store, registry } = await connected({ shares: { record: 'all' } });
    const db = store.database();
    const samples = Array.from({ length: 40 }, (_, i) => sample(i, { device: { kind: 'cpu', temperatureC: 55 } }));
    await store.writeSamples(samples);
    await store.writeSamples(samples.slice(0, 10)); // a retried batch
    await store.writeRollups([rollup(0), rollup(1)]);
    await store.writeShares([share(0), share(1, { result: 'rejected', reason: 'low difficulty' })]);
    await store.writeShares([share(0)]);
    await store.writeProbes([{ namespace: 'mining', pool: 'pool-a', time: T0, ok: true, latencyMs: 12.5, circuit: 'Closed' }]);
    const eventId = await store.recordEvent({
      namespace: 'mining',
      fleet: 'alpha',
      pool: 'pool-a',
      type: 'failover',
      severity: 'warning',
      reason: 'PoolUnavailable',
      message: 'pool-a failed 3 probes; switched to pool-b',
      time: T0,
      details: { from: 'pool-a', to: 'pool-b' },
    });
    await store.resolveEvent(eventId, { resolvedAt: new Date(T0.getTime() + 60_000), by: 'operator', note: 'failed back' });
    await store.resolveEvent(eventId, { resolvedAt: new Date(T0.getTime() + 120_000), note: 'ignored: already resolved' });
    expect(await store.flush(30_000)).toBe(true);

    expect(await db.collection('mf_samples').countDocuments()).toBe(40);
    const s5 = await db
      .collection('mf_samples')
      .findOne({ namespace: 'mining', fleet: 'alpha', pod: 'alpha-1', windowStart: samples[5]!.windowStart }, { projection: { _id: 0 } });
    expect(s5).toMatchObject({ ...samples[5], windowStart: samples[5]!.windowStart });
    expect(s5?.expireAt).toEqual(new Date(samples[5]!.windowStart.getTime() + 30 * 86_400_000));
    expect(await db.collection('mf_rollups').countDocuments()).toBe(2);
    expect(await db.collection('mf_rollups').findOne({ windowStart: rollup(1).windowStart }, { projection: { _id: 0, expireAt: 0 } })).toEqual(rollup(1));
    expect(await db.collection('mf_shares').countDocuments()).toBe(2);
    expect(await db.collection('mf_shares').findOne({ nonce: share(1).nonce }, { projection: { _id: 0, expireAt: 0 } })).toEqual(
      share(1, { result: 'rejected', reason: 'low difficulty' }),
    );
    expect(await db.collection('mf_probes').findOne({}, { projection: { _id: 0, expireAt: 0 } })).toEqual({
      namespace: 'mining',
      pool: 'pool-a',
      time: T0,
      ok: true,
      latencyMs: 12.5,
      circuit: 'Closed',
    });
    const ev = await db.collection('mf_events').findOne({ eventId }, { projection: { _id: 0, expireAt: 0 } });
    expect(ev).toMatchObject({
      type: 'failover',
      severity: 'warning',
      details: { from: 'pool-a', to: 'pool-b' },
      resolution: { by: 'operator', note: 'failed back', resolvedAt: new Date(T0.getTime() + 60_000) },
    });

    // A record is final once written: a later write of the same key is a no-op (first write wins).
    await store.writeSamples([sample(0, { hashrate: 1 })]);
    expect(await store.flush()).toBe(true);
    expect(await db.collection('mf_samples').countDocuments()).toBe(40);
    expect((await db.collection('mf_samples').findOne({ pod: 'alpha-0', windowStart: T0 }))?.hashrate).toBe(1000);

    expect(await metricValue(registry, 'minefleet_store_written_documents_total')).toBeGreaterThanOrEqual(58);
    expect(await metricValue(registry, 'minefleet_store_buffered_documents')).toBe(0);
    expect(await metricValue(registry, 'minefleet_store_available')).toBe(1);
  });

  it('records shares by the configured volume', async () => {
    const { store } = await connected({ shares: { record: 'rejected' } });
    await store.writeShares([share(0), share(1, { result: 'rejected', reason: 'duplicate' }), share(2, { result: 'stale' })]);
    expect(await store.flush()).toBe(true);
    const got = await store
      .database()
      .collection('mf_shares')
      .find({}, { sort: { time: 1 } })
      .toArray();
    expect(got.map((s) => s.result)).toEqual(['rejected', 'stale']);
  });

  it('rejects invalid documents with a clear error and writes nothing of the call', async () => {
    const { store } = await connected();
    await expect(store.writeSamples([sample(0), { ...sample(1), pool: '' }])).rejects.toThrow(StoreValidationError);
    await expect(store.writeSamples([sample(0), { ...sample(1), pool: '' }])).rejects.toThrow(/invalid samples document #1: pool: /);
    await expect(store.writeRollups([{ ...rollup(0), hashrate: -5 }])).rejects.toThrow(/invalid rollups document #0: hashrate: /);
    await expect(
      store.recordEvent({ namespace: 'mining', fleet: 'a', type: 'explode' as never, severity: 'info', reason: 'R', message: 'm', time: T0 }),
    ).rejects.toThrow(/type: /);
    expect(await store.flush()).toBe(true);
    expect(await store.database().collection('mf_samples').countDocuments()).toBe(0);
  });

  it('answers the queries: downsampled history, share acceptance, paginated events', async () => {
    const { store } = await connected();
    // 120 one-minute rollups; minute 50 missing.
    await store.writeRollups(
      Array.from({ length: 120 }, (_, m) => rollup(m, { pods: m % 7 })).filter((r) => r.windowStart.getTime() !== T0.getTime() + 50 * 60_000),
    );
    await store.writeRollups([rollup(0, { fleet: 'other', hashrate: 1e9 })]);
    const reasons = ['low difficulty', 'low difficulty', 'duplicate', 'job not found', 'low difficulty', 'duplicate'];
    await store.writeShares([
      ...Array.from({ length: 14 }, (_, i) => share(i)),
      ...reasons.map((reason, i) => share(100 + i, { result: 'rejected', reason })),
      share(200, { result: 'stale' }),
      share(201, { result: 'accepted', pool: 'pool-b' }),
    ]);
    const events: EventInput[] = Array.from({ length: 7 }, (_, i) => ({
      eventId: `ev-${String(i).padStart(2, '0')}`,
      namespace: 'mining',
      fleet: i === 3 ? 'other' : 'alpha',
      pool: 'pool-a',
      type: i % 2 ? 'suspend' : 'resume',
      severity: 'info',
      reason: 'Economics',
      message: `decision ${i}`,
      // two events share a timestamp: the page boundary must still be exact
      time: new Date(T0.getTime() + Math.min(i, 5) * 1000),
    }));
    for (const e of events) await store.recordEvent(e);
    expect(await store.flush()).toBe(true);

    // 120 minutes in 8 points → 15-minute buckets.
    const from = T0;
    const to = new Date(T0.getTime() + 120 * 60_000);
    const h = await store.queryFleetHistory({ namespace: 'mining', fleet: 'alpha', from, to, points: 8 });
    expect(h.bucketMs).toBe(15 * 60_000);
    expect(h.points).toHaveLength(8);
    const minutesOf = (b: number) => Array.from({ length: 15 }, (_, k) => b * 15 + k).filter((m) => m !== 50);
    h.points.forEach((p, b) => {
      const ms = minutesOf(b);
      expect(p.start).toEqual(new Date(T0.getTime() + b * 15 * 60_000));
      expect(p.end).toEqual(new Date(T0.getTime() + (b + 1) * 15 * 60_000));
      expect(p.windows).toBe(ms.length);
      expect(p.hashrate).toBeCloseTo(ms.reduce((s, m) => s + 4000 + m * 10, 0) / ms.length, 6);
      expect(p.hashrateMax).toBe(4000 + ms[ms.length - 1]! * 10);
      expect(p.shares).toEqual({ accepted: 10 * ms.length, rejected: 2 * ms.length, stale: ms.length });
      expect(p.podsMax).toBe(Math.max(...ms.map((m) => m % 7)));
    });
    // The client fallback and the store's chosen path give the same answer.
    const viaClient = await fleetHistoryInClient(store.database(), store.names, { namespace: 'mining', fleet: 'alpha', from, to, points: 8 });
    expect(viaClient.points).toEqual(h.points);
    if (!process.env.MONGODB_URI) expect(h.method).toBe('client'); // FerretDB v1 lacks $floor/$divide/$avg in $group
    // A narrow window: only buckets with data come back.
    const narrow = await store.queryFleetHistory({
      namespace: 'mining',
      fleet: 'alpha',
      from: new Date(T0.getTime() + 49 * 60_000),
      to: new Date(T0.getTime() + 52 * 60_000),
      points: 3,
    });
    expect(narrow.points.map((p) => p.windows)).toEqual([1, 1]);
    await expect(store.queryFleetHistory({ namespace: 'mining', fleet: 'alpha', from: to, to: from, points: 8 })).rejects.toThrow(/to: to must be after from/);

    const stats = await store.queryShareStats({
      namespace: 'mining',
      fleet: 'alpha',
      pool: 'pool-a',
      from: T0,
      to: new Date(T0.getTime() + 86_400_000),
      topReasons: 2,
    });
    expect(stats).toEqual({
      accepted: 14,
      rejected: 6,
      stale: 1,
      total: 21,
      acceptanceRate: 14 / 21,
      topRejectReasons: [
        { reason: 'low difficulty', count: 3 },
        { reason: 'duplicate', count: 2 },
      ],
    });
    const empty = await store.queryShareStats({ namespace: 'mining', fleet: 'nobody', from: T0, to: new Date(T0.getTime() + 1) });
    expect(empty).toMatchObject({ total: 0, acceptanceRate: null, topRejectReasons: [] });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.queryEvents({ namespace: 'mining', fleet: 'alpha', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events.map((e) => e.eventId));
      for (const e of page.events) expect(e).not.toHaveProperty('_id');
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(['ev-06', 'ev-05', 'ev-04', 'ev-02', 'ev-01', 'ev-00']);
    expect(pages).toBe(3);
    const byPool = await store.queryEvents({ namespace: 'mining', pool: 'pool-a', limit: 100 });
    expect(byPool.events).toHaveLength(7);
    expect(byPool.nextCursor).toBeUndefined();
    expect(byPool.events[0]).toMatchObject({ eventId: 'ev-06', message: 'decision 6', time: events[6]!.time });
    await expect(store.queryEvents({ namespace: 'mining', fleet: 'alpha', cursor: 'garbage' })).rejects.toThrow(/cursor: not a cursor/);
  });

  it('deletes expired documents itself when the server has no TTL indexes', async () => {
    const { store, registry } = await connected({ retentionDays: { samples: 1, rollups: 365, shares: 7, events: 365, probes: 30 } });
    const old = new Date(Date.UTC(2020, 0, 1));
    const recent = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await store.writeSamples([sample(0, { windowStart: old }), sample(1, { windowStart: recent })]);
    await store.writeRollups([rollup(0, { windowStart: old })]);
    expect(await store.flush()).toBe(true);
    const swept = await store.sweepExpired();
    expect(swept).toMatchObject({ samples: 1, rollups: 1 });
    expect(await store.database().collection('mf_samples').countDocuments()).toBe(1);
    if (!store.features!.features.ttlIndexes) {
      expect(await metricValue(registry, 'minefleet_store_retention_swept_documents_total')).toBe(2);
    }
  });

  it('a process restart replays the spill file exactly once', async () => {
    // Instance A cannot reach any server: everything it takes lands in the spill file on close.
    const spill = tempDir('restart');
    dirs.push(spill.remove);
    const dbName = uniqueDbName('restart');
    const deadPort = await freePort();
    const a = await HistoryStore.connect(
      config({
        uri: `mongodb://127.0.0.1:${deadPort}/`,
        dbName,
        buffer: { spillDir: spill.dir, maxMemoryDocuments: 50 },
        timeouts: { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300, socketTimeoutMS: 1000 },
      }),
      { registry: new (await import('prom-client')).Registry() },
    );
    expect(a.available).toBe(false);
    const docs = Array.from({ length: 230 }, (_, i) => sample(i));
    for (let i = 0; i < docs.length; i += 20) await a.writeSamples(docs.slice(i, i + 20)); // passes the memory bound: spills
    const h = await a.health();
    expect(h.buffered.spill).toBeGreaterThan(0);
    const { persisted } = await a.close();
    expect(persisted).toBe(230);

    // Instance B, same spill dir, reachable server: replays at start.
    const b = await openStore(config({ dbName, buffer: { spillDir: spill.dir } }));
    stores.push(b.store);
    await b.store.writeSamples(docs.slice(0, 5)); // overlap with the spilled ones
    expect(await b.store.flush(60_000)).toBe(true);
    const col = b.store.database().collection('mf_samples');
    expect(await col.countDocuments()).toBe(230);
    const keys = (await col.find({}, { projection: { _id: 0, pod: 1, windowStart: 1 } }).toArray()).map(
      (d) => `${d.pod}@${(d.windowStart as Date).toISOString()}`,
    );
    expect(new Set(keys).size).toBe(230);
    expect(keys.sort()).toEqual(docs.map((d) => `${d.pod}@${d.windowStart.toISOString()}`).sort());
    expect((await b.store.health()).buffered).toEqual({ memory: 0, spill: 0 });
  });
});

describe('history store when the server is not usable', () => {
  it('a config that fails validation throws a StoreConfigError naming the field', async () => {
    const t = tempDir('cfg');
    dirs.push(t.remove);
    await expect(
      HistoryStore.connect({ uri: 'postgres://x', buffer: { spillDir: t.dir } }, { registry: new (await import('prom-client')).Registry() }),
    ).rejects.toThrow(StoreConfigError);
  });

  it('a URI the driver refuses: unavailable with a clear, redacted error; writes still go to disk', async () => {
    const { store, registry } = await openStore(config({ uri: 'mongodb://miner:hunter2@[not-a-host/db' }));
    stores.push(store);
    expect(store.available).toBe(false);
    const h = await store.health();
    expect(h.available).toBe(false);
    expect(h.lastError).toMatch(/^invalid MongoDB URI mongodb:\/\/miner:\*\*\*@\[not-a-host\/db: /);
    expect(h.lastError).not.toContain('hunter2');
    await store.writeSamples([sample(0)]);
    expect((await store.health()).buffered).toEqual({ memory: 1, spill: 0 });
    await expect(store.queryEvents({ namespace: 'mining', fleet: 'alpha' })).rejects.toThrow(StoreUnavailableError);
    expect((await store.close()).persisted).toBe(1);
    // The host may open a store again on the same registry: metrics are reused, not re-registered.
    const again = await openStore(config({ uri: 'mongodb://miner:hunter2@[not-a-host/db' }), registry);
    stores.push(again.store);
    await again.store.writeSamples([sample(1)]);
    expect(await metricValue(registry, 'minefleet_store_buffered_documents', { location: 'memory' })).toBe(1);
  });

  it('an unreachable server: connect returns quickly, unavailable with the cause, writes buffered, reads refused', async () => {
    const port = await freePort();
    const started = Date.now();
    const { store } = await openStore(
      config({ uri: `mongodb://127.0.0.1:${port}/`, timeouts: { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500, socketTimeoutMS: 1000 } }),
    );
    stores.push(store);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(store.available).toBe(false);
    const h = await store.health();
    expect(h.lastError).toMatch(new RegExp(`MongoDB at mongodb://127.0.0.1:${port}/ is unreachable: .*ECONNREFUSED`));
    await expect(store.queryShareStats({ namespace: 'm', from: T0, to: new Date(T0.getTime() + 1) })).rejects.toThrow(
      /history store is unavailable: MongoDB at/,
    );
    await store.writeSamples([sample(0)]);
    await waitFor(async () => (await store.health()).lastError, { timeoutMs: 5_000 });
    expect((await store.health()).buffered.memory).toBe(1);
  });
});
