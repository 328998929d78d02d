import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ItemExponentialBackoff, MaxOfRateLimiter, TokenBucket } from '../../operator/src/runtime/ratelimiter.js';
import { WorkQueue, type WorkQueueMetrics } from '../../operator/src/runtime/workqueue.js';

/** Everything the queue reports through its metric hooks. */
function recorder() {
  const seen = { adds: 0, retries: 0, depth: [] as number[], queued: [] as number[], worked: [] as number[] };
  const metrics: WorkQueueMetrics = {
    add: () => seen.adds++,
    retry: () => seen.retries++,
    depth: (d) => seen.depth.push(d),
    queued: (s) => seen.queued.push(s),
    worked: (s) => seen.worked.push(s),
  };
  return { seen, metrics };
}

/** Lets resolved promises run (fake timers do not advance on their own). */
const settle = () => vi.advanceTimersByTimeAsync(0);

// Time is fake in every test here: vitest fakes setTimeout and Date, the queue reads Date.now()
// through its `now` option, so delays and durations are exact on a loaded machine too.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});
const fakeNow = () => Date.now();

describe('WorkQueue', () => {
  it('deduplicates an item queued several times', async () => {
    const q = new WorkQueue({ now: fakeNow });
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
    const q = new WorkQueue({ now: fakeNow });
    q.add('k');
    expect(await q.get()).toBe('k');
    q.add('k'); // dirty while processing
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((v) => (second = v));
    await settle();
    expect(second).toBeUndefined();
    q.done('k');
    await settle();
    expect(second).toBe('k');
    q.done('k');
    expect(q.length).toBe(0);
  });

  it('runs keys concurrently but each key serially under many workers', async () => {
    const q = new WorkQueue({ now: fakeNow });
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
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(q.length).toBe(0);
    expect(active.size).toBe(0);
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(maxParallel).toBe(4);
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(processed).toContain(k);
  });

  it('addAfter delays an item to the millisecond and keeps the earliest deadline', async () => {
    const q = new WorkQueue({ now: fakeNow });
    q.addAfter('x', 200);
    q.addAfter('x', 50);
    q.addAfter('x', 400);
    await vi.advanceTimersByTimeAsync(49);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('x');
    q.done('x');
    await vi.advanceTimersByTimeAsync(1000); // the later deadlines were dropped, not kept
    expect(q.length).toBe(0);
  });

  it("addRateLimited waits what the rate limiter says; forget() resets the item's back-off", async () => {
    const q = new WorkQueue({ now: fakeNow, rateLimiter: new ItemExponentialBackoff(30, 1000) });
    q.addRateLimited('k'); // 30 ms
    await vi.advanceTimersByTimeAsync(29);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await q.get()).toBe('k');
    q.done('k');
    q.addRateLimited('k'); // 60 ms
    await vi.advanceTimersByTimeAsync(59);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await q.get()).toBe('k');
    q.done('k');
    expect(q.numRequeues('k')).toBe(2);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    q.addRateLimited('k'); // 30 ms again
    await vi.advanceTimersByTimeAsync(30);
    expect(q.length).toBe(1);
  });

  it("uses controller-runtime's default rate limiter unless given one", () => {
    const rl = new WorkQueue().rateLimiter as MaxOfRateLimiter;
    expect(rl).toBeInstanceOf(MaxOfRateLimiter);
    const [exp, bucket] = rl.limiters as [ItemExponentialBackoff, TokenBucket];
    expect([exp.baseDelayMs, exp.maxDelayMs, bucket.qps, bucket.burst]).toEqual([5, 1000_000, 10, 100]);
  });

  it('shutDownWithDrain stops handing out work and waits for in-flight items', async () => {
    const q = new WorkQueue({ now: fakeNow });
    q.add('busy');
    q.add('queued');
    expect(await q.get()).toBe('busy');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    expect(await q.get()).toBeUndefined(); // no more items once shutting down
    q.add('late'); // ignored
    q.addAfter('later', 10); // ignored
    await vi.advanceTimersByTimeAsync(100);
    expect(drained).toBe(false);
    expect(q.length).toBe(1); // 'queued' only
    q.done('busy');
    await drain;
    expect(drained).toBe(true);
  });
});

