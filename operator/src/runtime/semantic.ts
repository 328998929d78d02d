/**
 * True when every field set in `desired` has the same value in `actual` (extra fields in
 * `actual`, e.g. server defaults and status, are ignored; arrays must match element-wise and in
 * length). Used to skip server-side apply when the cached object already matches, so a
 * steady-state reconcile costs no API writes while drift still triggers a repair.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') {
    if (typeof desired === 'number' && typeof actual === 'string') return String(desired) === actual;
    return desired === actual;
  }
  if (Array.isArray(desired)) {
    if (desired.length === 0 && (actual === undefined || actual === null)) return true;
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    return desired.every((d, i) => isSubset(d, actual[i]));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    // An empty desired map matches an absent one (the API server drops empty maps).
    return Object.values(desired).every((v) => v === undefined) && (actual === undefined || actual === null);
  }
  for (const [k, v] of Object.entries(desired)) {
    if (!isSubset(v, (actual as Record<string, unknown>)[k])) return false;
  }
  return true;
}
