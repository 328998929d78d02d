/**
 * Per-client token buckets (one bucket per key, e.g. a client IP), so one flooding client is
 * throttled while everyone else keeps their own budget. Pure: the clock is injected.
 *
 * Why our own: rate-limiter-flexible's in-memory limiter counts fixed windows (a client may burst
 * twice the budget across a window edge) and answers through a Promise per request; `limiter`
 * has a token bucket but no keyed, bounded map. This is the few lines both would need around them.
 */
export interface TokenBucketOptions {
  /** Sustained requests per second a key may make. */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle (the bucket's size). */
  burst: number;
  /** Keys tracked at most; the least recently seen is forgotten first (bounded memory under a spoofed-address flood). */
  maxKeys: number;
  now?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.ratePerSecond > 0)) throw new Error(`token bucket: ratePerSecond must be > 0, got ${opts.ratePerSecond}`);
    if (!(opts.burst >= 1)) throw new Error(`token bucket: burst must be >= 1, got ${opts.burst}`);
    if (!(opts.maxKeys >= 1)) throw new Error(`token bucket: maxKeys must be >= 1, got ${opts.maxKeys}`);
    this.now = opts.now ?? Date.now;
  }

  /** Takes one token from `key`'s bucket, or says how long until one is there. */
  take(key: string): TakeResult {
    const now = this.now();
    const prev = this.buckets.get(key);
    let b: Bucket;
    if (prev) {
      const refilled = ((now - prev.at) / 1000) * this.opts.ratePerSecond;
      b = { tokens: Math.min(this.opts.burst, prev.tokens + Math.max(0, refilled)), at: now };
      // Re-insert so the Map's order is least-recently-seen first.
      this.buckets.delete(key);
    } else {
      b = { tokens: this.opts.burst, at: now };
    }
    this.buckets.set(key, b);
    if (this.buckets.size > this.opts.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.opts.ratePerSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }
}
