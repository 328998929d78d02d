import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startFerretDB, waitFor, type FerretDB } from '../support/index.js';
import { MemoryAuditSink, NOOP_AUDIT_SINK, StoreAuditSink, redactText, type HistoryStore } from '../../operator/src/store/index.js';
import { openStore, tempDir, uniqueDbName } from '../store/helpers.js';

let fdb: FerretDB;
let store: HistoryStore;
let spill: { dir: string; remove(): void };

beforeAll(async () => {
  fdb = await startFerretDB();
  spill = tempDir('audit');
  ({ store } = await openStore({
    uri: fdb.uri,
    dbName: uniqueDbName('audit'),
    buffer: { spillDir: spill.dir },
    writer: { batchSize: 10, flushIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 500 },
  }));
}, 120_000);

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 });
  await fdb?.stop();
  spill?.remove();
});

describe('AuditSink', () => {
  it('StoreAuditSink appends events with the acting instance and redacts credentials; a deterministic id is kept once', async () => {
    const sink = new StoreAuditSink(store, { actor: 'operator-0_123', logger: pino({ level: 'silent' }) });
    const t = new Date('2026-12-01T10:00:00Z');
    for (let i = 0; i < 3; i++) {
      sink.record({
        eventId: 'uid-1:failover:1',
        type: 'failover',
        namespace: 'mining',
        fleet: 'alpha',
        pool: 'pool-b',
        reason: 'PoolSwitched',
        message: 'pool-a (stratum+tcp://user:hunter2@10.0.0.1:3333) unavailable; switching to pool-b',
        severity: 'warning',
        details: { from: 'pool-a', to: 'pool-b', url: 'stratum+tcp://user:hunter2@10.0.0.1:3333' },
        time: t,
      });
    }
    sink.record({
      type: 'missing-reference',
      namespace: 'mining',
      fleet: 'alpha',
      reason: 'PoolNotFound',
      message: 'MiningPool mining/ghost not found',
      time: t,
    });
    sink.probe({ namespace: 'mining', pool: 'pool-a', time: t, ok: false, circuit: 'Open', error: 'connect ECONNREFUSED' });
    await sink.drain();
    expect(await store.flush(30_000)).toBe(true);
    const events = await store.database().collection(store.names.events).find({ namespace: 'mining' }).toArray();
    expect(events).toHaveLength(2);
    const failover = events.find((e) => e.type === 'failover')!;
    expect(failover.actor).toBe('operator-0_123');
    expect(failover.reason).toBe('PoolSwitched');
    expect(JSON.stringify(failover)).not.toContain('hunter2');
    expect(failover.message).toContain('stratum+tcp://***@10.0.0.1:3333');
    expect(events.find((e) => e.type === 'missing-reference')?.reason).toBe('PoolNotFound');
    const probes = await store.database().collection(store.names.probes).find({ pool: 'pool-a' }).toArray();
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ ok: false, circuit: 'Open', probedBy: 'operator-0_123' });
  });

  it('a bad record is logged, never thrown into the caller', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(l) });
    const sink = new StoreAuditSink(store, { actor: 'x', logger });
    expect(() => sink.record({ type: 'alert', namespace: '', reason: '', message: 'bad' })).not.toThrow();
    await waitFor(() => lines.length > 0, { timeoutMs: 10_000, description: 'error log' });
    expect(lines[0]).toContain('audit: event not recorded');
  });

  it('NOOP and memory sinks', () => {
    expect(() => NOOP_AUDIT_SINK.record({ type: 'scale', namespace: 'a', fleet: 'b', reason: 'R', message: 'm' })).not.toThrow();
    const m = new MemoryAuditSink();
    m.record({ type: 'suspend', namespace: 'a', fleet: 'b', reason: 'Unprofitable', message: 'margin -3%' });
    expect(m.events.map((e) => e.reason)).toEqual(['Unprofitable']);
    expect(redactText('mongodb://admin:s3cret@db:27017/x')).toBe('mongodb://***@db:27017/x');
  });
});
