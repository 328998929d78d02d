import { describe, expect, it } from 'vitest';
import { ItemExponentialBackoff } from '../../operator/src/runtime/ratelimiter.js';
import { WorkQueue } from '../../operator/src/runtime/workqueue.js';
import { isSubset } from '../../operator/src/runtime/semantic.js';

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WorkQueue', () => {
  it('deduplicates an item queued several times', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.length).toBe(0);
  });

  it('never hands one key to two workers; an add while processing re-queues it after done()', async () => {
    const q = new WorkQueue();
    q.add('k');
    const first = await q.get();
    expect(first).toBe('k');
    q.add('k'); // dirty while processing
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((v) => (second = v));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeUndefined();
    q.done('k');
    await waitFor(() => second === 'k');
    q.done('k');
    expect(q.length).toBe(0);
  });

  it('runs keys concurrently but each key serially under many workers', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let maxParallel = 0;
    let overlaps = 0;
    const processed: string[] = [];
    const workers = Array.from({ length: 4 }, async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        maxParallel = Math.max(maxParallel, active.size);
        await new Promise((r) => setTimeout(r, 2));
        processed.push(k);
        active.delete(k);
        q.done(k);
      }
    });
    for (let round = 0; round < 20; round++) {
      for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor(() => q.length === 0 && active.size === 0);
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(maxParallel).toBeGreaterThan(1);
    expect(maxParallel).toBeLessThanOrEqual(4);
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(processed).toContain(k);
  });

  it('addAfter delays an item and keeps the earliest deadline', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('x', 200);
    q.addAfter('x', 50);
    q.addAfter('x', 400);
    const got = await q.get();
    const waited = Date.now() - t0;
    expect(got).toBe('x');
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(190);
  });

  it('addRateLimited backs off exponentially per item, capped, and forget() resets', async () => {
    const rl = new ItemExponentialBackoff(10, 80);
    expect([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([10, 20, 40, 80, 80]);
    expect(rl.when('b')).toBe(10);
    expect(rl.numRequeues('a')).toBe(5);
    rl.forget('a');
    expect(rl.when('a')).toBe(10);
    for (let i = 0; i < 2000; i++) rl.when('c');
    expect(rl.when('c')).toBe(80);

    const q = new WorkQueue({ rateLimiter: new ItemExponentialBackoff(30, 1000) });
    const t0 = Date.now();
    q.addRateLimited('k'); // 30 ms
    expect(await q.get()).toBe('k');
    q.done('k');
    const t1 = Date.now();
    q.addRateLimited('k'); // 60 ms
    expect(await q.get()).toBe('k');
    expect(t1 - t0).toBeGreaterThanOrEqual(25);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(55);
    expect(q.numRequeues('k')).toBe(2);
  });

  it('shutDownWithDrain stops handing out work and waits for in-flight items', async () => {
    const q = new WorkQueue();
    q.add('busy');
    q.add('queued');
    const k = await q.get();
    expect(k).toBe('busy');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    expect(await q.get()).toBeUndefined(); // no more items once shutting down
    q.add('late'); // ignored
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    q.done('busy');
    await drain;
    expect(drained).toBe(true);
  });

  it('calls metric hooks for adds, depth, retries and queue time', async () => {
    const seen = { adds: 0, depth: [] as number[], retries: 0, queued: [] as number[] };
    const q = new WorkQueue({
      rateLimiter: new ItemExponentialBackoff(1, 10),
      metrics: { add: () => seen.adds++, depth: (d) => seen.depth.push(d), retry: () => seen.retries++, queued: (s) => seen.queued.push(s) },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(seen.adds).toBe(3);
    expect(seen.depth.at(-1)).toBe(2);
    await q.get();
    expect(seen.queued.length).toBe(1);
    expect(seen.queued[0]).toBeGreaterThanOrEqual(0);
    q.addRateLimited('c');
    expect(seen.retries).toBe(1);
  });
});

describe('isSubset (drift check)', () => {
  it('ignores fields the server adds but catches changed or removed ones', () => {
    const desired = { metadata: { name: 'a', labels: { x: '1' } }, spec: { replicas: 2, template: { containers: [{ name: 'm', image: 'i' }] } } };
    const actual = {
      metadata: { name: 'a', uid: 'u', labels: { x: '1', extra: 'y' } },
      spec: { replicas: 2, strategy: {}, template: { containers: [{ name: 'm', image: 'i', imagePullPolicy: 'Always' }] } },
      status: {},
    };
    expect(isSubset(desired, actual)).toBe(true);
    expect(isSubset(desired, { ...actual, spec: { ...actual.spec, replicas: 3 } })).toBe(false);
    expect(isSubset(desired, { ...actual, metadata: { name: 'a' } })).toBe(false);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: {}, b: [] }, {})).toBe(true);
  });
});
