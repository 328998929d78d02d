/**
 * Store health as an operator exposes it, on a real FerretDB stopped and started under it:
 * the /readyz detail line and the store metrics (available, buffered and spilled documents) on
 * the operator's own HealthServer, while MongoDB is up, down and back. Availability must follow
 * the server even while nothing is written (the store pings when idle).
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthServer } from '../../operator/src/runtime/health.js';
import { HistoryStore, storeReadiness } from '../../operator/src/store/index.js';
import { metricValue, quietLogger, sample, tempDir, uniqueDbName } from '../store/helpers.js';
import { startFerretDB, waitFor, type FerretDB } from '../support/index.js';

let fdb: FerretDB;
let store: HistoryStore | undefined;
let health: HealthServer | undefined;
const registry = new Registry();
const spill = tempDir('health');

beforeAll(async () => {
  // This test stops and starts the server, so it always runs its own FerretDB.
  const external = process.env.MONGODB_URI;
  delete process.env.MONGODB_URI;
  try {
    fdb = await startFerretDB();
  } finally {
    if (external !== undefined) process.env.MONGODB_URI = external;
  }
}, 120_000);

afterAll(async () => {
  await health?.stop();
  await store?.close({ flushTimeoutMs: 0 }).catch(() => undefined);
  await fdb?.stop();
  spill.remove();
});

const readyz = async () => {
  const res = await fetch(`http://127.0.0.1:${health!.ports.probe}/readyz`);
  return { status: res.status, text: await res.text() };
};
const storeLine = async () => (await readyz()).text.split('\n').find((l) => l.includes('history-store')) ?? '';
/** A sample value from the served /metrics text (what Prometheus sees), not the registry object. */
const metrics = async (name: string, labels = ''): Promise<number | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${health!.ports.metrics}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('history store health in /readyz and metrics', () => {
  it('follows MongoDB up, down (idle and while writing, into the spill file) and back', { timeout: 180_000 }, async () => {
    store = await HistoryStore.connect(
      {
        uri: fdb.uri,
        dbName: uniqueDbName('health'),
        pingIntervalMs: 300,
        writer: { batchSize: 50, flushIntervalMs: 100, retryInitialMs: 100, retryMaxMs: 500 },
        buffer: { spillDir: spill.dir, maxMemoryDocuments: 5 },
        timeouts: { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, socketTimeoutMS: 5_000 },
      },
      { registry, logger: quietLogger },
    );
    const s = store;
    health = new HealthServer({ healthz: {}, readyz: { 'history-store': () => storeReadiness(s) } }, registry);
    await health.start({ probePort: 0, metricsPort: 0, host: '127.0.0.1' });

    // Up.
    expect(await storeLine()).toBe('[+]history-store ok: MongoDB available, 0 document(s) pending');
    expect((await readyz()).status).toBe(200);
    expect(await metrics('minefleet_store_available')).toBe(1);
    expect(await metrics('minefleet_store_buffered_documents', 'location="memory"')).toBe(0);
    expect(await metrics('minefleet_store_buffered_documents', 'location="spill"')).toBe(0);

    // Down, nothing being written: the idle ping notices.
    await fdb.stopServer();
    await waitFor(async () => (await metrics('minefleet_store_available')) === 0, { timeoutMs: 30_000, description: 'available 0 while idle' });
    expect(s.available).toBe(false);
    expect(await storeLine()).toBe('[+]history-store ok: MongoDB unavailable, buffering (0 in memory, 0 spilled)');
    expect((await readyz()).status).toBe(200); // the operator keeps working: buffering is not unready

    // Down, writing: first the memory buffer, then (past maxMemoryDocuments) the spill file.
    await s.writeSamples([sample(0), sample(1), sample(2)]);
    expect(await storeLine()).toBe('[+]history-store ok: MongoDB unavailable, buffering (3 in memory, 0 spilled)');
    expect(await metrics('minefleet_store_buffered_documents', 'location="memory"')).toBe(3);
    await s.writeSamples(Array.from({ length: 10 }, (_, i) => sample(3 + i)));
    expect(await storeLine()).toBe('[+]history-store ok: MongoDB unavailable, buffering (0 in memory, 13 spilled)');
    expect(await metrics('minefleet_store_buffered_documents', 'location="memory"')).toBe(0);
    expect(await metrics('minefleet_store_buffered_documents', 'location="spill"')).toBe(13);
    expect(await metrics('minefleet_store_spilled_documents_total')).toBe(13);
    // The write loop keeps trying the spilled batch and counts each failed attempt.
    await waitFor(async () => (await metricValue(registry, 'minefleet_store_write_failures_total', { reason: 'unavailable' })) > 0, {
      timeoutMs: 30_000,
      description: 'a failed write attempt counted',
    });

    // Back: the spill is replayed, everything is written once, and the line says so.
    await fdb.startServer();
    await waitFor(async () => (await storeLine()) === '[+]history-store ok: MongoDB available, 0 document(s) pending', {
      timeoutMs: 60_000,
      description: 'store available with nothing pending',
    });
    expect(await metrics('minefleet_store_available')).toBe(1);
    expect(await metrics('minefleet_store_buffered_documents', 'location="spill"')).toBe(0);
    expect(await s.database().collection(s.names.samples).countDocuments()).toBe(13);

    // Down and back again with nothing written at all: the gauge goes 0 and returns to 1 on its own.
    await fdb.stopServer();
    await waitFor(async () => (await metrics('minefleet_store_available')) === 0, { timeoutMs: 30_000, description: 'available 0 (second outage)' });
    await fdb.startServer();
    await waitFor(async () => (await metrics('minefleet_store_available')) === 1, { timeoutMs: 60_000, description: 'available 1 again while idle' });
    expect(await storeLine()).toBe('[+]history-store ok: MongoDB available, 0 document(s) pending');
  });
});
