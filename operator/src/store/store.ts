import { randomUUID } from 'node:crypto';
import type { Db, MongoClient } from 'mongodb';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WriteBuffer } from './buffer.js';
import { collectionNames, type CollectionNames } from './collections.js';
import { parseStoreConfig, redactUri, type StoreConfig, type StoreConfigInput } from './config.js';
import { createClient, errorText, isUnsupportedFeatureError, StoreUnavailableError, StoreUriError } from './connection.js';
import { detectFeatures, type FeatureReport } from './features.js';
import { StoreMetrics } from './metrics.js';
import { migrateUp, migrationStatus, probesAreTimeSeries, type MigrationStatus } from './migrations/index.js';
import {
  fleetHistoryByAggregation,
  fleetHistoryInClient,
  listEvents,
  shareStats,
  type EventsPage,
  type EventsQuery,
  type FleetHistory,
  type FleetHistoryQuery,
  type ShareStats,
  type ShareStatsQuery,
} from './queries.js';
import { COLLECTION_KINDS, validateDocuments, type EventInput, type EventResolution, type PendingItem } from './schemas.js';
import { TransientWriteError, writeBatch, type WriteTarget } from './writer.js';

export interface StoreDeps {
  registry: Registry;
  logger?: Logger;
}

export interface StoreHealth {
  /** Connected, set up, and the last contact with the server succeeded. */
  available: boolean;
  /** Why not, with the URI redacted. */
  lastError?: string;
  lastSuccessAt?: Date;
  buffered: { memory: number; spill: number };
  /** Features the server lacks and what the store does instead (known once connected). */
  fallbacks?: FeatureReport['fallbacks'];
  server?: FeatureReport['server'];
}

interface Connected {
  client: MongoClient;
  db: Db;
  target: WriteTarget;
  features: FeatureReport;
}

/**
 * The operator's MongoDB history. Writes are validated, queued and written in batches by a
 * background loop that survives outages (memory buffer, then spill file, replayed in order).
 * connect() never fails because the server is down or the URI is unusable: the store reports
 * itself unavailable (health(), `available`) and keeps trying (or, for a URI the driver refuses,
 * keeps the writes on disk until it is fixed).
 */
export class HistoryStore {
  readonly config: StoreConfig;
  readonly names: CollectionNames;
  readonly metrics: StoreMetrics;
  private readonly logger: Logger;
  private readonly buffer: WriteBuffer;
  private conn: Connected | undefined;
  private lastError: string | undefined;
  private lastSuccessAt: Date | undefined;
  private healthy = false;
  private permanentError: string | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private drainedWaiters: Array<() => void> = [];
  private lastSweep = 0;
  private backingOff = false;
  private lastWriteAt = 0;

  private constructor(config: StoreConfig, deps: StoreDeps) {
    this.config = config;
    this.names = collectionNames(config.collectionPrefix);
    this.logger = (deps.logger ?? pino({ level: 'silent' })).child({ component: 'history-store' });
    this.metrics = new StoreMetrics(deps.registry);
    const n = this.names;
    this.metrics.initialize([n.samples, n.rollups, n.shares, n.events, n.probes]);
    this.metrics.available.set(0);
    this.buffer = new WriteBuffer(config.buffer, this.metrics, this.logger);
  }

  /**
   * Validates the config (throws StoreConfigError naming the field), opens the spill directory
   * (replaying a leftover spill file), tries the server once and starts the write loop.
   */
  static async connect(input: StoreConfigInput, deps: StoreDeps): Promise<HistoryStore> {
    const store = new HistoryStore(parseStoreConfig(input), deps);
    await store.buffer.open();
    await store.trySetup();
    store.loop = store.run();
    return store;
  }

  get available(): boolean {
    return this.healthy && this.conn !== undefined && !this.closed;
  }

  /** Documents waiting to be written (cheap: no server round trip, unlike health()). */
  bufferedCounts(): { memory: number; spill: number } {
    return this.buffer.counts();
  }

