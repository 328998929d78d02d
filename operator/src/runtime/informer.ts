import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ApiError, isGone, type KubeRest } from './rest.js';
import { collectionPath, objectKey, type KubeObject, type ResourceType } from './resource.js';
import { Cache, type IndexFunc } from './cache.js';
import { InterruptibleSleep } from './interruptible-sleep.js';

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  /** undefined = all namespaces; otherwise one list+watch per namespace sharing one cache. */
  namespaces?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often (0 = never), like client-go's resync. */
  resyncPeriodMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  logger?: Logger;
  /** Page size of the initial and recovery lists. */
  pageSize?: number;
  /** Trims each object before it is cached (e.g. drop Secret values: only keys are needed). */
  transform?: (obj: T) => T;
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const BACKOFF_INITIAL_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/**
 * The server ends each watch after timeoutSeconds, drawn from [5, 10) min like client-go's
 * reflector (minWatchTimeout * (1 + rand)), so many informers do not re-watch in step.
 */
const WATCH_MIN_TIMEOUT_S = 300;
/**
 * client-node's Watch aborts a stream that brought no bytes for `requestTimeoutMs` (30 s by
 * default). A quiet watch brings none for minutes: the server's bookmarks come about once a
 * minute, and not at all without the watch cache. So the client allows the whole server-side
 * timeout plus this slack; it still ends a watch whose server went silent (a stalled connection).
 */
const WATCH_CLIENT_SLACK_S = 30;

/**
 * client-node 2.x has no option for the inactivity timeout (the field is private in its types),
 * so it is set on the instance; should an upgrade rename it, this throws instead of silently
 * going back to re-watching every 30 s.
 */
function setWatchInactivityTimeout(watcher: Watch, ms: number): void {
  const w = watcher as unknown as { requestTimeoutMs?: unknown };
  if (typeof w.requestTimeoutMs !== 'number') throw new Error('@kubernetes/client-node Watch has no requestTimeoutMs any more: review informer.ts');
  w.requestTimeoutMs = ms;
}

/** Server-side timeout of one watch, in seconds. */
export function watchTimeoutSeconds(random: () => number = Math.random): number {
  return WATCH_MIN_TIMEOUT_S + Math.floor(random() * WATCH_MIN_TIMEOUT_S);
}

class GoneError extends Error {}

/**
 * A shared informer: list + watch for one resource type, feeding a Store and event handlers.
 *
 * client-node's ListWatch stops for good on any watch error other than 410 (e.g. the API server
 * restarting refuses the connection), so this reflector runs its own loop: list (paged) to get a
 * resourceVersion, watch from it, resume from the last seen version when the watch drops, relist
 * on 410 Gone, and back off exponentially while the server is unreachable.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly store: Cache<T>;
  private readonly handlers: EventHandler<T>[] = [];
  private readonly reflectors: Reflector<T>[];
  private resyncTimer: NodeJS.Timeout | undefined;
  private started = false;
  /** Counters for tests and debugging. */
  readonly stats = { lists: 0, watches: 0, watchErrors: 0, relistsOnGone: 0, bookmarks: 0 };
  private loops: Promise<void>[] = [];

  constructor(
    readonly rest: KubeRest,
    readonly kubeConfig: KubeConfig,
    readonly resource: ResourceType,
    readonly options: InformerOptions<T> = {},
  ) {
    this.store = new Cache<T>(options.indexers ?? {});
    const scopes = resource.namespaced && options.namespaces?.length ? options.namespaces : [undefined];
    this.reflectors = scopes.map((ns) => new Reflector(this, ns));
  }

  /** Adds secondary indexes to the shared cache (a second controller's own lookups). */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) this.store.addIndexer(name, fn);
  }

  addEventHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
    // Late handlers see what is already cached, as with client-go.
    if (this.started) for (const o of this.store.list()) h.onAdd?.(o);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loops = this.reflectors.map((r) => r.run());
    const period = this.options.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.store.list()) this.emit('update', o, o);
      }, period);
      this.resyncTimer.unref();
    }
  }

  hasSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    while (!this.hasSynced()) {
      if (signal?.aborted) throw new Error(`${this.resource.kind} informer: stopped before sync`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): void {
    this.started = false;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const r of this.reflectors) r.stop();
  }

  /** Resolves once every list/watch loop has ended after stop() (nothing more reaches the cache). */
  async whenStopped(): Promise<void> {
    await Promise.all(this.loops);
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  /** @internal */
  emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.onAdd?.(a);
        else if (kind === 'update') h.onUpdate?.(a, b!);
        else h.onDelete?.(a);
      } catch (err) {
        this.logger?.error({ err, kind: this.resource.kind }, 'informer event handler threw');
      }
    }
  }

  /** @internal apply a list result for one scope: replace what the scope holds. */
  replace(namespace: string | undefined, items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(obj);
    }
    const scoped = namespace === undefined ? this.store.list() : this.store.list(namespace);
    for (const obj of scoped) {
      const key = objectKey(obj);
      if (!seen.has(key)) {
        this.store.remove(key);
        this.emit('delete', obj);
      }
    }
  }

  /** @internal */
  upsert(obj: T): void {
    const old = this.store.upsert(obj);
    if (!old) this.emit('add', obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', old, obj);
  }

  /** @internal */
  delete(obj: T): void {
    const old = this.store.remove(objectKey(obj));
    this.emit('delete', old ?? obj);
  }
}

