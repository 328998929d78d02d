import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startFerretDB, waitFor, type FerretDB } from '../support/index.js';
import { HistoryStore, type SampleDoc } from '../../operator/src/store/index.js';
import { metricValue, quietLogger, T0, tempDir, uniqueDbName } from './helpers.js';

const OUTAGE_MS = 60_000;

/** This test stops and starts the server, so it always runs its own FerretDB (even with MONGODB_URI set). */
async function ownFerretDB(): Promise<FerretDB> {
  const external = process.env.MONGODB_URI;
  delete process.env.MONGODB_URI;
  try {
    return await startFerretDB();
  } finally {
    if (external !== undefined) process.env.MONGODB_URI = external;
  }
}

let fdb: FerretDB;
let store: HistoryStore | undefined;
const spill = tempDir('outage');

beforeAll(async () => {
  fdb = await ownFerretDB();
});

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 }).catch(() => undefined);
  await fdb?.stop();
  spill.remove();
});

function sampleNo(i: number): SampleDoc {
  return {
    namespace: 'mining',
    fleet: 'outage',
    pod: `outage-${i % 10}`,
    windowStart: new Date(T0.getTime() + Math.floor(i / 10) * 1000),
    windowSeconds: 1,
    pool: 'pool-a',
    hashrate: i,
    shares: { accepted: i % 5, rejected: 0, stale: 0 },
    difficulty: 1,
  };
}

describe('history store through a 60 s MongoDB outage', () => {
  it('loses and duplicates nothing while ingesting continuously', { timeout: 240_000 }, async () => {
    const registry = new Registry();
    store = await HistoryStore.connect(
      {
        uri: fdb.uri,
        dbName: uniqueDbName('outage'),
        writer: { batchSize: 200, flushIntervalMs: 100, retryInitialMs: 200, retryMaxMs: 2_000 },
        buffer: { spillDir: spill.dir, maxMemoryDocuments: 500 },
        timeouts: { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, socketTimeoutMS: 10_000 },
      },
      { registry, logger: quietLogger },
    );
    expect(store.available).toBe(true);
    const s = store;
    const col = s.database().collection('samples');

    // Continuous ingest: 2 samples every 20 ms (~100/s) until told to stop.
    let produced = 0;
    let stop = false;
    const ingest = (async () => {
      while (!stop) {
        await s.writeSamples([sampleNo(produced), sampleNo(produced + 1)]);
        produced += 2;
        await sleep(20);
      }
    })();

    try {
      await waitFor(async () => (await col.countDocuments()) > 50, { timeoutMs: 30_000, description: 'first samples written' });

      await fdb.stopServer();
      const outageStarted = Date.now();
      await waitFor(() => !s.available, { timeoutMs: 20_000, description: 'store to notice the outage' });
      await waitFor(async () => (await s.health()).buffered.spill > 0, { timeoutMs: 30_000, description: 'writes spilling to disk' });
      const producedDuringOutageStart = produced;
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
      const h = await s.health();
      expect(h.available).toBe(false);
      expect(h.lastError).toMatch(/unavailable|failed|unreachable|ECONNREFUSED/i);
      expect(h.buffered.spill).toBeGreaterThan(500);
      expect(produced - producedDuringOutageStart).toBeGreaterThan(300); // ingest kept going

      await fdb.startServer();
      await waitFor(() => s.available, { timeoutMs: 60_000, description: 'store to reconnect' });
      await sleep(2_000); // keep ingesting while the spill file replays
    } finally {
      stop = true;
      await ingest;
    }

    expect(await s.flush(120_000)).toBe(true);
    const total = produced;
    expect(await col.countDocuments()).toBe(total);
    const keys = (await col.find({}, { projection: { _id: 0, pod: 1, windowStart: 1 } }).toArray()).map((d) => `${d.pod}@${(d.windowStart as Date).getTime()}`);
    expect(new Set(keys).size).toBe(total);
    const expected = new Set(Array.from({ length: total }, (_, i) => sampleNo(i)).map((d) => `${d.pod}@${d.windowStart.getTime()}`));
    expect(keys.every((k) => expected.has(k))).toBe(true);

    expect(await metricValue(registry, 'minefleet_store_spilled_documents_total')).toBeGreaterThan(500);
    expect(await metricValue(registry, 'minefleet_store_write_failures_total', { reason: 'unavailable' })).toBeGreaterThan(0);
    expect(await metricValue(registry, 'minefleet_store_dropped_documents_total')).toBe(0);
    expect(await metricValue(registry, 'minefleet_store_buffered_documents')).toBe(0);
    expect((await s.health()).buffered).toEqual({ memory: 0, spill: 0 });
  });
});