  /** The server's features and fallbacks, once connected. */
  get features(): FeatureReport | undefined {
    return this.conn?.features;
  }

  // ---------- writes ----------

  async writeSamples(docs: readonly unknown[]): Promise<void> {
    return this.enqueue(validateDocuments('samples', docs));
  }

  async writeRollups(docs: readonly unknown[]): Promise<void> {
    return this.enqueue(validateDocuments('rollups', docs));
  }

  /** Honours `shares.record`: all shares, only rejected/stale ones, or none. */
  async writeShares(docs: readonly unknown[]): Promise<void> {
    const items = validateDocuments('shares', docs);
    const mode = this.config.shares.record;
    return this.enqueue(mode === 'all' ? items : mode === 'none' ? [] : items.filter((i) => i.doc.result !== 'accepted'));
  }

  async writeProbes(docs: readonly unknown[]): Promise<void> {
    return this.enqueue(validateDocuments('probes', docs));
  }

  /** Appends an event; returns its eventId (generated when not given, so retries keep it). */
  async recordEvent(event: EventInput): Promise<string> {
    const withId = { ...event, eventId: event.eventId ?? randomUUID() };
    await this.enqueue(validateDocuments('events', [withId]));
    return withId.eventId;
  }

  /** Marks an event resolved (once; later resolutions of the same event are ignored). */
  async resolveEvent(eventId: string, resolution: EventResolution): Promise<void> {
    return this.enqueue(validateDocuments('eventResolutions', [{ eventId, resolution }]));
  }

  private async enqueue(items: PendingItem[]): Promise<void> {
    if (this.closed) throw new Error('history store is closed');
    if (items.length === 0) return;
    await this.buffer.push(items);
    // During a retry back-off new writes do not cut the pause short.
    if (this.buffer.pending >= this.config.writer.batchSize && !this.backingOff) this.wakeUp?.();
  }

