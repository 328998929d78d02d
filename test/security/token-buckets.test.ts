import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../miner/src/metrics/token-buckets.js';

describe('TokenBuckets', () => {
  it('lets a key burst, then throttles it to the sustained rate, telling it when to retry', () => {
    let now = 0;
    const b = new TokenBuckets({ ratePerSecond: 2, burst: 3, maxKeys: 10, now: () => now });
    expect([b.take('a'), b.take('a'), b.take('a')].every((r) => r.ok)).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 500; // half a second at 2/s: one token back
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    now += 10_000; // refills to the burst, never beyond it
    expect([b.take('a'), b.take('a'), b.take('a')].every((r) => r.ok)).toBe(true);
    expect(b.take('a').ok).toBe(false);
  });

  it('keeps one bucket per key: a throttled key does not throttle another', () => {
    const now = 0;
    const b = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 10, now: () => now });
    expect(b.take('flooder').ok).toBe(true);
    expect(b.take('flooder').ok).toBe(false);
    expect(b.take('scraper').ok).toBe(true);
  });

  it('retry-after grows with the deficit at a slow rate', () => {
    const b = new TokenBuckets({ ratePerSecond: 0.1, burst: 1, maxKeys: 10, now: () => 0 });
    b.take('a');
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('tracks at most maxKeys keys, forgetting the least recently seen', () => {
    const now = 0;
    const b = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: () => now });
    b.take('a');
    b.take('b');
    b.take('a'); // a is now the most recently seen (and empty)
    b.take('c'); // evicts b
    expect(b.size).toBe(2);
    expect(b.take('a').ok).toBe(false); // a kept its (empty) bucket
    expect(b.take('b').ok).toBe(true); // b was forgotten: a fresh bucket
  });

  it('rejects nonsense options with a clear error', () => {
    expect(() => new TokenBuckets({ ratePerSecond: 0, burst: 1, maxKeys: 1 })).toThrow(/ratePerSecond must be > 0, got 0/);
    expect(() => new TokenBuckets({ ratePerSecond: 1, burst: 0.5, maxKeys: 1 })).toThrow(/burst must be >= 1/);
    expect(() => new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 0 })).toThrow(/maxKeys must be >= 1/);
  });
});
