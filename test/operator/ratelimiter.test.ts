import { describe, expect, it } from 'vitest';
import { defaultControllerRateLimiter, ItemExponentialBackoff, MaxOfRateLimiter, TokenBucket } from '../../operator/src/runtime/ratelimiter.js';

/** A clock the test moves by hand (milliseconds). */
function fakeClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ItemExponentialBackoff', () => {
  it('doubles per failure of an item, caps, and forget() resets only that item', () => {
    const rl = new ItemExponentialBackoff(10, 80);
    expect([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([10, 20, 40, 80, 80]);
    expect(rl.when('b')).toBe(10);
    expect(rl.numRequeues('a')).toBe(5);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(10);
    expect(rl.when('b')).toBe(20);
    // 2^n past 1024 is Infinity: still the cap
    for (let i = 0; i < 2000; i++) rl.when('c');
    expect(rl.when('c')).toBe(80);
  });

  it('rejects a base of 0 or a cap below the base', () => {
    expect(() => new ItemExponentialBackoff(0, 10)).toThrow(/invalid back-off: base 0 ms/);
    expect(() => new ItemExponentialBackoff(10, 5)).toThrow(/max 5 ms/);
  });
});

describe('TokenBucket (x/time/rate Reserve semantics)', () => {
  it('lets a full burst through at once, then spaces further takes at 1/qps, booking each one', () => {
    const c = fakeClock();
    const b = new TokenBucket(10, 100, c.now);
    const first = Array.from({ length: 100 }, (_, i) => b.when(`i${i}`));
    expect(first.every((d) => d === 0)).toBe(true);
    expect(b.when('x')).toBeCloseTo(100, 6); // 1 token short at 10/s
    expect(b.when('y')).toBeCloseTo(200, 6); // the debt grows: retries spread out
    expect(b.numRequeues('x')).toBe(0);
  });

  it('refills at qps from the debt, never above the burst', () => {
    const c = fakeClock();
    const b = new TokenBucket(10, 100, c.now);
    for (let i = 0; i < 102; i++) b.when('k'); // 2 tokens in debt
    c.advance(250); // +2.5 tokens: 0.5 left
    expect(b.when('k')).toBeCloseTo(50, 6); // -0.5 token = 50 ms
    c.advance(1_000_000); // long idle: back to a full bucket, not more
    for (let i = 0; i < 100; i++) expect(b.when('k')).toBe(0);
    expect(b.when('k')).toBeCloseTo(100, 6);
  });

  it('a clock that goes backwards refills nothing', () => {
    const c = fakeClock(10_000);
    const b = new TokenBucket(1, 1, c.now);
    expect(b.when('a')).toBe(0);
    c.advance(-5_000);
    expect(b.when('a')).toBeCloseTo(1000, 6);
  });

  it('rejects a non-positive rate or an empty bucket', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(/invalid token bucket: 0 qps/);
    expect(() => new TokenBucket(1, 0)).toThrow(/burst 0/);
  });
});

describe('MaxOfRateLimiter', () => {
  it('answers the longest delay, books the attempt in every limiter, and forgets in all', () => {
    const a = new ItemExponentialBackoff(1, 1000);
    const b = new ItemExponentialBackoff(3, 5);
    const m = new MaxOfRateLimiter(a, b);
    expect([m.when('k'), m.when('k'), m.when('k'), m.when('k')]).toEqual([3, 5, 5, 8]);
    expect(a.numRequeues('k')).toBe(4);
    expect(b.numRequeues('k')).toBe(4);
    expect(m.numRequeues('k')).toBe(4);
    m.forget('k');
    expect([a.numRequeues('k'), b.numRequeues('k'), m.numRequeues('k')]).toEqual([0, 0, 0]);
  });
});

describe("defaultControllerRateLimiter (controller-runtime's default)", () => {
  it('is the max of a 5 ms..1000 s per-item back-off and a 10 qps / burst 100 bucket', () => {
    const c = fakeClock();
    const rl = defaultControllerRateLimiter({ now: c.now });
    const [exp, bucket] = rl.limiters as [ItemExponentialBackoff, TokenBucket];
    expect(exp).toBeInstanceOf(ItemExponentialBackoff);
    expect([exp.baseDelayMs, exp.maxDelayMs]).toEqual([5, 1000_000]);
    expect(bucket).toBeInstanceOf(TokenBucket);
    expect([bucket.qps, bucket.burst]).toEqual([10, 100]);
  });

  it('one failing item backs off 5 ms, 10 ms, ... up to 1000 s; forget() starts it over', () => {
    const c = fakeClock();
    const rl = defaultControllerRateLimiter({ now: c.now });
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      delays.push(rl.when('ns/x'));
      c.advance(1000); // keep the bucket from being the limit
    }
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays[17]).toBe(5 * 2 ** 17); // 655.36 s
    expect(delays.slice(18)).toEqual([1000_000, 1000_000]);
    expect(rl.numRequeues('ns/x')).toBe(20);
    rl.forget('ns/x');
    expect(rl.when('ns/x')).toBe(5);
  });

  it('a storm of distinct failing items is held to 10 per second after the first 100', () => {
    const c = fakeClock();
    const rl = defaultControllerRateLimiter({ now: c.now });
    const delays = Array.from({ length: 120 }, (_, i) => rl.when(`ns/item-${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).toBe(true); // first failure of each: 5 ms
    expect(delays[100]).toBeCloseTo(100, 6);
    expect(delays[119]).toBeCloseTo(2000, 6); // 20 tokens short at 10/s
  });

  it('takes other settings', () => {
    const rl = defaultControllerRateLimiter({ baseDelayMs: 20, maxDelayMs: 2000, qps: 5, burst: 2, now: () => 0 });
    expect([rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([20, 40, 200]); // the third waits for the bucket (1/5 s)
  });
});
