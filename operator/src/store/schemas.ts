import { z } from 'zod';

// Document schemas of the history collections. Every document is validated before it is queued,
// so a bad document fails at the caller with the field named, never later inside a batch.

const name = z.string().min(1).max(253);
const count = z.number().int().min(0);
/** Per-fleet retention (spec.history.retentionDays); overrides the store's default for the document. */
const retentionDays = z.number().int().min(1).max(3650).optional();
const nonNegative = z.number().min(0).refine(Number.isFinite, { error: 'must be a finite number' });
const hex = (len?: number) =>
  z
    .string()
    .regex(/^[0-9a-fA-F]+$/, { error: 'must be hexadecimal' })
    .refine((s) => len === undefined || s.length === len, { error: `must be ${len} hex digits` });

export const ShareCountsSchema = z.object({ accepted: count, rejected: count, stale: count }).strict();

function windowAligned(doc: { windowStart: Date; windowSeconds: number }, ctx: z.RefinementCtx): void {
  if (doc.windowStart.getTime() % (doc.windowSeconds * 1000) !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['windowStart'],
      message: `windowStart ${doc.windowStart.toISOString()} is not aligned to windowSeconds=${doc.windowSeconds}`,
    });
  }
}

/**
 * One miner pod over one collection window, or one external device of a supervisor pod (a
 * network fleet's ASIC, a gpu/usb fleet's sidecar-driven miner): then `deviceName` says which.
 * Key: (namespace, fleet, pod, windowStart, deviceName).
 */
