/**
 * Per-fleet retention (spec.history.retentionDays) on FerretDB (or MONGODB_URI): the collector's
 * windows carry the fleet's retention into samples, rollups and shares as expireAt (document time
 * + the fleet's days, not the store default); MongoDB expires them with a TTL index, FerretDB
 * (no TTL indexes) with the store's own sweeper, which runs by itself in the write loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareDoc } from '../../operator/src/collector/shares.js';
import { WindowAccumulator } from '../../operator/src/collector/windows.js';
import { shareKey } from '../../operator/src/collector/exposition.js';
import type { HistoryStore } from '../../operator/src/store/index.js';
import { startFerretDB, waitFor, type FerretDB } from '../support/index.js';
import { openStore, tempDir, uniqueDbName } from '../store/helpers.js';

const DAY = 86_400_000;
let fdb: FerretDB | undefined;
let store: HistoryStore;
const spill = tempDir('retention');

beforeAll(async () => {
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    fdb = await startFerretDB();
    uri = fdb.uri;
  }
  ({ store } = await openStore({ uri, dbName: uniqueDbName('ret'), buffer: { spillDir: spill.dir }, retentionSweepIntervalMs: 1_000 }));
}, 120_000);

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 });
  await fdb?.stop();
  spill.remove();
});

describe('per-fleet retention', () => {
  it("writes expireAt from each fleet's retentionDays and expires what is past it", async () => {
    const acc = new WindowAccumulator(60, 0);
    const now = Date.now();
    const threeDaysAgo = Math.floor((now - 3 * DAY) / 60_000) * 60_000;
    const obs = (fleet: string, retentionDays: number) => ({
      namespace: 'mining',
      fleet,
      pod: `${fleet}-0`,
      podUid: `${fleet}-uid`,
      at: threeDaysAgo + 1_000,
      hashes: 60_000,
      shares: new Map([[shareKey('p', 'accepted', ''), 2]]),
      pool: 'p',
      difficulty: 0.5,
      hashrate10s: 1000,
      hashrate60s: 1000,
      connectionState: 'authorized',
      jobAgeSeconds: 1,
      retentionDays,
    });
    acc.add(obs('short', 1));
    acc.add(obs('long', 30));
    const closed = acc.close(now);
    const share = (fleet: string, retentionDays: number) =>
      shareDoc(
        {
          seq: 1,
          time: new Date(threeDaysAgo + 2_000).toISOString(),
          pool: 'p',
          worker: `w.${fleet}`,
          jobId: 'j1',
          extranonce2: '00000001',
          ntime: '6553f0a0',
          nonce: '0000abcd',
          difficulty: 0.5,
          result: 'accepted',
        },
        { namespace: 'mining', fleet, pod: `${fleet}-0`, podUid: `${fleet}-uid`, retentionDays },
      );
    await store.writeSamples(closed.samples);
    await store.writeRollups(closed.rollups);
    await store.writeShares([share('short', 1), share('long', 30)]);
    const db = store.database();
    // Before expiry can run, check what was written: expireAt = document time + the fleet's days.
    const long = await waitFor(async () => (await db.collection('samples').findOne({ fleet: 'long' })) ?? undefined, {
      timeoutMs: 30_000,
      description: 'the long-retention sample written',
    });
    expect((long.expireAt as Date).getTime()).toBe(threeDaysAgo + 30 * DAY);
    expect(long.retentionDays).toBeUndefined();
    const longShare = await db.collection('shares').findOne({ fleet: 'long' });
    expect((longShare!.expireAt as Date).getTime()).toBe(threeDaysAgo + 2_000 + 30 * DAY);
    expect(((await db.collection('rollups').findOne({ fleet: 'long' }))!.expireAt as Date).getTime()).toBe(threeDaysAgo + 30 * DAY);

    if (store.features!.features.ttlIndexes) {
      // MongoDB: the server expires them (its TTL monitor runs once a minute).
      for (const c of ['samples', 'rollups', 'shares']) {
        const idx = (await db.collection(c).indexes()).find((i) => i.name === 'retention');
        expect(idx, `${c} TTL index`).toMatchObject({ key: { expireAt: 1 }, expireAfterSeconds: 0 });
      }
    }
    // 'short' (1 day) is three days old: gone, by the TTL monitor or the store's sweeper; 'long' stays.
    await waitFor(
      async () => {
        for (const c of ['samples', 'rollups', 'shares']) if ((await db.collection(c).countDocuments({ fleet: 'short' })) > 0) return false;
        return true;
      },
      { timeoutMs: 150_000, intervalMs: 1_000, description: "the short-retention fleet's documents expired" },
    );
    for (const c of ['samples', 'rollups', 'shares']) expect(await db.collection(c).countDocuments({ fleet: 'long' }), c).toBe(1);
  }, 200_000);
});
