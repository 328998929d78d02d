import { defaultControllerRateLimiter, type Now, type RateLimiter } from './ratelimiter.js';

/**
 * Hooks the metrics layer plugs in (controller-runtime's workqueue_* metrics). They fire exactly
 * where client-go's util/workqueue fires its queue metrics (queue.go Add/Get/Done,
 * delaying_queue.go AddAfter, metrics.go defaultQueueMetrics):
 * - add: in add(), once per call that marks the item dirty, i.e. not for an add of an item that
 *   is already waiting (deduplicated), not while shutting down; an add during processing counts
 *   (the item will be processed again);
 * - depth: items waiting to be handed out, including one re-added while it is processed
 *   (client-go increments depth with every counted add and decrements it in Get);
 * - retry: every addAfter() (so also addRateLimited() and requeue-after) unless shutting down;
 * - queued: from the first counted add to the get() that hands the item out;
 * - worked: from get() to done().
 */
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
  /** Default: controller-runtime's (per-item exponential back-off max'd with a 10 qps / 100 burst bucket). */
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  /** Monotonic milliseconds for the duration metrics and addAfter deadlines (tests pass a fake). */
  now?: Now;
}

/** What workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds report. */
export interface UnfinishedWork {
  /** sum over in-flight items of the seconds since get() handed them out */
  totalSeconds: number;
  /** the oldest of those */
  longestSeconds: number;
}

/**
 * A rate-limited work queue with client-go semantics:
 * - an item is queued at most once however often it is added (dedupe);
 * - an item being processed is never handed to a second worker; if it is added meanwhile it is
 *   marked dirty and re-queued when the first worker calls done() (so no change is lost);
 * - addRateLimited() waits what the rate limiter says, addAfter() a fixed delay (an earlier
 *   pending deadline for the same item wins);
 * - shutDown() stops handing out items; shutDownWithDrain() also waits for in-flight items.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** first counted add of a dirty item (queue_duration_seconds) */
  private readonly addedAt = new Map<string, number>();
  /** get() of an in-flight item (work_duration_seconds, unfinished work) */
  private readonly startedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(item: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics;
  private readonly now: Now;

  constructor(opts: WorkQueueOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter({ now: this.now });
    this.metrics = opts.metrics ?? {};
  }

  /** Items ready to be handed out (client-go's Len(): not those re-added while in flight). */
  get length(): number {
    return this.queue.length - this.head;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(item: string): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(item)) return; // already waiting: deduplicated, not counted
    this.dirty.add(item);
    this.metrics.add?.();
    if (!this.addedAt.has(item)) this.addedAt.set(item, this.now());
    this.metrics.depth?.(this.dirty.size);
    if (this.processing.has(item)) return; // re-queued by done()
    this.push(item);
  }

  /** Adds after `delayMs`; an earlier pending deadline for the same item wins. */
  addAfter(item: string, delayMs: number): void {
    if (this.shuttingDown) return;
    this.metrics.retry?.();
    if (delayMs <= 0) return this.add(item);
    const at = this.now() + delayMs;
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
    const started = this.startedAt.get(item);
    if (started !== undefined) {
      this.startedAt.delete(item);
      this.metrics.worked?.((this.now() - started) / 1000);
    }
    const wasProcessing = this.processing.delete(item);
    if (wasProcessing && this.dirty.has(item)) this.push(item);
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** In-flight work right now; the metrics layer reads it at scrape time. */
  unfinishedWork(): UnfinishedWork {
    const t = this.now();
    let totalSeconds = 0;
    let longestSeconds = 0;
    for (const started of this.startedAt.values()) {
      const age = (t - started) / 1000;
      totalSeconds += age;
      longestSeconds = Math.max(longestSeconds, age);
    }
    return { totalSeconds, longestSeconds };
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
    const t = this.now();
    this.startedAt.set(item, t);
    const at = this.addedAt.get(item);
    this.addedAt.delete(item);
    if (at !== undefined) this.metrics.queued?.((t - at) / 1000);
    this.metrics.depth?.(this.dirty.size);
    return item;
  }
}
