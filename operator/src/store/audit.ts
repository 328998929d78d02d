import type { Logger } from 'pino';
import type { EVENT_TYPES, EventScope } from './schemas.js';

/**
 * The audit trail as controllers see it. A controller calls `record` for every decision worth a
 * line in the history (pool switch, probe state change, suspension/resumption, missing reference,
 * leadership change) and `probe` for every pool health check. Both are fire-and-forget: they never
 * throw and never wait on MongoDB (the store buffers, spills and replays), so a reconcile is never
 * slowed or failed by the history. Wire `NOOP_AUDIT_SINK` when there is no store.
 */
export interface AuditSink {
  record(event: AuditRecord): void;
  probe(result: ProbeRecord): void;
  /**
   * Waits (bounded) until what was recorded so far is written. For the few records whose loss a
   * crash must not cause: a pool switch is flushed before the status that ends it is written, so
   * a leader killed in between leaves the status behind and its successor records it again under
   * the same eventId. False when the timeout passed first (the record stays buffered).
   */
  flush?(timeoutMs: number): Promise<boolean>;
}

export type AuditEventType = (typeof EVENT_TYPES)[number];

export interface AuditRecord {
  type: AuditEventType;
  /** For an operator-scope record, the namespace of the operator's lease. */
  namespace: string;
  /** Implied by fleet/pool; 'operator' for records about the operator itself (leadership). */
  scope?: EventScope;
  fleet?: string;
  pool?: string;
  /** CamelCase, like a Kubernetes Event reason: 'PoolSwitched', 'ProbeFailed', 'Unprofitable'. */
  reason: string;
  message: string;
  severity?: 'info' | 'warning' | 'critical';
  details?: Record<string, string | number | boolean | null>;
  time?: Date;
  /**
   * A deterministic id makes the record idempotent: a reconcile that is retried after a failed
   * status write records the same decision again under the same id, and the store keeps one.
   * Use e.g. `${uid}:${what}:${revision or transition time}`. Generated when absent.
   */
  eventId?: string;
}

export interface ProbeRecord {
  namespace: string;
  pool: string;
  time: Date;
  ok: boolean;
  /** Time to the first mining.notify (successful probes). */
  latencyMs?: number;
  /** TCP connect (plain) or TLS handshake done (stratum+ssl), for every probe that got connected. */
  connectMs?: number;
  circuit?: 'Closed' | 'Open' | 'HalfOpen';
  error?: string;
}

/** The store side of the sink (HistoryStore implements it); kept narrow so tests can pass a real store. */
export interface AuditStore {
  recordEvent(event: {
    eventId?: string;
    namespace: string;
    scope?: EventScope;
    fleet?: string;
    pool?: string;
    type: AuditEventType;
    severity: 'info' | 'warning' | 'critical';
    reason: string;
    message: string;
    time: Date;
    details?: Record<string, string | number | boolean | null>;
    actor?: string;
  }): Promise<string>;
  writeProbes(docs: readonly unknown[]): Promise<void>;
  flush?(timeoutMs?: number): Promise<boolean>;
}

export const NOOP_AUDIT_SINK: AuditSink = Object.freeze({
  record: () => undefined,
  probe: () => undefined,
});

// user:password@ in any URL-like text (stratum+tcp://, mongodb://, http://).
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;

/** Removes credentials that a caller's message or detail might carry by accident. */
export function redactText(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

function redactDetails(details: AuditRecord['details']): AuditRecord['details'] {
  if (!details) return undefined;
  const out: NonNullable<AuditRecord['details']> = {};
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === 'string' ? redactText(v) : v;
  return out;
}

/** Writes audit records and probe results to the history store, stamped with the acting instance. */
export class StoreAuditSink implements AuditSink {
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly store: AuditStore,
    private readonly opts: { actor: string; logger: Logger },
  ) {}

  record(event: AuditRecord): void {
    const doc = {
      ...(event.eventId !== undefined ? { eventId: event.eventId } : {}),
      namespace: event.namespace,
      ...(event.scope !== undefined ? { scope: event.scope } : {}),
      ...(event.fleet !== undefined ? { fleet: event.fleet } : {}),
      ...(event.pool !== undefined ? { pool: event.pool } : {}),
      type: event.type,
      severity: event.severity ?? 'info',
      reason: event.reason,
      message: redactText(event.message),
      time: event.time ?? new Date(),
      ...(event.details ? { details: redactDetails(event.details) } : {}),
      actor: this.opts.actor,
    };
    // The store validates synchronously inside recordEvent; a bad record is a programming error
    // in the caller, logged with the field named, and must not fail the caller's reconcile.
    this.track(
      this.store.recordEvent(doc).catch((err: unknown) => this.opts.logger.error({ err, type: event.type, reason: event.reason }, 'audit: event not recorded')),
    );
  }

  probe(result: ProbeRecord): void {
    const doc = { ...result, probedBy: this.opts.actor, ...(result.error !== undefined ? { error: redactText(result.error) } : {}) };
    this.track(this.store.writeProbes([doc]).catch((err: unknown) => this.opts.logger.error({ err, pool: result.pool }, 'audit: probe result not recorded')));
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once every record handed over so far is queued in the store (shutdown, tests). */
  async flush(timeoutMs: number): Promise<boolean> {
    await this.drain();
    return this.store.flush ? this.store.flush(timeoutMs) : true;
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}

/** Keeps records in memory: for unit tests of controllers' decisions (a real implementation, not a mock). */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditRecord[] = [];
  readonly probes: ProbeRecord[] = [];
  record(event: AuditRecord): void {
    this.events.push(event);
  }
  probe(result: ProbeRecord): void {
    this.probes.push(result);
  }
}
