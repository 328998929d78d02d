import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { RuntimeMetrics } from '../metrics/runtime-metrics.js';
import type { Informer } from './informer.js';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.js';
import { controllerOf, objectKey, splitKey, type KubeObject } from './resource.js';
import { WorkQueue } from './workqueue.js';

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile this object again after this many milliseconds (success path; resets back-off). */
  requeueAfterMs?: number;
  /** Requeue with the item's back-off although no error happened. */
  requeue?: boolean;
}

/**
 * What a reconcile gets besides its request, like controller-runtime's context.Context:
 * - `signal` fires when the reconcile must stop at once (leadership lost, manager cancelled);
 *   pass it to every API call (`rest.get(path, query, { signal })`), so nothing is sent after it;
 * - `reconcileID` names this one run (in every log line and in errors);
 * - `log` already carries {controller, namespace, name, reconcileID}.
 */
export interface ReconcileContext {
  signal: AbortSignal;
  reconcileID: string;
  log: Logger;
}

export interface Reconciler {
  reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void>;
}

export interface ControllerOptions {
  concurrency?: number;
  metrics?: RuntimeMetrics;
  logger?: Logger;
  /**
   * Per-item back-off of failed reconciles (controller-runtime default: 5 ms doubling to 1000 s),
   * max'd with the default overall token bucket (10 qps, burst 100).
   */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Replaces the default rate limiter altogether (controller-runtime's Options.RateLimiter). */
  rateLimiter?: RateLimiter;
}

export function requestKey(req: Request): string {
  return req.namespace ? `${req.namespace}/${req.name}` : req.name;
}

/**
 * A controller as in controller-runtime: event sources (For / Owns / Watches) enqueue requests,
 * `concurrency` workers take them from a deduplicating rate-limited queue (one worker per key at
 * a time) and call the reconciler; errors retry with per-item exponential back-off.
 */
export class Controller {
  readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private readonly log: Logger;
  private running = false;
  /** One per in-flight reconcile: cancel() aborts them all. */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly name: string,
    private readonly reconciler: Reconciler,
    private readonly opts: ControllerOptions = {},
  ) {
    if ((opts.concurrency ?? 1) < 1) throw new Error(`controller ${name}: concurrency must be at least 1`);
    this.queue = new WorkQueue({
      rateLimiter: opts.rateLimiter ?? defaultControllerRateLimiter({ baseDelayMs: opts.backoffBaseMs, maxDelayMs: opts.backoffMaxMs }),
      metrics: opts.metrics?.workQueueHooks(name),
    });
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ controller: name });
  }

  /**
   * Reconcile the objects of this informer themselves. `update` filters update events (as a
   * controller-runtime predicate's UpdateFunc); adds and deletes always enqueue.
   */
  for<T extends KubeObject>(informer: Informer<T>, filters: { update?: (old: T, obj: T) => boolean } = {}): this {
    const enqueue = (o: T) => this.queue.add(objectKey(o));
    const update = filters.update;
    informer.addEventHandler({ onAdd: enqueue, onUpdate: (old, o) => (!update || update(old, o)) && enqueue(o), onDelete: enqueue });
    return this;
  }

  /** Objects this controller creates: an event on one enqueues its controlling owner of `ownerKind`. */
  owns<T extends KubeObject>(informer: Informer<T>, ownerKind: string, ownerApiVersion?: string): this {
    const enqueueOwner = (o: T) => {
      const ref = controllerOf(o);
      if (!ref || ref.kind !== ownerKind || (ownerApiVersion && ref.apiVersion !== ownerApiVersion)) return;
      this.queue.add(o.metadata.namespace ? `${o.metadata.namespace}/${ref.name}` : ref.name);
    };
    informer.addEventHandler({
      onAdd: enqueueOwner,
      onUpdate: (old, o) => {
        enqueueOwner(o);
        // An owner reference that changed still concerns the former owner.
        if (controllerOf(old)?.uid !== controllerOf(o)?.uid) enqueueOwner(old);
      },
      onDelete: enqueueOwner,
    });
    return this;
  }

  /** Any other object: `map` says which requests an event on it concerns. */
  watches<T extends KubeObject>(informer: Informer<T>, map: (obj: T) => Request[]): this {
    const enqueue = (o: T) => {
      for (const r of map(o)) this.queue.add(requestKey(r));
    };
    informer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (old, o) => {
        enqueue(o);
        enqueue(old);
      },
      onDelete: enqueue,
    });
    return this;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const n = this.opts.concurrency ?? 1;
    this.opts.metrics?.maxConcurrentReconciles.set({ controller: this.name }, n);
    this.opts.metrics?.initController(this.name);
    this.opts.metrics?.trackUnfinishedWork(this.name, () => this.queue.unfinishedWork());
    this.log.info({ workers: n }, 'starting workers');
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
  }

  /**
   * Aborts the signal of every in-flight reconcile now (leadership lost: their writes must not
   * be sent). Workers keep running; stop() ends them.
   */
  cancel(reason: unknown = new Error(`controller ${this.name}: cancelled`)): void {
    for (const ac of this.inFlight) ac.abort(reason);
  }

  /** Stops handing out work and waits for in-flight reconciles to finish. */
  async stop(): Promise<void> {
    await this.queue.shutDownWithDrain();
    await Promise.all(this.workers);
    this.running = false;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const m = this.opts.metrics;
    const labels = { controller: this.name };
    m?.activeWorkers.inc(labels);
    const started = performance.now();
    const req = splitKey(key);
    const reconcileID = randomUUID();
    const ac = new AbortController();
    this.inFlight.add(ac);
    const log = this.log.child({ namespace: req.namespace, name: req.name, reconcileID });
    let result: 'success' | 'error' | 'requeue' | 'requeue_after' = 'success';
    try {
      const res = (await this.reconciler.reconcile(req, { signal: ac.signal, reconcileID, log })) ?? {};
      if (res.requeueAfterMs !== undefined && res.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfterMs);
        result = 'requeue_after';
      } else if (res.requeue) {
        this.queue.addRateLimited(key);
        result = 'requeue';
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      result = 'error';
      m?.reconcileErrors.inc(labels);
      if (ac.signal.aborted) log.info({ err }, 'reconcile cancelled');
      else log.error({ err, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with back-off');
      this.queue.addRateLimited(key);
    } finally {
      this.inFlight.delete(ac);
      const seconds = (performance.now() - started) / 1000;
      m?.reconcileTime.observe(labels, seconds); // workqueue_work_duration_seconds: the queue's done()
      m?.reconcileTotal.inc({ controller: this.name, result });
      m?.activeWorkers.dec(labels);
      this.queue.done(key);
    }
  }
}
