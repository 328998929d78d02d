import type { KubeObject } from './resource.js';

/**
 * managedFields are large and never read by the controllers: keep them out of the caches.
 * One shared function, so controllers that share a cache pass the same transform (the Manager
 * refuses two different transforms for one resource type).
 */
export function stripManagedFields<T extends KubeObject>(o: T): T {
  if (!o.metadata.managedFields) return o;
  const { managedFields: _m, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * For the kinds users `kubectl apply` (MinerFleet, MiningPool): besides managedFields, the
 * client-side-apply annotation, a second copy of the whole spec that nothing here reads. At
 * 1,000 fleets the two are most of what the fleet cache would hold.
 */
export function trimUserObject<T extends KubeObject>(o: T): T {
  const t = stripManagedFields(o);
  const annotations = t.metadata.annotations;
  if (!annotations || !(LAST_APPLIED_ANNOTATION in annotations)) return t;
  const { [LAST_APPLIED_ANNOTATION]: _a, ...kept } = annotations;
  return { ...t, metadata: { ...t.metadata, annotations: kept } };
}
