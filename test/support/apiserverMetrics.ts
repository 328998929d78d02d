import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { ControlPlane } from './controlPlane.js';

/** What kube-apiserver's own /metrics says about the requests for one resource. */
export interface ResourceRequestCounts {
  /** apiserver_request_total by verb (LIST, WATCH, GET, ...), all codes and scopes summed. A WATCH is counted when it ends. */
  byVerb: Record<string, number>;
  /** apiserver_longrunning_requests{verb="WATCH"}: watches open right now. */
  openWatches: number;
}

/**
 * Reads kube-apiserver's /metrics (through kubectl, the real client) and sums the request
 * counters of one resource. Counting at the server sees every request a client sends, including
 * the ones a client-side counter would miss.
 */
export async function apiserverRequestCounts(cp: ControlPlane, resource: string, group = ''): Promise<ResourceRequestCounts> {
  const r = await cp.kubectl(['get', '--raw', '/metrics']);
  if (r.code !== 0) throw new Error(`kubectl get --raw /metrics failed (${r.code}): ${r.stderr.slice(0, 500)}`);
  const families = parsePrometheusTextFormat(r.stdout);
  const mine = (labels: Record<string, string> | undefined) => labels?.resource === resource && (labels.group ?? '') === group;
  const byVerb: Record<string, number> = {};
  for (const s of families.find((f) => f.name === 'apiserver_request_total')?.metrics ?? []) {
    if (!mine(s.labels)) continue;
    const verb = s.labels?.verb ?? '';
    byVerb[verb] = (byVerb[verb] ?? 0) + Number(s.value ?? 0);
  }
  let openWatches = 0;
  for (const s of families.find((f) => f.name === 'apiserver_longrunning_requests')?.metrics ?? []) {
    if (mine(s.labels) && s.labels?.verb === 'WATCH') openWatches += Number(s.value ?? 0);
  }
  return { byVerb, openWatches };
}

/** One resource (or subresource) whose writes are counted, e.g. `{ resource: 'minerfleets', group: 'minefleet.io', subresource: 'status' }`. */
export interface WriteTarget {
  resource: string;
  group?: string;
  /** '' = the object itself; undefined = the object and all its subresources. */
  subresource?: string;
}

/** Verbs kube-apiserver counts for requests that change something (APPLY is server-side apply). */
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION', 'CREATE', 'UPDATE']);

/**
 * apiserver_request_total of write verbs (dry runs excluded) per target, keyed `group/resource[/subresource]`.
 * Counted by the server, so a write that a client sends and the server answers as a no-op counts too.
 */
export async function apiserverWriteCounts(cp: ControlPlane, targets: WriteTarget[]): Promise<Record<string, number>> {
  const r = await cp.kubectl(['get', '--raw', '/metrics']);
  if (r.code !== 0) throw new Error(`kubectl get --raw /metrics failed (${r.code}): ${r.stderr.slice(0, 500)}`);
  const families = parsePrometheusTextFormat(r.stdout);
  const key = (t: WriteTarget) => `${t.group ?? ''}/${t.resource}${t.subresource ? `/${t.subresource}` : ''}`;
  const out: Record<string, number> = Object.fromEntries(targets.map((t) => [key(t), 0]));
  for (const s of families.find((f) => f.name === 'apiserver_request_total')?.metrics ?? []) {
    const l = s.labels ?? {};
    if (!WRITE_VERBS.has(l.verb ?? '') || (l.dry_run ?? '') !== '') continue;
    for (const t of targets) {
      if (l.resource !== t.resource || (l.group ?? '') !== (t.group ?? '')) continue;
      if (t.subresource !== undefined && (l.subresource ?? '') !== t.subresource) continue;
      out[key(t)]! += Number(s.value ?? 0);
    }
  }
  return out;
}