// client-go util/workqueue: queue.go Add() returns before metrics.add() for an item already in
// the dirty set and while shutting down; metrics.go add() increments adds and depth, get()
// decrements depth; delaying_queue.go AddAfter() calls metrics.retry() first thing (after the
// shutdown check), whatever the delay.
describe('WorkQueue metrics (client-go semantics)', () => {
  it('workqueue_adds_total counts adds that enqueue, not deduplicated ones', async () => {
    const { seen, metrics } = recorder();
    const q = new WorkQueue({ now: fakeNow, metrics });
    q.add('a');
    q.add('a'); // already waiting: not counted
    q.add('b');
    expect(seen.adds).toBe(2);
    expect(await q.get()).toBe('a');
    q.add('a'); // in flight: marked dirty, will run again -> counted
    q.add('a'); // dirty already: not counted
    expect(seen.adds).toBe(3);
    q.done('a'); // the re-queue by done() is not another add
    expect(seen.adds).toBe(3);
    expect(q.length).toBe(2);
    q.shutDown();
    q.add('c');
    expect(seen.adds).toBe(3);
  });

  it('workqueue_depth counts waiting items, one re-added while in flight included', async () => {
    const { seen, metrics } = recorder();
    const q = new WorkQueue({ now: fakeNow, metrics });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(seen.depth).toEqual([1, 2]);
    await q.get(); // a
    expect(seen.depth.at(-1)).toBe(1);
    q.add('a'); // waits for its first run to finish
    expect(seen.depth.at(-1)).toBe(2);
    expect(q.length).toBe(1); // Len(): only b can be handed out now
    q.done('a');
    await q.get(); // b
    await q.get(); // a
    expect(seen.depth.at(-1)).toBe(0);
  });

  it('workqueue_retries_total counts every addAfter (rate-limited, delayed or immediate) unless shutting down', () => {
    const { seen, metrics } = recorder();
    const q = new WorkQueue({ now: fakeNow, metrics, rateLimiter: new ItemExponentialBackoff(1, 10) });
    q.addRateLimited('a');
    q.addAfter('b', 100);
    q.addAfter('c', 0);
    expect(seen.retries).toBe(3);
    expect(seen.adds).toBe(1); // c was added at once; a and b are still waiting
    q.shutDown();
    q.addRateLimited('a');
    q.addAfter('d', 5);
    expect(seen.retries).toBe(3);
  });

  it('queue_duration_seconds runs from the counted add to get(), work_duration_seconds from get() to done()', async () => {
    const { seen, metrics } = recorder();
    const q = new WorkQueue({ now: fakeNow, metrics });
    q.add('a');
    vi.advanceTimersByTime(30);
    q.add('a'); // a dedup does not restart the clock
    vi.advanceTimersByTime(20);
    expect(await q.get()).toBe('a');
    expect(seen.queued).toEqual([0.05]);
    vi.advanceTimersByTime(70);
    q.add('a'); // re-added while in flight: waits until its first run is done and taken again
    vi.advanceTimersByTime(5);
    q.done('a');
    expect(seen.worked).toEqual([0.075]);
    vi.advanceTimersByTime(10);
    expect(await q.get()).toBe('a');
    expect(seen.queued).toEqual([0.05, 0.015]);
    vi.advanceTimersByTime(10);
    q.done('a');
    expect(seen.worked).toEqual([0.075, 0.01]);
    q.done('never-taken'); // no observation for an item that was not handed out
    expect(seen.worked.length).toBe(2);
  });

  it('unfinishedWork sums the age of in-flight items and reports the oldest', async () => {
    const q = new WorkQueue({ now: fakeNow });
    expect(q.unfinishedWork()).toEqual({ totalSeconds: 0, longestSeconds: 0 });
    q.add('a');
    q.add('b');
    await q.get(); // a at t0
    vi.advanceTimersByTime(3000);
    await q.get(); // b at t0+3 s
    vi.advanceTimersByTime(1000);
    expect(q.unfinishedWork()).toEqual({ totalSeconds: 5, longestSeconds: 4 });
    q.done('a');
    expect(q.unfinishedWork()).toEqual({ totalSeconds: 1, longestSeconds: 1 });
    q.done('b');
    expect(q.unfinishedWork()).toEqual({ totalSeconds: 0, longestSeconds: 0 });
  });
});