/** One list+watch stream (one namespace or all). */
class Reflector<T extends KubeObject> {
  synced = false;
  private stopped = false;
  private resourceVersion = '';
  private abort: AbortController | undefined;
  /** Cancels an in-flight LIST page on stop(). */
  private readonly listAbort = new AbortController();
  /** Ends the current watch now (aborting the request alone may only surface at the inactivity timeout). */
  private endWatch: (() => void) | undefined;
  private backoffMs = BACKOFF_INITIAL_MS;
  private readonly sleeper = new InterruptibleSleep();

  constructor(
    private readonly informer: Informer<T>,
    private readonly namespace: string | undefined,
  ) {}

  private get path(): string {
    return collectionPath(this.informer.resource, this.namespace);
  }

  private get selectors(): Record<string, string | undefined> {
    return { labelSelector: this.informer.options.labelSelector, fieldSelector: this.informer.options.fieldSelector };
  }

  stop(): void {
    this.stopped = true;
    this.listAbort.abort();
    this.abort?.abort();
    this.endWatch?.();
    this.sleeper.wake();
  }

  async run(): Promise<void> {
    const log = this.informer.logger?.child({ resource: this.informer.resource.plural, namespace: this.namespace ?? '*' });
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.list();
        if (this.stopped) break;
        await this.watch();
        // A watch the server ended (its timeoutSeconds) resumes from the last version seen
        // (an event's or a bookmark's): no LIST unless that version is gone (410).
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError || isGone(err)) {
          this.informer.stats.relistsOnGone++;
          log?.info('resource version expired (410 Gone); relisting');
          this.resourceVersion = '';
          continue;
        }
        this.informer.stats.watchErrors++;
        log?.warn({ err, retryInMs: this.backoffMs }, 'list/watch failed; retrying');
        await this.sleeper.sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      }
    }
  }

  private async list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.informer.rest.get<ListResponse<T>>(
        this.path,
        {
          ...this.selectors,
          limit: this.informer.options.pageSize ?? 500,
          continue: cont,
        },
        { signal: this.listAbort.signal },
      );
      const { apiVersion, kind } = this.informer.resource;
      const transform = this.informer.options.transform ?? ((o: T) => o);
      for (const item of page.items ?? []) items.push(transform({ ...item, apiVersion, kind }));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont && !this.stopped);
    // A list cut short by stop() is only part of the collection: applying it as a full replace
    // would delete every object on the pages not read.
    if (this.stopped) return;
    this.informer.stats.lists++;
    this.informer.replace(this.namespace, items);
    this.resourceVersion = rv;
    this.synced = true;
    this.backoffMs = BACKOFF_INITIAL_MS;
  }

  private watch(): Promise<void> {
    const watcher = new Watch(this.informer.kubeConfig);
    const timeoutSeconds = watchTimeoutSeconds();
    setWatchInactivityTimeout(watcher, (timeoutSeconds + WATCH_CLIENT_SLACK_S) * 1000);
    this.informer.stats.watches++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        this.abort?.abort();
        if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        else resolve();
      };
      this.endWatch = () => finish();
      const onEvent = (type: string, obj: T & { code?: number; message?: string; reason?: string }) => {
        if (type === 'ERROR') {
          if (obj.code === 410) finish(new GoneError(obj.message ?? 'Gone'));
          else finish(new ApiError(obj.code ?? 500, obj.reason ?? 'WatchError', `watch ${this.path}: ${obj.message ?? 'error event'}`, 'GET', this.path));
          return;
        }
        if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        this.backoffMs = BACKOFF_INITIAL_MS;
        if (type === 'BOOKMARK') {
          // Only metadata.resourceVersion: a quiet watch resumes from a current version, not one
          // the server may have compacted away meanwhile (which would cost a full relist).
          this.informer.stats.bookmarks++;
          return;
        }
        const transform = this.informer.options.transform ?? ((o: T) => o);
        const typed = transform({ ...obj, apiVersion: this.informer.resource.apiVersion, kind: this.informer.resource.kind });
        if (type === 'DELETED') this.informer.delete(typed);
        else this.informer.upsert(typed);
      };
      const done = (err: unknown) => {
        const e = err as { statusCode?: number; name?: string } | null;
        if (e && e.statusCode === 410) finish(new GoneError('Gone'));
        else if (e && e.name === 'TimeoutError')
          finish(); // the server stayed silent past its own timeout: resume on a fresh connection
        else if (e && e.name === 'AbortError' && this.stopped) finish();
        else finish(e ?? undefined);
      };
      watcher
        .watch(
          this.path,
          {
            ...this.selectors,
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          onEvent,
          done,
        )
        .then((ctrl) => {
          this.abort = ctrl;
          if (this.stopped || settled) ctrl.abort();
        })
        .catch(finish);
    });
  }
}