export const SampleDocSchema = z
  .object({
    namespace: name,
    fleet: name,
    pod: name,
    deviceName: name.optional().meta({ description: "the external device's name in its supervisor pod (absent for a miner pod)" }),
    node: name.optional(),
    windowStart: z.date(),
    windowSeconds: z.number().int().min(1).max(86_400),
    pool: name,
    hashrate: nonNegative.meta({ description: 'hashes per second averaged over the window' }),
    shares: ShareCountsSchema.meta({ description: 'shares submitted during the window, by outcome' }),
    difficulty: nonNegative.meta({ description: 'pool share difficulty at the end of the window' }),
    podUids: z.array(z.string().min(1).max(64)).max(16).optional(),
    hashrate10s: nonNegative.optional(),
    hashrate60s: nonNegative.optional(),
    reasons: z.record(z.string().max(128), count).optional().meta({ description: 'rejected/stale shares by reason' }),
    connectionState: z.string().max(64).optional(),
    jobAgeSeconds: nonNegative.optional(),
    retentionDays,
    device: z
      .object({
        kind: z.enum(['cpu', 'gpu', 'usb', 'network']),
        model: z.string().min(1).max(64).optional(),
        temperatureC: z.number().min(-100).max(300).optional(),
        powerW: nonNegative.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine(windowAligned);
export type SampleDoc = z.infer<typeof SampleDocSchema>;

/** One fleet over one collection window. Key: (namespace, fleet, windowStart). */
export const RollupDocSchema = z
  .object({
    namespace: name,
    fleet: name,
    windowStart: z.date(),
    windowSeconds: z.number().int().min(1).max(86_400),
    pods: count,
    activePool: name.optional(),
    hashrate: nonNegative.meta({ description: "sum of the pods' hashrates, hashes per second" }),
    shares: ShareCountsSchema,
    powerW: nonNegative.optional(),
    suspended: z.boolean().optional(),
    retentionDays,
  })
  .strict()
  .superRefine(windowAligned);
export type RollupDoc = z.infer<typeof RollupDocSchema>;

/** One submitted share. Natural key: (pool, worker, jobId, extranonce2, ntime, nonce). */
export const ShareDocSchema = z
  .object({
    namespace: name,
    fleet: name,
    pod: name,
    pool: name,
    worker: z.string().min(1).max(512),
    jobId: z.string().min(1).max(128),
    extranonce2: hex(),
    ntime: hex(8),
    nonce: hex(8),
    difficulty: nonNegative,
    result: z.enum(['accepted', 'rejected', 'stale']),
    reason: z.string().max(512).optional(),
    time: z.date(),
    podUid: z.string().min(1).max(64).optional(),
    seq: count.optional().meta({ description: "the miner's sequence number (per miner process)" }),
    retentionDays,
  })
  .strict();
export type ShareDoc = z.infer<typeof ShareDocSchema>;

export const EVENT_TYPES = [
  'failover',
  'failback',
  'suspend',
  'resume',
  'scale',
  'probe-failure',
  'probe-state',
  'missing-reference',
  'leadership',
  'error',
  'alert',
] as const;

export const EventResolutionSchema = z
  .object({ resolvedAt: z.date(), by: z.string().min(1).max(253).optional(), note: z.string().max(4096).optional() })
  .strict();
export type EventResolution = z.infer<typeof EventResolutionSchema>;

/**
 * What an event is about: a fleet, a pool, or the operator itself (leadership changes, which name
 * neither). Stored on every event since migration 4 (which back-filled older documents), so
 * operator-level events are queried by scope instead of by the absence of fields.
 */
export const EVENT_SCOPES = ['fleet', 'pool', 'operator'] as const;
export type EventScope = (typeof EVENT_SCOPES)[number];

/** The scope an event without one has (documents and spill lines written before migration 4). */
export function impliedScope(e: { fleet?: string | undefined; pool?: string | undefined }): EventScope | undefined {
  return e.fleet !== undefined ? 'fleet' : e.pool !== undefined ? 'pool' : undefined;
}

/** An append-only decision or alert. Key: eventId (assigned when queued, so retries keep it). */
export const EventDocSchema = z
  .object({
    eventId: z.string().min(1).max(128),
    /** For operator-scope events: the namespace of the operator's lease (where it acts from). */
    namespace: name,
    scope: z.enum(EVENT_SCOPES).optional().meta({ description: 'fleet, pool or operator; implied by fleet/pool when absent' }),
    fleet: name.optional(),
    pool: name.optional(),
    type: z.enum(EVENT_TYPES),
    severity: z.enum(['info', 'warning', 'critical']),
    reason: z.string().min(1).max(128),
    message: z.string().max(4096),
    time: z.date(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    actor: z.string().min(1).max(253).optional().meta({ description: 'the operator instance (leader identity) that acted' }),
    resolution: EventResolutionSchema.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const scope = e.scope ?? impliedScope(e);
    if (scope === undefined) ctx.addIssue({ code: 'custom', path: ['fleet'], message: "an event names a fleet, a pool or both, or has scope 'operator'" });
    else if (scope === 'fleet' && e.fleet === undefined) ctx.addIssue({ code: 'custom', path: ['fleet'], message: "scope 'fleet' needs fleet" });
    else if (scope === 'pool' && e.pool === undefined) ctx.addIssue({ code: 'custom', path: ['pool'], message: "scope 'pool' needs pool" });
  })
  .transform((e) => ({ ...e, scope: e.scope ?? impliedScope(e)! }));
export type EventDoc = z.output<typeof EventDocSchema>;
/** What callers pass: eventId is optional and generated when missing; scope is implied by fleet/pool. */
export type EventInput = Omit<z.input<typeof EventDocSchema>, 'eventId'> & { eventId?: string };

/** One pool health check. Key: (namespace, pool, time). */
export const ProbeDocSchema = z
  .object({
    namespace: name,
    pool: name,
    time: z.date(),
    ok: z.boolean(),
    latencyMs: nonNegative.optional(),
    connectMs: nonNegative.optional(),
    circuit: z.enum(['Closed', 'Open', 'HalfOpen']).optional(),
    error: z.string().max(4096).optional(),
    probedBy: z.string().max(253).optional(),
  })
  .strict();
export type ProbeDoc = z.infer<typeof ProbeDocSchema>;

export const EventResolutionOpSchema = z.object({ eventId: z.string().min(1).max(128), resolution: EventResolutionSchema }).strict();
export type EventResolutionOp = z.infer<typeof EventResolutionOpSchema>;

/** Everything that travels through the write buffer and the spill file. */
export type PendingItem =
  | { kind: 'samples'; doc: SampleDoc }
  | { kind: 'rollups'; doc: RollupDoc }
  | { kind: 'shares'; doc: ShareDoc }
  | { kind: 'events'; doc: EventDoc }
  | { kind: 'probes'; doc: ProbeDoc }
  | { kind: 'eventResolutions'; doc: EventResolutionOp };

export type PendingKind = PendingItem['kind'];
export type CollectionKind = Exclude<PendingKind, 'eventResolutions'>;
export const COLLECTION_KINDS: readonly CollectionKind[] = ['samples', 'rollups', 'shares', 'events', 'probes'];

export const PENDING_SCHEMAS: Record<PendingKind, z.ZodType> = {
  samples: SampleDocSchema,
  rollups: RollupDocSchema,
  shares: ShareDocSchema,
  events: EventDocSchema,
  probes: ProbeDocSchema,
  eventResolutions: EventResolutionOpSchema,
};

export class StoreValidationError extends Error {
  override name = 'StoreValidationError';
  constructor(
    message: string,
    readonly kind: PendingKind,
    readonly index: number,
    readonly fields: string[],
  ) {
    super(message);
  }
}

/** Validates a caller's documents; throws a StoreValidationError naming the document and fields. */
export function validateDocuments<K extends PendingKind>(kind: K, docs: readonly unknown[]): Extract<PendingItem, { kind: K }>[] {
  const schema = PENDING_SCHEMAS[kind];
  const out: Extract<PendingItem, { kind: K }>[] = [];
  docs.forEach((doc, index) => {
    const r = schema.safeParse(doc);
    if (!r.success) {
      const fields = r.error.issues.map((i) => i.path.join('.') || '(document)');
      const why = r.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
      throw new StoreValidationError(`invalid ${kind} document #${index}: ${why}`, kind, index, fields);
    }
    out.push({ kind, doc: r.data } as unknown as Extract<PendingItem, { kind: K }>);
  });
  return out;
}
