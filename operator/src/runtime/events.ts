import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeRest } from './rest.js';
import { collectionPath, Events, objectPath, type KubeObject } from './resource.js';

export type EventType = 'Normal' | 'Warning';

interface Pending {
  obj: KubeObject;
  type: EventType;
  reason: string;
  message: string;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_PENDING = 1000;

/**
 * Records core/v1 Events (what `kubectl describe` shows) without blocking reconciles: events go
 * to a bounded buffer drained by one sender, and a repeat of the same (object, type, reason,
 * message) within 10 minutes bumps `count` instead of creating a new Event, like client-go's
 * correlator. Callers must never pass secret values in messages.
 */
export class EventRecorder {
  private readonly pending: Pending[] = [];
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; first: string; at: number }>();
  private sending = false;
  private idle: Array<() => void> = [];
  dropped = 0;

  /**
   * @param signal cancels sending (e.g. the manager's leadership signal): once it fires, in-flight
   * requests are cut and what is still buffered is dropped, so a former leader records nothing.
   */
  constructor(
    private readonly rest: KubeRest,
    private readonly component: string,
    private readonly log?: Logger,
    private readonly signal?: AbortSignal,
  ) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push({ obj, type, reason, message: message.slice(0, 1024) });
    if (!this.sending) void this.drain();
  }

  /** Resolves when every buffered event has been sent (tests, shutdown). */
  flush(): Promise<void> {
    if (!this.sending && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.pending.length > 0) {
      if (this.signal?.aborted) {
        this.dropped += this.pending.length;
        this.pending.length = 0;
        break;
      }
      const e = this.pending.shift()!;
      try {
        await this.send(e);
      } catch (err) {
        if (!this.signal?.aborted)
          this.log?.warn({ err, namespace: e.obj.metadata.namespace, name: e.obj.metadata.name, kind: e.obj.kind, reason: e.reason }, 'could not record event');
      }
    }
    this.sending = false;
    for (const r of this.idle.splice(0)) r();
  }

  private async send(e: Pending): Promise<void> {
    const namespace = e.obj.metadata.namespace ?? 'default';
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = `${e.obj.metadata.uid}|${e.type}|${e.reason}|${e.message}`;
    const seen = this.recent.get(key);
    if (seen && Date.now() - seen.at < AGGREGATE_WINDOW_MS) {
      seen.count++;
      seen.at = Date.now();
      try {
        await this.rest.mergePatch(objectPath(Events, seen.namespace, seen.name), { count: seen.count, lastTimestamp: now }, { signal: this.signal });
        return;
      } catch (err) {
        if (this.signal?.aborted) throw err;
        this.recent.delete(key); // expired or deleted: create a fresh one below
      }
    }
    if (this.recent.size > 5000) {
      for (const [k, v] of this.recent) if (Date.now() - v.at > AGGREGATE_WINDOW_MS) this.recent.delete(k);
    }
    const name = `${e.obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    await this.rest.create(
      collectionPath(Events, namespace),
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: e.obj.apiVersion,
          kind: e.obj.kind,
          name: e.obj.metadata.name,
          namespace,
          uid: e.obj.metadata.uid,
          resourceVersion: e.obj.metadata.resourceVersion,
        },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: this.component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
      { signal: this.signal },
    );
    this.recent.set(key, { name, namespace, count: 1, first: now, at: Date.now() });
  }
}
