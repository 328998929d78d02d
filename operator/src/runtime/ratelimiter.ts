/**
 * Per-item exponential back-off, like client-go's ItemExponentialFailureRateLimiter:
 * delay = base * 2^failures, capped; forget() resets an item after a success.
 */
export class ItemExponentialBackoff {
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
