import type { KubeObject } from '../../runtime/resource.js';
import { LAST_APPLIED_ANNOTATION, stripManagedFields } from '../../runtime/transform.js';

/** The part of a Secret the operator caches: which keys exist (values are never kept). */
export interface SecretKeys {
  metadata: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

/** Keeps only the keys of a Secret's data so the cache never holds credential values. */
export function secretKeysOnly<
  T extends { data?: Record<string, string>; stringData?: unknown; metadata?: { [field: string]: unknown; annotations?: Record<string, string> } },
>(secret: T): T {
  const data = secret.data ? Object.fromEntries(Object.keys(secret.data).map((k) => [k, ''])) : undefined;
  const { stringData: _drop, ...rest } = secret;
  const annotations = secret.metadata?.annotations;
  // `kubectl apply` keeps the whole applied object, data included, in this annotation.
  if (annotations && LAST_APPLIED_ANNOTATION in annotations) {
    const { [LAST_APPLIED_ANNOTATION]: _values, ...kept } = annotations;
    return { ...(rest as T), metadata: { ...secret.metadata, annotations: kept }, data };
  }
  return { ...(rest as T), data };
}

/**
 * The transform of the shared Secrets cache: keys only, no managedFields. Exported so another
 * controller that watches Secrets passes the same function (one cache per type); a controller
 * that needs a value reads that one Secret from the API when it needs it.
 */
export function secretsCacheTransform<T extends KubeObject & { data?: Record<string, string>; stringData?: unknown }>(secret: T): T {
  return stripManagedFields(secretKeysOnly(secret));
}
