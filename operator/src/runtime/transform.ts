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
