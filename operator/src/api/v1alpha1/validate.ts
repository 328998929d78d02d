import type { z } from 'zod';
import { MiningPoolSpecSchema, type MiningPoolSpec } from './miningpool.js';
import { MINER_FLEET_OBJECT_RULES, MinerFleetSpecSchema, type MinerFleetSpec } from './minerfleet.js';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** `['pools', 1, 'name']` under `spec` → `spec.pools[1].name`. */
export function formatIssuePath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}

/** Turn zod issues into `path: message` lines (the path is named even when the message does not). */
export function formatIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatIssuePath(prefix, i.path)}: ${i.message}`);
}

function validateSpec<T>(schema: z.ZodType<T>, spec: unknown): ValidationResult<T> {
  const r = schema.safeParse(spec);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: formatIssues('spec', r.error) };
}

/**
 * Validate (and default) a MiningPool spec in-process with the same rules the CRD enforces.
 * The operator uses it as a second line of defence (e.g. objects stored before a CRD upgrade).
 */
export function validateMiningPoolSpec(spec: unknown): ValidationResult<MiningPoolSpec> {
  return validateSpec(MiningPoolSpecSchema, spec);
}

/** Validate (and default) a MinerFleet spec; `name` also checks the object-level name rule. */
export function validateMinerFleetSpec(spec: unknown, name?: string): ValidationResult<MinerFleetSpec> {
  const r = validateSpec(MinerFleetSpecSchema, spec);
  if (name === undefined) return r;
  const nameErrors = MINER_FLEET_OBJECT_RULES.filter((rule) => !rule.holds({ metadata: { name } })).map((rule) => rule.message);
  if (nameErrors.length === 0) return r;
  return { ok: false, errors: [...nameErrors, ...(r.ok ? [] : r.errors)] };
}
