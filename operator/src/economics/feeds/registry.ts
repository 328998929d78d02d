/**
 * Feed values shared by every fleet of the operator: one fetch per source (HTTP URL, or litecoind
 * URL + login + method) per refresh interval however many fleets read it. Reads never block a
 * reconcile: they return the last good value (while younger than the max age) and start a
 * background refresh when one is due; when it completes, the fleets that read the source are told
 * (onUpdate) so they are evaluated again.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { FeedSource } from '../../api/v1alpha1/economics.js';
import { resolveJsonFieldPath } from '../../api/v1alpha1/fieldpath.js';
import { FeedFetchError, fetchJson, type HttpFetchOptions } from './http.js';
import { rpcBlockReward, rpcDifficulty, type RpcCredentials } from './litecoind.js';
import { checkFeedValue, redactUrl, type FeedKind } from './value.js';

export interface FeedRegistryOptions {
  http?: Partial<HttpFetchOptions>;
  /** extra attempts after a retryable failure (network, timeout, 5xx) */
  retries?: number;
  backoffMs?: number;
  /** Secret data (decoded) for litecoind logins; undefined when the Secret does not exist */
  readSecret: (namespace: string, name: string) => Promise<Record<string, string> | undefined>;
  metricsRegistry?: Registry;
  logger?: Logger;
  now?: () => number;
}

export type FeedReading =
  | { ok: true; value: number; at: number; /** the latest attempt failed; the value is older but within max age */ lastError?: string }
  | { ok: false; error: string };

export interface FeedRequest {
  namespace: string;
  kind: FeedKind;
  source: FeedSource;
  maxAgeMs: number;
  /** fleet key (namespace/name) told when the source has news */
  subscriber: string;
}

interface Field {
  extract: (doc: unknown) => number;
  good?: { value: number; at: number };
  error?: string;
}

interface Entry {
  label: string;
  fetchDoc: () => Promise<unknown>;
  intervalMs: number;
  lastAttemptAt?: number;
  inflight?: Promise<void>;
  doc?: { value: unknown; at: number };
  lastError?: string;
  lastOk?: boolean;
  fields: Map<string, Field>;
  subscribers: Set<string>;
  lastReadAt: number;
}

const IDLE_EVICT_MS = 3600_000;

