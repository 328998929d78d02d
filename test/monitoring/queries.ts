/**
 * The queries of the generated dashboards, read back from the JSON the chart ships, and the
 * substitution Grafana does before it sends them: template variables and $__ built-ins.
 */
import { DASHBOARDS } from '../../scripts/monitoring/dashboards/index.js';
import { dashboardJson } from '../../scripts/monitoring/render.js';
import { metricsIn, type MetricSpec } from '../../scripts/monitoring/metrics.js';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
  /** 'panel' or 'annotation' */
  kind: 'panel' | 'annotation';
}

interface GrafanaVariable {
  name: string;
  type: string;
  allValue?: string;
  includeAll?: boolean;
  definition?: string;
}

/** Every target of every panel and every annotation query, per dashboard, as stored in the JSON. */
export function allPanelQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const [file, text] of Object.entries(dashboardJson())) {
    const json = JSON.parse(text) as {
      title: string;
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string; refId: string; instant?: boolean }> }>;
      annotations?: { list?: Array<{ name: string; expr: string }> };
    };
    void file;
    for (const p of json.panels) {
      for (const t of p.targets ?? [])
        out.push({ dashboard: json.title, panel: p.title, refId: t.refId, expr: t.expr, instant: t.instant === true, kind: 'panel' });
    }
    for (const a of json.annotations?.list ?? [])
      out.push({ dashboard: json.title, panel: `annotation: ${a.name}`, refId: 'annotation', expr: a.expr, instant: false, kind: 'annotation' });
  }
  return out;
}

/** The template variables of a dashboard (by title), in dependency order as Grafana resolves them. */
export function dashboardVariables(title: string): GrafanaVariable[] {
  const spec = DASHBOARDS.find((d) => d.title === title);
  if (!spec) throw new Error(`no dashboard ${title}`);
  const json = JSON.parse(dashboardJson()[`${spec.file}.json`]!) as { templating: { list: GrafanaVariable[] } };
  return json.templating.list.filter((v) => v.type === 'query');
}

/** `label_values(<selector>, <label>)` → its parts. */
export function parseLabelValues(definition: string): { selector: string; label: string } {
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/s.exec(definition);
  if (!m) throw new Error(`not a label_values() variable: ${definition}`);
  return { selector: m[1]!, label: m[2]! };
}

/** Grafana's regex-escaped multi-value form: (a|b|c). */
export function multiValue(values: string[]): string {
  return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`;
}
function escapeRegex(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

/** Built-ins for a 1 s scrape interval and a 5 minute dashboard range. */
export const BUILTINS: Record<string, string> = { __rate_interval: '30s', __interval: '15s', __range: '5m' };

export function substitute(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{?(__[a-z_]+|[a-zA-Z_][a-zA-Z0-9_]*)\}?/g, (whole, name: string) => {
    const v = BUILTINS[name] ?? vars[name];
    if (v === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
    return v;
  });
}

/** Metrics of the query that have not landed in main yet (scripts/monitoring/metrics.ts). */
export function pendingMetrics(expr: string): MetricSpec[] {
  return metricsIn(expr).filter((m) => !m.landed);
}
