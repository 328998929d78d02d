// History store ingest into FerretDB (the test server): sustained samples/s through the public
// API (validate → buffer → batched unordered inserts keyed by idempotency _id), at several batch
// sizes side by side, plus replay speed of a spill file after an outage.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { freePort, startFerretDB } from '../test/support/index.js';
import { HistoryStore, type SampleDoc } from '../operator/src/store/index.js';
import type { BenchRow } from './types.js';

const BATCH_SIZES = [100, 500, 2000];
const SAMPLES = 15_000;
const CALL_SIZE = 100; // documents per writeSamples call, like a collector tick over 100 pods
const T0 = Date.UTC(2026, 0, 1);

function sampleNo(i: number): SampleDoc {
  return {
    namespace: 'bench',
    fleet: `fleet-${i % 7}`,
    pod: `pod-${i % 100}`,
    windowStart: new Date(T0 + Math.floor(i / 100) * 60_000),
    windowSeconds: 60,
    pool: 'pool-a',
    hashrate: 1000 + (i % 997),
    shares: { accepted: i % 11, rejected: i % 3, stale: 0 },
    difficulty: 0.5,
    device: { kind: 'cpu', temperatureC: 60, powerW: 95 },
  };
}

async function ingest(store: HistoryStore, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += CALL_SIZE) {
    await store.writeSamples(Array.from({ length: Math.min(CALL_SIZE, n - i) }, (_, k) => sampleNo(i + k)));
  }
  if (!(await store.flush(120_000))) throw new Error('store did not drain within 120 s');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function run(): Promise<BenchRow[]> {
  const fdb = await startFerretDB();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'minefleet-store-bench-'));
  const rows: BenchRow[] = [];
  const rates = new Map<number, number>();
  try {
    for (const batchSize of BATCH_SIZES) {
      const store = await HistoryStore.connect(
        {
          uri: fdb.uri,
          dbName: `bench_${batchSize}_${process.pid}`,
          writer: { batchSize, flushIntervalMs: 20 },
          buffer: { spillDir: path.join(tmp, `b${batchSize}`), maxMemoryDocuments: SAMPLES * 2 },
        },
        { registry: new Registry() },
      );
      if (!store.available) throw new Error(`history store unavailable: ${(await store.health()).lastError}`);
      const seconds = await ingest(store, SAMPLES);
      const count = await store.database().collection('samples').countDocuments();
      if (count !== SAMPLES) throw new Error(`expected ${SAMPLES} samples, found ${count}`);
      await store.database().dropDatabase();
      await store.close();
      const rate = SAMPLES / seconds;
      rates.set(batchSize, rate);
      rows.push({
        bench: 'store',
        metric: `ingest samples/s (batch ${batchSize})`,
        value: Math.round(rate),
        unit: 'samples/s',
        note: `${SAMPLES} samples in ${seconds.toFixed(1)} s, FerretDB v1 SQLite`,
      });
    }
    const lo = BATCH_SIZES[0]!;
    const hi = BATCH_SIZES[BATCH_SIZES.length - 1]!;
    rows.push({ bench: 'store', metric: `ingest ratio batch ${hi} / batch ${lo}`, value: Number((rates.get(hi)! / rates.get(lo)!).toFixed(2)), unit: 'x' });

    // Outage replay: a store that cannot reach any server spills everything; a new one replays.
    const replayBatch = 500;
    const spillDir = path.join(tmp, 'replay');
    const deadPort = await freePort();
    const offline = await HistoryStore.connect(
      {
        uri: `mongodb://127.0.0.1:${deadPort}/`,
        writer: { batchSize: replayBatch },
        buffer: { spillDir, maxMemoryDocuments: 1000 },
        timeouts: { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300, socketTimeoutMS: 1000 },
      },
      { registry: new Registry() },
    );
    const spillStarted = process.hrtime.bigint();
    for (let i = 0; i < SAMPLES; i += CALL_SIZE) await offline.writeSamples(Array.from({ length: CALL_SIZE }, (_, k) => sampleNo(i + k)));
    const spillSeconds = Number(process.hrtime.bigint() - spillStarted) / 1e9;
    const { persisted } = await offline.close();
    rows.push({
      bench: 'store',
      metric: 'spill to disk (server down)',
      value: Math.round(SAMPLES / spillSeconds),
      unit: 'samples/s',
      note: `${persisted} documents fsync'd per ${CALL_SIZE}-document call`,
    });

    const replayStarted = process.hrtime.bigint();
    const online = await HistoryStore.connect(
      { uri: fdb.uri, dbName: `bench_replay_${process.pid}`, writer: { batchSize: replayBatch, flushIntervalMs: 20 }, buffer: { spillDir } },
      { registry: new Registry() },
    );
    if (!(await online.flush(120_000))) throw new Error('replay did not finish within 120 s');
    const replaySeconds = Number(process.hrtime.bigint() - replayStarted) / 1e9;
    const replayed = await online.database().collection('samples').countDocuments();
    if (replayed !== SAMPLES) throw new Error(`replay wrote ${replayed} of ${SAMPLES} samples`);
    await online.database().dropDatabase();
    await online.close();
    rows.push({
      bench: 'store',
      metric: `spill replay samples/s (batch ${replayBatch})`,
      value: Math.round(SAMPLES / replaySeconds),
      unit: 'samples/s',
      note: `${SAMPLES} spilled samples replayed exactly once, incl. connect + migrations`,
    });
  } finally {
    await fdb.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
