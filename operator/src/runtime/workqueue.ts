import { ItemExponentialBackoff } from './ratelimiter.js';

/** Hooks the metrics layer plugs in (controller-runtime's workqueue_* metrics). */
export interface WorkQueueMetrics {
  add?(): void;
  depth?(depth: number): void;
  retry?(): void;
  /** seconds the item waited in the queue before a worker took it */
  queued?(seconds: number): void;
  /** seconds a worker spent on it */
  worked?(seconds: number): void;
}

export interface WorkQueueOptions {
  rateLimiter?: ItemExponentialBackoff;
  metrics?: WorkQueueMetrics;
}

/**
 * A rate-limited work queue with client-go semantics:
 * - an item is queued at most once however often it is added (dedupe);
 * - an item being processed is never handed to a second worker; if it is added meanwhile it is
 *   marked dirty and re-queued when the first worker calls done() (so no change is lost);
 * - addRateLimited() waits the item's exponential back-off, addAfter() a fixed delay;
 * - shutDown() stops handing out items; shutDownWithDrain() also waits for in-flight items.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(item: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  readonly rateLimiter: ItemExponentialBackoff;
  private readonly metrics: WorkQueueMetrics;

  constructor(opts: WorkQueueOptions = {}) {
    this.rateLimiter = opts.rateLimiter ?? new ItemExponentialBackoff();
    this.metrics = opts.metrics ?? {};
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(item: string): void {
    if (this.shuttingDown) return;
    this.metrics.add?.();
    if (this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return; // re-queued by done()
    this.push(item);
  }

  /** Adds after `delayMs`; an earlier pending deadline for the same item wins. */
  addAfter(item: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(item);
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(item);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(item);
      this.add(item);
    }, delayMs);
    this.delayed.set(item, { at, timer });
  }

  addRateLimited(item: string): void {
    this.metrics.retry?.();
    this.addAfter(item, this.rateLimiter.when(item));
  }

  forget(item: string): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: string): number {
    return this.rateLimiter.numRequeues(item);
  }

  /** Resolves with the next item, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const item = this.take();
    if (item !== undefined || this.shuttingDown) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(item: string): void {
    const started = this.processing.has(item);
    this.processing.delete(item);
    if (started && this.dirty.has(item)) this.push(item);
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Stops accepting and handing out items, then waits until in-flight items are done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private push(item: string): void {
    this.queue.push(item);
    if (!this.addedAt.has(item)) this.addedAt.set(item, performance.now());
    this.metrics.depth?.(this.length);
    const w = this.waiters.shift();
    if (w) {
      const next = this.take();
      if (next !== undefined) w(next);
      else this.waiters.unshift(w);
    }
  }

  private take(): string | undefined {
    if (this.shuttingDown || this.length === 0) return undefined;
    const item = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.processing.add(item);
    this.dirty.delete(item);
    const at = this.addedAt.get(item);
    this.addedAt.delete(item);
    if (at !== undefined) this.metrics.queued?.((performance.now() - at) / 1000);
    this.metrics.depth?.(this.length);
    return item;
  }
}
