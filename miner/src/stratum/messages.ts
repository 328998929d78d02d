/**
 * Shapes of every inbound Stratum V1 message, validated with zod before anything trusts them.
 * Anything that does not match is reported with a message naming what is wrong and dropped.
 */
import { z } from 'zod';

export const MAX_LINE_BYTES = 256 * 1024;

const hex = (what: string) => z.string().regex(/^([0-9a-fA-F]{2})*$/, { error: `${what} must be even-length hex` });
const hexN = (what: string, bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), { error: `${what} must be ${bytes} bytes of hex` });

const JobId = z.union([z.string().min(1).max(256), z.number().int().nonnegative()]).transform((v) => String(v));

export const NotifyParamsSchema = z
  .tuple([
    JobId,
    hexN('prevhash', 32),
    hex('coinb1').max(200_000),
    hex('coinb2').max(200_000),
    z.array(hexN('merkle branch entry', 32)).max(64),
    hexN('version', 4),
    hexN('nbits', 4),
    hexN('ntime', 4),
    z.boolean(),
  ])
  .rest(z.unknown());

export const SetDifficultyParamsSchema = z.tuple([z.number().positive().finite().max(1e15, { error: 'difficulty too large' })]).rest(z.unknown());

export const SetExtranonceParamsSchema = z.tuple([hex('extranonce1').max(64), z.number().int().min(0).max(16)]).rest(z.unknown());

export const ReconnectParamsSchema = z.tuple([]).rest(z.union([z.string().max(255), z.number(), z.null()]));

export const ShowMessageParamsSchema = z.tuple([z.string().max(4096)]).rest(z.unknown());

export const SubscribeResultSchema = z
  .tuple([
    z.unknown(), // subscriptions: [["mining.notify", id], ...] or a flat pair; only used for session resume
    hex('extranonce1').max(64),
    z.number().int().min(0).max(16),
  ])
  .rest(z.unknown());

const Id = z.union([z.number(), z.string(), z.null()]);

export const StratumErrorSchema = z.union([
  z.tuple([z.number(), z.string()]).rest(z.unknown()),
  z.object({ code: z.number(), message: z.string() }).loose(),
  z.null(),
  z.string(),
]);

export const ResponseSchema = z.object({ id: Id, result: z.unknown().optional(), error: StratumErrorSchema.optional() }).loose();

export const NotificationSchema = z.object({ id: Id.optional(), method: z.string().min(1).max(128), params: z.array(z.unknown()) }).loose();

export type Inbound =
  | { kind: 'response'; id: number | string | null; result: unknown; error: { code: number; message: string } | null }
  | { kind: 'notification'; id: number | string | null; method: string; params: unknown[] };

export class BadMessageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function normaliseError(e: z.infer<typeof StratumErrorSchema> | undefined): { code: number; message: string } | null {
  if (e === undefined || e === null) return null;
  if (typeof e === 'string') return { code: -1, message: e };
  if (Array.isArray(e)) return { code: e[0], message: e[1] };
  return { code: e.code, message: e.message };
}

export function formatZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parse one line; throws BadMessageError with a clear reason. */
export function parseLine(line: string): Inbound {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new BadMessageError('invalid_json', `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BadMessageError('not_object', `expected a JSON object, got ${Array.isArray(raw) ? 'array' : raw === null ? 'null' : typeof raw}`);
  }
  if ('method' in raw && (raw as { method?: unknown }).method !== undefined && (raw as { method?: unknown }).method !== null) {
    const n = NotificationSchema.safeParse(raw);
    if (!n.success) throw new BadMessageError('bad_notification', `bad notification: ${formatZodError(n.error)}`);
    return { kind: 'notification', id: n.data.id ?? null, method: n.data.method, params: n.data.params };
  }
  const r = ResponseSchema.safeParse(raw);
  if (!r.success) throw new BadMessageError('bad_response', `bad response: ${formatZodError(r.error)}`);
  return { kind: 'response', id: r.data.id, result: r.data.result, error: normaliseError(r.data.error) };
}

/** The session id a pool offers for resume: the mining.notify subscription id, if present. */
export function sessionIdFromSubscriptions(subs: unknown): string | undefined {
  const pairs: unknown[] = Array.isArray(subs) && subs.length === 2 && typeof subs[0] === 'string' ? [subs] : Array.isArray(subs) ? subs : [];
  for (const p of pairs) {
    if (Array.isArray(p) && p[0] === 'mining.notify' && typeof p[1] === 'string' && /^[0-9a-zA-Z]{1,64}$/.test(p[1])) return p[1];
  }
  return undefined;
}