export class FeedRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: Array<(subscribers: string[]) => void> = [];
  private readonly http: HttpFetchOptions;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: FeedRegistryOptions) {
    this.http = { timeoutMs: opts.http?.timeoutMs ?? 5000, maxBytes: opts.http?.maxBytes ?? 1024 * 1024 };
    this.now = opts.now ?? Date.now;
    if (opts.metricsRegistry) this.registerMetrics(opts.metricsRegistry);
  }

  onUpdate(fn: (subscribers: string[]) => void): void {
    this.listeners.push(fn);
  }

  /** Sources fetched so far (tests: one fetch per URL per interval). */
  readonly fetches = new Map<string, number>();

  read(req: FeedRequest): FeedReading {
    const s = req.source;
    if (s.value !== undefined) {
      try {
        return { ok: true, value: checkFeedValue(req.kind, s.value, 'static value'), at: this.now() };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    }
    const now = this.now();
    const { key, entry, field } = this.entryFor(req);
    entry.lastReadAt = now;
    entry.subscribers.add(req.subscriber);
    if (!entry.inflight && (entry.lastAttemptAt === undefined || now - entry.lastAttemptAt >= entry.intervalMs)) this.refresh(key, entry);
    this.evictIdle(now);
    if (field.good && now - field.good.at <= req.maxAgeMs) {
      const lastError = field.error ?? (entry.lastOk === false ? entry.lastError : undefined);
      return lastError ? { ok: true, value: field.good.value, at: field.good.at, lastError } : { ok: true, value: field.good.value, at: field.good.at };
    }
    const why = field.error ?? entry.lastError ?? (entry.inflight ? `${entry.label}: first fetch in progress` : `${entry.label}: no value yet`);
    // no running age in the text: it ends up in status, which must not change on every read
    const age = field.good
      ? `; last good value from ${new Date(field.good.at).toISOString()} is older than the max age ${Math.round(req.maxAgeMs / 1000)}s`
      : '';
    return { ok: false, error: why + age };
  }

  /** Waits for the refreshes in flight (tests and shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.inflight ?? Promise.resolve()));
  }

  close(): void {
    this.closed = true;
  }

  private entryFor(req: FeedRequest): { key: string; entry: Entry; fieldKey: string; field: Field } {
    const s = req.source;
    let key: string;
    let fieldKey: string;
    let make: () => Pick<Entry, 'label' | 'fetchDoc'>;
    let extract: (doc: unknown) => number;
    let intervalMs: number;
    if (s.http) {
      const http = s.http;
      key = `http ${http.url}`;
      fieldKey = `${req.kind} ${http.fieldPath}`;
      intervalMs = http.refreshSeconds * 1000;
      make = () => ({ label: redactUrl(http.url), fetchDoc: () => fetchJson(http.url, this.http) });
      extract = (doc) => {
        let v: unknown;
        try {
          v = resolveJsonFieldPath(doc, http.fieldPath);
        } catch (err) {
          throw new Error(`${redactUrl(http.url)}: ${(err as Error).message}`, { cause: err });
        }
        return checkFeedValue(req.kind, v, `${redactUrl(http.url)} fieldPath ${JSON.stringify(http.fieldPath)}`);
      };
    } else if (s.litecoind) {
      const rpc = s.litecoind;
      const ref = rpc.credentialsSecretRef;
      const method = req.kind === 'difficulty' ? 'getmininginfo' : 'getblocktemplate';
      key = `rpc ${req.namespace}/${ref.name}/${ref.userKey}/${ref.passwordKey} ${rpc.url} ${req.kind}`;
      fieldKey = req.kind;
      intervalMs = rpc.refreshSeconds * 1000;
      const label = `${redactUrl(rpc.url)} ${method}`;
      make = () => ({
        label,
        fetchDoc: async () => {
          const creds = await this.credentials(req.namespace, ref);
          return req.kind === 'difficulty' ? rpcDifficulty(rpc.url, creds, this.http) : rpcBlockReward(rpc.url, creds, this.http);
        },
      });
      extract = (doc) => checkFeedValue(req.kind, doc, `${label} ${req.kind === 'difficulty' ? 'difficulty' : 'coinbasevalue'}`);
      if (req.kind === 'price') throw new Error('a litecoind node cannot report a price');
    } else {
      throw new Error('feed sets none of value, http, litecoind');
    }
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { ...make(), intervalMs, fields: new Map(), subscribers: new Set(), lastReadAt: this.now() };
      this.entries.set(key, entry);
    }
    // the most eager reader sets the pace; still one fetch per interval for all
    entry.intervalMs = Math.min(entry.intervalMs, intervalMs);
    let field = entry.fields.get(fieldKey);
    if (!field) {
      field = { extract };
      entry.fields.set(fieldKey, field);
      if (entry.doc) applyDoc(field, entry.doc);
    }
    return { key, entry, fieldKey, field };
  }

  private async credentials(namespace: string, ref: { name: string; userKey: string; passwordKey: string }): Promise<RpcCredentials> {
    const data = await this.opts.readSecret(namespace, ref.name);
    if (!data) throw new FeedFetchError(`Secret ${namespace}/${ref.name} (litecoind credentials) not found`, false);
    const username = data[ref.userKey];
    const password = data[ref.passwordKey];
    if (username === undefined || password === undefined) {
      throw new FeedFetchError(`Secret ${namespace}/${ref.name} has no key ${username === undefined ? ref.userKey : ref.passwordKey}`, false);
    }
    return { username, password };
  }

  private refresh(key: string, entry: Entry): void {
    entry.lastAttemptAt = this.now();
    entry.inflight = (async () => {
      const retries = this.opts.retries ?? 2;
      const backoff = this.opts.backoffMs ?? 500;
      for (let attempt = 0; ; attempt++) {
        this.fetches.set(key, (this.fetches.get(key) ?? 0) + 1);
        try {
          const doc = await entry.fetchDoc();
          entry.doc = { value: doc, at: this.now() };
          entry.lastOk = true;
          entry.lastError = undefined;
          for (const f of entry.fields.values()) applyDoc(f, entry.doc);
          return;
        } catch (err) {
          const e = err as Error;
          entry.lastOk = false;
          entry.lastError = e.message;
          const retryable = !(e instanceof FeedFetchError) || e.retryable;
          if (!retryable || attempt >= retries || this.closed) {
            this.opts.logger?.warn({ feed: entry.label, err: e, attempts: attempt + 1 }, 'economics feed fetch failed');
            return;
          }
          await new Promise((r) => setTimeout(r, backoff * 2 ** attempt * (0.5 + Math.random() / 2)));
        }
      }
    })().finally(() => {
      entry.inflight = undefined;
      if (this.closed) return;
      const subs = [...entry.subscribers];
      for (const l of this.listeners) l(subs);
    });
  }

  private evictIdle(now: number): void {
    for (const [key, e] of this.entries) if (!e.inflight && now - e.lastReadAt > IDLE_EVICT_MS) this.entries.delete(key);
  }

  private registerMetrics(registry: Registry): void {
    const entries = () => [...this.entries.values()];
    new Gauge({
      name: 'minefleet_economics_feed_up',
      help: 'Whether the last fetch of an economics feed source succeeded and every field read from it is valid (1) or not (0).',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of entries()) this.set({ source: e.label }, e.lastOk && [...e.fields.values()].every((f) => !f.error) ? 1 : 0);
      },
    });
    const now = this.now;
    new Gauge({
      name: 'minefleet_economics_feed_age_seconds',
      help: 'Age of the last good value of an economics feed source, in seconds.',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of entries()) {
          // the oldest of the fields' last good values: a document that parses but lacks a field does not make it fresh
          const ats = [...e.fields.values()].map((f) => f.good?.at).filter((a): a is number => a !== undefined);
          if (ats.length) this.set({ source: e.label }, (now() - Math.min(...ats)) / 1000);
        }
      },
    });
  }
}

function applyDoc(f: Field, doc: { value: unknown; at: number }): void {
  try {
    f.good = { value: f.extract(doc.value), at: doc.at };
    f.error = undefined;
  } catch (err) {
    f.error = (err as Error).message;
  }
}
