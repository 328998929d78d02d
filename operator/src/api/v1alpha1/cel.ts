import type { z } from 'zod';

/**
 * One cross-field rule, written once: `rule` is the CEL text the API server evaluates
 * (`x-kubernetes-validations`), `holds` is the same rule as a TypeScript predicate so the operator
 * (and tests) can validate in-process with zod. `self` is the value of the node the rule is on.
 */
export interface CrossFieldRule<T> {
  /** CEL expression, evaluated by kube-apiserver with `self` bound to this node. */
  rule: string;
  /** Error text; it names the full field path (e.g. `spec.device.resourceName`). */
  message: string;
  /** JSONPath of the offending field relative to this node (e.g. `.resourceName`), used in the API error path. */
  fieldPath?: string;
  /** Kubernetes error reason (defaults to FieldValueInvalid). */
  reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueDuplicate';
  /** The same rule in TypeScript. Runs on zod's output (defaults applied). */
  holds: (self: T) => boolean;
}

/** The x-kubernetes-validations entry for a rule. */
export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export const CEL_META_KEY = 'x-kubernetes-validations';

function toCel<T>(r: CrossFieldRule<T>): CelValidation {
  const out: CelValidation = { rule: r.rule, message: r.message };
  if (r.fieldPath !== undefined) out.fieldPath = r.fieldPath;
  if (r.reason !== undefined) out.reason = r.reason;
  return out;
}

/** `.a.b[0]` / `.a['x']` → ['a','b',0,'x'] for zod issue paths. */
export function fieldPathToSegments(fieldPath: string | undefined): Array<string | number> {
  if (!fieldPath) return [];
  const out: Array<string | number> = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(fieldPath)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/**
 * Attach cross-field rules to a schema: as CEL (copied into the CRD by the generator through zod
 * metadata) and as a zod refinement (same rules in-process). Predicates only run on values that
 * already have the right shape; a predicate that throws on a malformed value is skipped because
 * zod reports the shape error itself.
 */
export function withCel<S extends z.ZodType>(schema: S, rules: Array<CrossFieldRule<z.output<S>>>): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      let ok: boolean;
      try {
        ok = r.holds(value);
      } catch {
        ok = true;
      }
      if (!ok) {
        ctx.addIssue({ code: 'custom', message: r.message, path: fieldPathToSegments(r.fieldPath) });
      }
    }
  });
  const existing = (schema.meta()?.[CEL_META_KEY] as CelValidation[] | undefined) ?? [];
  return refined.meta({ [CEL_META_KEY]: [...existing, ...rules.map(toCel)] });
}
