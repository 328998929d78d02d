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