  /** Waits until everything queued so far is written; false when the timeout passed first. */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    if (this.buffer.pending === 0) return true;
    let done: () => void = () => undefined;
    const drained = new Promise<void>((r) => {
      done = r;
      this.drainedWaiters.push(r);
    });
    this.wakeUp?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), timeoutMs);
    });
    const ok = await Promise.race([drained.then(() => true as const), timedOut]);
    clearTimeout(timer);
    this.drainedWaiters = this.drainedWaiters.filter((w) => w !== done);
    return ok;
  }

  // ---------- reads ----------

  private requireDb(): Connected {
    if (!this.conn) {
      throw new StoreUnavailableError(`history store is unavailable: ${this.lastError ?? 'not connected yet'}`);
    }
    return this.conn;
  }

  /** A fleet's rollups over [from, to) in `points` buckets (server aggregation, or client fallback). */
  async queryFleetHistory(q: FleetHistoryQuery): Promise<FleetHistory> {
    const c = this.requireDb();
    if (c.features.features.aggregationExpressions) {
      try {
        return await fleetHistoryByAggregation(c.db, this.names, q);
      } catch (err) {
        if (!isUnsupportedFeatureError(err)) throw err;
        c.features.features.aggregationExpressions = false;
        c.features.fallbacks.push({ feature: 'aggregationExpressions', fallback: 'client-side bucketing', serverSaid: errorText(err) });
        this.logger.warn({ err }, 'history store: history aggregation unsupported; bucketing in the client from now on');
      }
    }
    return fleetHistoryInClient(c.db, this.names, q);
  }

  async queryShareStats(q: ShareStatsQuery): Promise<ShareStats> {
    return shareStats(this.requireDb().db, this.names, q);
  }

  async queryEvents(q: EventsQuery): Promise<EventsPage> {
    return listEvents(this.requireDb().db, this.names, q);
  }

  /** The connected database, for tools and tests that inspect what was written. */
  database(): Db {
    return this.requireDb().db;
  }

  async migrationStatus(): Promise<MigrationStatus[]> {
    return migrationStatus(this.requireDb().db, this.config.collectionPrefix);
  }

  // ---------- health ----------

  /** Pings the server (when connected) and reports state; never throws. */
  async health(): Promise<StoreHealth> {
    if (this.conn && !this.closed) await this.ping(this.conn);
    const h: StoreHealth = { available: this.available, buffered: this.buffer.counts() };
    if (this.lastError !== undefined && !this.available) h.lastError = this.lastError;
    if (this.lastSuccessAt) h.lastSuccessAt = this.lastSuccessAt;
    if (this.conn) {
      h.fallbacks = this.conn.features.fallbacks;
      h.server = this.conn.features.server;
    }
    return h;
  }

  /** One round trip; records the outcome (available or not) and never throws. */
  private async ping(conn: Connected): Promise<boolean> {
    try {
      await conn.db.command({ ping: 1 });
      this.markSuccess();
      return true;
    } catch (err) {
      if (this.closed) return false;
      this.markFailure(`MongoDB at ${redactUri(this.config.uri)} is unreachable: ${errorText(err)}`, err);
      return false;
    }
  }

  private markSuccess(): void {
    if (!this.healthy) this.logger.info({ uri: redactUri(this.config.uri) }, 'history store: MongoDB available');
    this.healthy = true;
    this.lastSuccessAt = new Date();
    this.metrics.available.set(1);
  }

  /** `message` is the human summary kept for /readyz; `err` is logged as the error object. */
  private markFailure(message: string, err: unknown): void {
    if (this.healthy || this.lastError !== message)
      this.logger.error({ err, uri: redactUri(this.config.uri), buffered: this.buffer.counts() }, 'history store: MongoDB unavailable; buffering writes');
    this.healthy = false;
    this.lastError = message;
    this.metrics.available.set(0);
  }

  // ---------- background ----------

  /** Connect, detect features, migrate. Returns false (and records why) when it could not. */
  private async trySetup(): Promise<boolean> {
    if (this.permanentError) return false;
    let client: MongoClient;
    try {
      client = createClient(this.config);
    } catch (err) {
      if (err instanceof StoreUriError) {
        this.permanentError = err.message;
        this.markFailure(err.message, err);
        return false;
      }
      throw err;
    }
    try {
      await client.connect();
      const db = client.db(this.config.dbName);
      await db.command({ ping: 1 });
      const features = await detectFeatures(db, this.config.collectionPrefix, this.logger);
      if (this.config.runMigrations) {
        const applied = await migrateUp({ db, config: this.config, features: features.features });
        for (const m of applied) this.logger.info({ version: m.version, migration: m.name, notes: m.notes }, 'history store: migration applied');
      }
      const target: WriteTarget = { db, names: this.names, config: this.config, probesTimeSeries: await probesAreTimeSeries(db, this.names) };
      this.conn = { client, db, target, features };
      this.markSuccess();
      return true;
    } catch (err) {
      await client.close(true).catch(() => undefined);
      this.markFailure(`MongoDB at ${redactUri(this.config.uri)} is unreachable: ${errorText(err)}`, err);
      return false;
    }
  }

  private waitForWork(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const { batchSize, flushIntervalMs, retryInitialMs, retryMaxMs } = this.config.writer;
    let backoff = retryInitialMs;
    const failed = async () => {
      this.backingOff = true;
      await this.waitForWork(backoff);
      this.backingOff = false;
      backoff = Math.min(retryMaxMs, backoff * 2);
    };
    while (!this.closed) {
      try {
        await this.step(batchSize, flushIntervalMs, failed, () => (backoff = retryInitialMs));
      } catch (err) {
        // Not a server outage (those are handled in step): e.g. the spill file. Log, pause, go on.
        this.logger.error({ err }, 'history store: write loop error');
        await failed();
      }
    }
  }

  private async step(batchSize: number, flushIntervalMs: number, failed: () => Promise<void>, succeeded: () => void): Promise<void> {
    if (!this.conn) {
      if (this.permanentError) {
        await this.waitForWork(60_000);
        return;
      }
      if (!(await this.trySetup())) {
        await failed();
        return;
      }
    }
    const conn = this.conn!;
    await this.maybeSweep(conn);
    if (this.buffer.pending === 0) {
      for (const w of this.drainedWaiters.splice(0)) w();
      // Idle: no write tells us whether the server is still there, so ask it. Unhealthy, ping at
      // the retry back-off; healthy, every pingIntervalMs since the last successful contact.
      if (!this.healthy || Date.now() - (this.lastSuccessAt?.getTime() ?? 0) >= this.config.pingIntervalMs) {
        if (!(await this.ping(conn))) {
          await failed();
          return;
        }
        succeeded();
      }
      await this.waitForWork(Math.min(flushIntervalMs, this.config.pingIntervalMs));
      return;
    }
    const sinceLastWrite = Date.now() - this.lastWriteAt;
    if (this.buffer.pending < batchSize && this.drainedWaiters.length === 0 && !this.buffer.spilling && sinceLastWrite < flushIntervalMs) {
      await this.waitForWork(flushIntervalMs - sinceLastWrite); // let a batch fill up
      if (this.closed) return;
    }
    const batch = await this.buffer.nextBatch(batchSize);
    if (!batch) return;
    try {
      this.lastWriteAt = Date.now();
      await writeBatch(batch.items, conn.target, this.metrics, this.logger);
      await this.buffer.ack(batch);
      this.markSuccess();
      succeeded();
    } catch (err) {
      if (!(err instanceof TransientWriteError)) throw err;
      this.markFailure(err.message, err);
      await failed();
    }
  }

  /** Servers without TTL indexes: delete expired documents ourselves. */
  private async maybeSweep(conn: Connected): Promise<void> {
    if (conn.features.features.ttlIndexes) return;
    if (Date.now() - this.lastSweep < this.config.retentionSweepIntervalMs) return;
    this.lastSweep = Date.now();
    await this.sweepExpired().catch((err: unknown) => this.logger.warn({ err }, 'history store: retention sweep failed'));
  }

  /** Deletes documents whose expireAt has passed; returns how many per collection. */
  async sweepExpired(now = new Date()): Promise<Record<string, number>> {
    const c = this.requireDb();
    const out: Record<string, number> = {};
    for (const kind of COLLECTION_KINDS) {
      if (kind === 'probes' && c.target.probesTimeSeries) continue;
      const r = await c.db.collection(this.names[kind]).deleteMany({ expireAt: { $lte: now } });
      out[kind] = r.deletedCount;
      if (r.deletedCount > 0) this.metrics.sweptDocuments.inc({ collection: this.names[kind] }, r.deletedCount);
    }
    return out;
  }

  /**
   * Stops the loop after trying to write what is pending (up to flushTimeoutMs when the server is
   * available); whatever is left is persisted to the spill file for the next process.
   */
  async close(opts: { flushTimeoutMs?: number } = {}): Promise<{ persisted: number }> {
    if (this.closed) return { persisted: 0 };
    if (this.available && this.buffer.pending > 0 && (opts.flushTimeoutMs ?? 10_000) > 0) await this.flush(opts.flushTimeoutMs ?? 10_000);
    this.closed = true;
    this.wakeUp?.();
    await this.loop?.catch((err: unknown) => this.logger.error({ err }, 'history store: write loop failed'));
    const persisted = await this.buffer.persistAndClose();
    if (persisted > 0)
      this.logger.warn(
        { documents: persisted, spillFile: this.buffer.spillPath },
        'history store: closed with unwritten documents on disk; the next start replays them',
      );
    await this.conn?.client.close().catch(() => undefined);
    this.conn = undefined;
    this.healthy = false;
    this.metrics.available.set(0);
    return { persisted };
  }
}
