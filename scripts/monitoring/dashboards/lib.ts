/**
 * Shared pieces of the minefleet dashboards, on @grafana/grafana-foundation-sdk: the Prometheus
 * datasource variable, the namespace/fleet/pool template variables, and panel helpers that fix
 * the datasource, units and layout so each dashboard file only says what it shows.
 */
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { StackingConfigBuilder, StackingMode, type DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { metric } from '../metrics.js';

export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Explains the unit of every hashrate panel (DESIGN §5). */
export const HASHRATE_CONVENTION =
  'Hashrate is in scrypt hashes per second (H/s, shown with SI prefixes: kH/s, MH/s, GH/s). ' +
  "Scrypt pools use a diff-1 share target 65536 times easier than Bitcoin's, so a share of Stratum " +
  'difficulty D stands for D × 2^16 (65536) hashes on average, while network difficulty 1 is ≈ 2^32 ' +
  'hashes per block. The miner gauges count the hashes the miner computed; the pool-credited rate ' +
  'is accepted shares/s × share difficulty × 65536 and converges to it when nothing is rejected.';

/** A query as the proof test sees it (expr with template variables, as stored in the JSON). */
export interface Query {
  expr: string;
  legend?: string;
  /** Instant query (stat and table panels). */
  instant?: boolean;
}

export type PanelKind = 'timeseries' | 'stat' | 'table';

export interface PanelSpec {
  kind: PanelKind;
  title: string;
  description: string;
  /** Grafana unit id: hashes/s is "H/s" with SI prefixes ("suffix:H/s" with decimal SI scaling). */
  unit: string;
  queries: Query[];
  /** Width in grid units (24 = full row); height 8 unless given. */
  w?: number;
  h?: number;
  stack?: boolean;
  min?: number;
  max?: number;
}

/** Units used across the dashboards. */
export const UNITS = {
  hashrate: 'Hs', // Grafana's "hashes/sec" unit: H/s with SI prefixes (kH/s, MH/s, GH/s)
  percent: 'percent', // 0-100
  ratio: 'percentunit', // 0-1 shown as percent
  seconds: 's',
  bytes: 'bytes',
  perSecond: 'reqps',
  ops: 'ops',
  count: 'short',
  currency: 'currencyUSD',
} as const;

export interface VariableSpec {
  name: string;
  label: string;
  /** label_values(<selector>, <label>) */
  selector: string;
  labelName: string;
  includeAll: boolean;
}

/** namespace → fleet → pool, each narrowing the next. Selector metrics are the miners' own. */
export function namespaceVar(): VariableSpec {
  return { name: 'namespace', label: 'Namespace', selector: metric('minefleet_miner_hashes_total'), labelName: 'namespace', includeAll: true };
}
export function fleetVar(): VariableSpec {
  return {
    name: 'fleet',
    label: 'Fleet',
    selector: `${metric('minefleet_miner_hashes_total')}{namespace=~"$namespace"}`,
    labelName: 'fleet',
    includeAll: true,
  };
}
export function poolVar(): VariableSpec {
  return {
    name: 'pool',
    label: 'Pool',
    selector: `${metric('minefleet_miner_active_pool')}{namespace=~"$namespace", fleet=~"$fleet"}`,
    labelName: 'pool',
    includeAll: true,
  };
}
export function podVar(): VariableSpec {
  return {
    name: 'pod',
    label: 'Miner pod',
    selector: `${metric('minefleet_miner_hashes_total')}{namespace=~"$namespace", fleet=~"$fleet"}`,
    labelName: 'pod',
    includeAll: true,
  };
}
export function controllerVar(): VariableSpec {
  return { name: 'controller', label: 'Controller', selector: metric('controller_runtime_reconcile_total'), labelName: 'controller', includeAll: true };
}

export interface AnnotationSpec {
  name: string;
  expr: string;
  titleFormat: string;
  textFormat: string;
  iconColor: string;
}

export interface DashboardSpec {
  uid: string;
  /** File name stem: <file>.json */
  file: string;
  title: string;
  description: string;
  tags: string[];
  variables: VariableSpec[];
  annotations?: AnnotationSpec[];
  rows: Array<{ title: string; panels: PanelSpec[] }>;
}

function target(q: Query, refId: string): DataqueryBuilder {
  const b = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(q.expr)
    .refId(refId)
    .legendFormat(q.legend ?? '__auto');
  if (q.instant) b.instant().format(PromQueryFormat.Table);
  else b.range();
  return b;
}

function panelBuilder(p: PanelSpec) {
  const b = p.kind === 'stat' ? new StatPanel() : p.kind === 'table' ? new TablePanel() : new TimeseriesPanel();
  b.title(p.title).description(p.description).datasource(DATASOURCE).unit(p.unit);
  if (p.min !== undefined) b.min(p.min);
  if (p.max !== undefined) b.max(p.max);
  p.queries.forEach((q, i) => b.withTarget(target(q, String.fromCharCode(65 + i))));
  if (p.kind === 'timeseries' && p.stack) (b as TimeseriesPanel).stacking(new StackingConfigBuilder().mode(StackingMode.Normal).group('A'));
  return b;
}

/** Builds the Grafana dashboard JSON model; panel positions flow left to right, 24 units a row. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const d = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser');
  d.withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
  for (const v of spec.variables) {
    d.withVariable(
      new QueryVariableBuilder(v.name)
        .label(v.label)
        .datasource(DATASOURCE)
        .query({ query: `label_values(${v.selector}, ${v.labelName})`, refId: `${v.name}-var` })
        .definition(`label_values(${v.selector}, ${v.labelName})`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(v.includeAll)
        .allValue('.+'),
    );
  }
  for (const a of spec.annotations ?? []) {
    d.annotation(
      new AnnotationQueryBuilder()
        .name(a.name)
        .datasource(DATASOURCE)
        .enable(true)
        .hide(false)
        .iconColor(a.iconColor)
        .expr(a.expr)
        .titleFormat(a.titleFormat)
        .textFormat(a.textFormat)
        .step('1m'),
    );
  }
  let y = 0;
  let id = 1;
  for (const row of spec.rows) {
    d.withRow(new RowBuilder(row.title).id(id++).gridPos({ x: 0, y: y++, w: 24, h: 1 }));
    let x = 0;
    let rowH = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      const h = p.h ?? 8;
      if (x + w > 24) {
        y += rowH;
        x = 0;
        rowH = 0;
      }
      d.withPanel(panelBuilder(p).id(id++).gridPos({ x, y, w, h }));
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  return d.build();
}
