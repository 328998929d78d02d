/**
 * Rate limiters of the work queue, as client-go's util/workqueue/default_rate_limiters.go defines
 * them: `when(item)` says how long to wait before the item is added again (and records the
 * attempt), `forget(item)` ends its failure history, `numRequeues(item)` counts its attempts.
 * All delays are milliseconds.
 */
export interface RateLimiter {
  when(item: string): number;
  numRequeues(item: string): number;
  forget(item: string): void;
}

/** Milliseconds on a monotonic clock; tests pass a fake one. */
export type Now = () => number;
const monotonic: Now = () => performance.now();

/**
 * Per-item exponential back-off, like client-go's ItemExponentialFailureRateLimiter:
 * delay = base * 2^failures, capped; forget() resets an item after a success.
 */
export class ItemExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1000_000,
  ) {
    if (baseDelayMs <= 0 || maxDelayMs < baseDelayMs) throw new Error(`invalid back-off: base ${baseDelayMs} ms, max ${maxDelayMs} ms`);
  }

  when(item: string): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity past ~1000 failures; min() keeps the cap.
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  numRequeues(item: string): number {
    return this.failures.get(item) ?? 0;
  }

  forget(item: string): void {
    this.failures.delete(item);
  }
}

/**
 * One token bucket shared by all items, like client-go's BucketRateLimiter over
 * golang.org/x/time/rate's Limiter.Reserve(): the bucket starts full (`burst` tokens), refills
 * at `qps`, and every when() takes a token even when none is left: the debt is the wait, so a
 * burst of retries is spread out at `qps` instead of being refused. It bounds the overall retry
 * rate (a storm of failing items cannot hammer the API server); items have no history of their own.
 *
 * Written here rather than taken from npm: the limiters there (limiter, bottleneck, p-limit) wait
 * asynchronously or refuse; none answers "how long until this would be allowed" while booking
 * the token, which is what a delaying queue needs.
 */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps = 10,
    readonly burst = 100,
    private readonly now: Now = monotonic,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`invalid token bucket: ${qps} qps, burst ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  when(_item: string): number {
    const t = this.now();
    // A clock that went backwards refills nothing (as x/time/rate's advance()).
    const elapsedS = Math.max(0, t - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsedS * this.qps) - 1;
    this.last = t;
    return this.tokens < 0 ? (-this.tokens / this.qps) * 1000 : 0;
  }

  numRequeues(_item: string): number {
    return 0;
  }

  forget(_item: string): void {}
}

/** The longest delay of all limiters (each one books the attempt), like client-go's MaxOfRateLimiter. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: string): number {
    // Every limiter is asked (not short-circuited): each records the attempt.
    return Math.max(...this.limiters.map((l) => l.when(item)));
  }

  numRequeues(item: string): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(item)));
  }

  forget(item: string): void {
    for (const l of this.limiters) l.forget(item);
  }
}

export interface ControllerRateLimiterOptions {
  /** per-item back-off: first failure's delay (controller-runtime: 5 ms) */
  baseDelayMs?: number;
  /** per-item back-off cap (controller-runtime: 1000 s) */
  maxDelayMs?: number;
  /** overall retries per second (controller-runtime: 10) */
  qps?: number;
  /** overall burst (controller-runtime: 100) */
  burst?: number;
  now?: Now;
}

/**
 * controller-runtime's default (workqueue.DefaultTypedControllerRateLimiter): the max of a
 * per-item exponential failure back-off (5 ms doubling to 1000 s) and an overall token bucket
 * (10 qps, burst 100).
 */
export function defaultControllerRateLimiter(o: ControllerRateLimiterOptions = {}): MaxOfRateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialBackoff(o.baseDelayMs ?? 5, o.maxDelayMs ?? 1000_000), new TokenBucket(o.qps ?? 10, o.burst ?? 100, o.now));
}
