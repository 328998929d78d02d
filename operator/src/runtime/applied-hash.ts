import { createHash } from 'node:crypto';

/**
 * Annotation holding a hash of the object we last applied. `isSubset(desired, cached)` alone
 * cannot see a field we stopped setting (a removed nodeSelector is still ⊆ the live object), so
 * the hash rides in the desired object itself: any change of what we want, removals included,
 * changes it, the subset check fails and the server-side apply runs (dropping the fields our
 * field manager no longer sets). A steady state keeps the same hash and still costs no writes.
 */
export const APPLIED_HASH_ANNOTATION = 'minefleet.io/applied-hash';

/** `obj` with its hash annotation set; the hash covers everything else in `obj`. */
export function withAppliedHash<T extends { metadata?: { annotations?: Record<string, string> } }>(obj: T): T {
  const { [APPLIED_HASH_ANNOTATION]: _old, ...annotations } = obj.metadata?.annotations ?? {};
  const base = { ...obj, metadata: { ...obj.metadata, annotations } };
  const hash = createHash('sha256').update(stableJson(base)).digest('hex').slice(0, 20);
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

/** JSON with object keys sorted, so equal objects hash alike whatever their key order. */
export function stableJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
}
