import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SPILL_FILE, WriteBuffer } from '../../operator/src/store/buffer.js';
import { StoreMetrics } from '../../operator/src/store/metrics.js';
import type { PendingItem } from '../../operator/src/store/schemas.js';
import { metricValue, quietLogger, sample, tempDir } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function newBuffer(opts: { maxMemoryDocuments: number; maxSpillBytes?: number; dir?: string }) {
  const t = opts.dir ? { dir: opts.dir, remove: () => undefined } : tempDir('buffer');
  cleanups.push(t.remove);
  const registry = new Registry();
  const buffer = new WriteBuffer(
    { spillDir: t.dir, maxMemoryDocuments: opts.maxMemoryDocuments, maxSpillBytes: opts.maxSpillBytes ?? 1 << 30 },
    new StoreMetrics(registry),
    quietLogger,
  );
  return { buffer, registry, dir: t.dir };
}

const items = (from: number, n: number): PendingItem[] => Array.from({ length: n }, (_, i) => ({ kind: 'samples', doc: sample(from + i) }));
const hashrates = (xs: PendingItem[]) => xs.map((x) => (x.kind === 'samples' ? x.doc.hashrate : -1));

/** Takes and acks batches until empty; returns everything in the order it came out. */
async function drain(buffer: WriteBuffer, batch = 7): Promise<PendingItem[]> {
  const out: PendingItem[] = [];
  for (let b = await buffer.nextBatch(batch); b; b = await buffer.nextBatch(batch)) {
    out.push(...b.items);
    await buffer.ack(b);
  }
  return out;
}

describe('write buffer', () => {
  it('keeps a small queue in memory, in order', async () => {
    const { buffer, dir } = newBuffer({ maxMemoryDocuments: 100 });
    await buffer.open();
    await buffer.push(items(0, 30));
    expect(buffer.counts()).toEqual({ memory: 30, spill: 0 });
    expect(existsSync(path.join(dir, SPILL_FILE))).toBe(false);
    expect(hashrates(await drain(buffer))).toEqual(hashrates(items(0, 30)));
    expect(buffer.pending).toBe(0);
  });

  it('spills to disk past the memory bound, replays in order, then goes back to memory', async () => {
    const { buffer, registry, dir } = newBuffer({ maxMemoryDocuments: 10 });
    await buffer.open();
    await buffer.push(items(0, 8));
    await buffer.push(items(8, 5)); // 13 > 10: all 13 go to the file
    expect(buffer.counts()).toEqual({ memory: 0, spill: 13 });
    await buffer.push(items(13, 4));
    expect(buffer.counts()).toEqual({ memory: 0, spill: 17 });
    expect(await metricValue(registry, 'minefleet_store_spilled_documents_total')).toBe(17);
    expect(await metricValue(registry, 'minefleet_store_buffered_documents', { location: 'spill' })).toBe(17);
    const lines = readFileSync(path.join(dir, SPILL_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(17);
    expect(JSON.parse(lines[0]!)).toMatchObject({ k: 'samples', d: { hashrate: 1000, windowStart: '2026-01-01T00:00:00.000Z' } });

    // A batch read from the file revives Dates.
    const first = await buffer.nextBatch(5);
    expect(first?.source).toBe('spill');
    expect(first?.items[0]?.kind === 'samples' && first.items[0].doc.windowStart).toBeInstanceOf(Date);
    await buffer.ack(first!);
    await buffer.push(items(17, 2)); // still spilling while the file drains
    const rest = await drain(buffer, 4);
    expect(hashrates([...first!.items, ...rest])).toEqual(hashrates(items(0, 19)));
    expect(buffer.spilling).toBe(false);
    expect(statSync(path.join(dir, SPILL_FILE)).size).toBe(0);
    await buffer.push(items(19, 1));
    expect(buffer.counts()).toEqual({ memory: 1, spill: 0 });
  });

  it('ignores the ack of a memory batch taken before a switch to the file (the items stay pending)', async () => {
    const { buffer } = newBuffer({ maxMemoryDocuments: 5 });
    await buffer.open();
    await buffer.push(items(0, 4));
    const inFlight = await buffer.nextBatch(4);
    await buffer.push(items(4, 3)); // overflow: memory (incl. the in-flight 4) moves to the file
    await buffer.ack(inFlight!);
    expect(buffer.pending).toBe(7);
    expect(hashrates(await drain(buffer))).toEqual(hashrates(items(0, 7)));
  });

  it('persists memory on close, and a new buffer on the same dir replays it (torn last line cut)', async () => {
    const a = newBuffer({ maxMemoryDocuments: 100 });
    await a.buffer.open();
    await a.buffer.push(items(0, 12));
    expect(await a.buffer.persistAndClose()).toBe(12);
    appendFileSync(path.join(a.dir, SPILL_FILE), '{"k":"samples","d":{"namesp'); // crash mid-append

    const b = newBuffer({ maxMemoryDocuments: 100, dir: a.dir });
    expect(await b.buffer.open()).toEqual({ replaying: 12 });
    const first = await b.buffer.nextBatch(5);
    await b.buffer.ack(first!);
    expect(await b.buffer.persistAndClose()).toBe(7); // compacted: the 5 written are gone from the file

    const c = newBuffer({ maxMemoryDocuments: 100, dir: a.dir });
    expect(await c.buffer.open()).toEqual({ replaying: 7 });
    expect(hashrates(await drain(c.buffer))).toEqual(hashrates(items(5, 7)));
  });

  it('skips a corrupt spill line and drops what exceeds maxSpillBytes, counting both', async () => {
    const { buffer, registry, dir } = newBuffer({ maxMemoryDocuments: 1, maxSpillBytes: 2048 });
    await buffer.open();
    const dropped = await buffer.push(items(0, 20));
    expect(dropped).toBeGreaterThan(0);
    expect(buffer.pending).toBe(20 - dropped);
    expect(await metricValue(registry, 'minefleet_store_dropped_documents_total', { reason: 'spill_full' })).toBe(dropped);
    await buffer.persistAndClose();

    appendFileSync(path.join(dir, SPILL_FILE), 'not json\n');
    const again = newBuffer({ maxMemoryDocuments: 1, maxSpillBytes: 1 << 20, dir });
    await again.buffer.open();
    const out = await drain(again.buffer);
    expect(out).toHaveLength(20 - dropped);
    expect(await metricValue(again.registry, 'minefleet_store_dropped_documents_total', { reason: 'corrupt_spill_line' })).toBe(1);
  });
});
