/**
 * Dashboards and alerts are code (scripts/monitoring/): the committed JSON/YAML must be what the generator
 * writes, every metric they read must be in the one dependency list (scripts/monitoring/metrics.ts), and
 * the chart must render the same rules as the plain file and ship the dashboards with the
 * Grafana sidecar's label.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ALERTS, PLAIN_PARAMS, ruleGroups, THRESHOLDS } from '../../scripts/monitoring/alerts.js';
import { DASHBOARDS } from '../../scripts/monitoring/dashboards/index.js';
import { HASHRATE_CONVENTION, UNITS } from '../../scripts/monitoring/dashboards/lib.js';
import { METRICS, metricsIn } from '../../scripts/monitoring/metrics.js';
import { dashboardJson, PLAIN_RULES_FILE, renderMonitoringFiles } from '../../scripts/monitoring/render.js';
import { binPath, makeTempDir, removeTempDir, REPO_ROOT, runTool } from '../support/index.js';
import { allPanelQueries } from './queries.js';

const CHART = path.join(REPO_ROOT, 'helm', 'minefleet');
let scratch: string;
beforeAll(() => {
  scratch = makeTempDir('monitoring-helm');
});
afterAll(async () => {
  if (scratch) await removeTempDir(scratch);
});

async function helmTemplate(args: string[]): Promise<Array<Record<string, any>>> {
  const home = path.join(scratch, 'helm');
  const r = await runTool(binPath('helm'), ['template', 'minefleet', CHART, '--namespace', 'ops', ...args], {
    env: { ...process.env, HELM_CACHE_HOME: `${home}/cache`, HELM_CONFIG_HOME: `${home}/config`, HELM_DATA_HOME: `${home}/data` },
  });
  expect(r.code, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Record<string, any> | null)
    .filter((d): d is Record<string, any> => d !== null);
}

describe('monitoring as code', () => {
  it('committed dashboards, ConfigMaps, rules file and PrometheusRule template are what `npm run gen:monitoring` writes', async () => {
    const files = renderMonitoringFiles();
    expect(Object.keys(files).length).toBe(DASHBOARDS.length * 2 + 3);
    for (const [rel, text] of Object.entries(files)) {
      const committed = await readFile(path.join(REPO_ROOT, rel), 'utf8').catch(() => '(missing)');
      expect(committed, `${rel} is out of date: run npm run gen:monitoring`).toBe(text);
    }
    const r = await runTool(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts', 'gen-monitoring.ts'), '--check'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^unchanged /gm)).toHaveLength(Object.keys(files).length);
  });

  it('every metric a panel, variable, annotation or alert reads is in scripts/monitoring/metrics.ts', () => {
    const exprs = [
      ...allPanelQueries().map((q) => q.expr),
      ...DASHBOARDS.flatMap((d) => [...d.variables.map((v) => v.selector), ...(d.annotations ?? []).map((a) => a.expr)]),
      ...ALERTS.map((a) => a.expr(PLAIN_PARAMS)),
    ];
    const unlisted = new Set<string>();
    for (const e of exprs) {
      for (const m of e.matchAll(/\b(minefleet_[a-z0-9_]+|controller_runtime_[a-z_]+|workqueue_[a-z_]+|leader_election_[a-z_]+|process_[a-z_]+)\b/g)) {
        if (!metricsIn(m[1]!).length) unlisted.add(m[1]!);
      }
    }
    expect([...unlisted]).toEqual([]);
    // No listed metric is dead weight.
    const used = new Set(exprs.flatMap((e) => metricsIn(e).map((m) => m.name)));
    expect(METRICS.map((m) => m.name).filter((n) => !used.has(n))).toEqual([]);
  });

  it('dashboards: template variables, units, descriptions and the hashrate convention', () => {
    const byFile = dashboardJson();
    expect(Object.keys(byFile).sort()).toEqual(['minefleet-farm-overview.json', 'minefleet-miner.json', 'minefleet-operator.json', 'minefleet-pools.json']);
    for (const spec of DASHBOARDS) {
      const json = JSON.parse(byFile[`${spec.file}.json`]!) as Record<string, any>;
      expect(json.uid).toBe(spec.uid);
      const vars = (json.templating.list as Array<Record<string, any>>).map((v) => v.name);
      expect(vars[0]).toBe('datasource');
      if (spec.file !== 'minefleet-operator') expect(vars).toEqual(expect.arrayContaining(['namespace', 'fleet']));
      const panels = (json.panels as Array<Record<string, any>>).filter((p) => p.type !== 'row');
      expect(panels.length).toBeGreaterThan(5);
      const ids = new Set<number>();
      for (const p of panels) {
        expect(p.description, `${spec.title} / ${p.title}`).toBeTruthy();
        expect(p.fieldConfig.defaults.unit, `${spec.title} / ${p.title}`).toBeTruthy();
        expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets.length).toBeGreaterThan(0);
        expect(ids.has(p.id)).toBe(false);
        ids.add(p.id);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        const exprs = (p.targets as Array<{ expr: string }>).map((t) => t.expr).join(' ');
        if (/hashrate_hashes_per_second/.test(exprs) && p.fieldConfig.defaults.unit !== UNITS.ratio) {
          expect(p.fieldConfig.defaults.unit, `${p.title} shows H/s`).toBe(UNITS.hashrate);
          expect(p.description).toContain(HASHRATE_CONVENTION);
        }
      }
    }
    const pools = JSON.parse(byFile['minefleet-pools.json']!) as Record<string, any>;
    expect(pools.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'namespace', 'fleet', 'pool']);
    expect(HASHRATE_CONVENTION).toContain('2^16');
    const farm = JSON.parse(byFile['minefleet-farm-overview.json']!) as Record<string, any>;
    expect(farm.annotations.list.length).toBe(2);
    const units = farm.panels.map((p: any) => p.fieldConfig?.defaults?.unit).filter(Boolean);
    expect(units).toEqual(expect.arrayContaining([UNITS.hashrate, UNITS.percent, UNITS.currency, UNITS.ratio]));
  });

  it('alerts: every listed alert once, with severity, for: of at least a minute, summary, description and a README runbook section', async () => {
    expect(ALERTS.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'FleetHashrateDropped',
        'FleetAllPoolsDown',
        'PoolDown',
        'HighRejectRate',
        'MinersNotReady',
        'FleetSuspended',
        'EconomicsFeedStale',
        'HistoryStoreDown',
        'HistorySpillGrowing',
        'HistoryCollectorBehind',
        'OperatorAbsent',
        'OperatorNoLeader',
        'ReconcileErrors',
      ]),
    );
    expect(new Set(ALERTS.map((a) => a.alert)).size).toBe(ALERTS.length);
    expect(ALERTS.find((a) => a.alert === 'FleetSuspended')!.severity).toBe('info');
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const a of ALERTS) {
      expect(/^(\d+)m$/.exec(a.for)?.[1], a.alert).toBeDefined();
      expect(Number(/^(\d+)m$/.exec(a.for)![1])).toBeGreaterThanOrEqual(3);
      expect(a.summary.length).toBeGreaterThan(10);
      // Names what it is about: the fleet, the pool, the controller or the operator instance.
      expect(a.description).toMatch(/\$labels\.(fleet|pool|controller|instance|pod|source)|operator/);
      expect(readme, `README runbook section for ${a.alert}`).toMatch(new RegExp(`^### ${a.alert}$`, 'm'));
    }
    const plain = parse(await readFile(path.join(REPO_ROOT, PLAIN_RULES_FILE), 'utf8')) as { groups: unknown };
    expect(plain.groups).toEqual(ruleGroups(PLAIN_PARAMS));
  });

  it('the chart renders the same rules as the plain file, with for: and thresholds from values.yaml', async () => {
    const objs = await helmTemplate(['--set', 'prometheusRule.enabled=true']);
    const rule = objs.find((o) => o.kind === 'PrometheusRule')!;
    const plain = ruleGroups(PLAIN_PARAMS);
    const fromChart = JSON.stringify(rule.spec.groups).replaceAll('job=\\"minefleet-metrics\\", namespace=\\"ops\\"', 'job=\\"minefleet-operator\\"');
    expect(JSON.parse(fromChart)).toEqual(plain);

    const tuned = await helmTemplate([
      '--set',
      'prometheusRule.enabled=true,prometheusRule.for.PoolDown=7m,prometheusRule.thresholds.rejectRatio=0.2,leaderElection.leaseName=my-lease',
      '--set-json',
      'prometheusRule.extraRules=[{"alert":"Custom","expr":"vector(1)"}]',
    ]);
    const groups = tuned.find((o) => o.kind === 'PrometheusRule')!.spec.groups as Array<{ name: string; rules: Array<Record<string, any>> }>;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.find((r) => r.alert === 'PoolDown')!.for).toBe('7m');
    expect(rules.find((r) => r.alert === 'HighRejectRate')!.expr).toMatch(/> 0\.2$/);
    expect(rules.find((r) => r.alert === 'OperatorNoLeader')!.expr).toContain('name="my-lease"');
    expect(groups.at(-1)).toEqual({ name: 'minefleet-extra', rules: [{ alert: 'Custom', expr: 'vector(1)' }] });
    expect(String(THRESHOLDS.rejectRatio)).toBe('0.05');
  });

  it('the chart ships each dashboard as a ConfigMap with the sidecar label (configurable), off when disabled', async () => {
    const json = dashboardJson();
    const objs = await helmTemplate([]);
    const cms = objs.filter((o) => o.kind === 'ConfigMap');
    expect(cms.map((c) => c.metadata.name).sort()).toEqual(['minefleet-farm-overview', 'minefleet-miner', 'minefleet-operator', 'minefleet-pools']);
    for (const cm of cms) {
      expect(cm.metadata.labels.grafana_dashboard).toBe('1');
      expect(cm.metadata.namespace).toBe('ops');
      const [[file, text]] = Object.entries(cm.data as Record<string, string>) as [[string, string]];
      expect(text).toBe(json[file]!.trimEnd());
    }
    const custom = await helmTemplate([
      '--set',
      'grafanaDashboards.label=my_dash,grafanaDashboards.labelValue=yes,grafanaDashboards.namespace=monitoring,grafanaDashboards.annotations.grafana_folder=Mining',
    ]);
    for (const cm of custom.filter((o) => o.kind === 'ConfigMap')) {
      expect(cm.metadata.labels.my_dash).toBe('yes');
      expect(cm.metadata.labels.grafana_dashboard).toBeUndefined();
      expect(cm.metadata.namespace).toBe('monitoring');
      expect(cm.metadata.annotations).toEqual({ grafana_folder: 'Mining' });
    }
    const off = await helmTemplate(['--set', 'grafanaDashboards.enabled=false']);
    expect(off.filter((o) => o.kind === 'ConfigMap')).toEqual([]);

    const k8s = parseAllDocuments(await readFile(path.join(REPO_ROOT, 'k8s', 'monitoring', 'grafana-dashboards.yaml'), 'utf8')).map(
      (d) => d.toJS() as Record<string, any>,
    );
    expect(k8s.map((c) => [c.kind, c.metadata.labels.grafana_dashboard])).toEqual(DASHBOARDS.map(() => ['ConfigMap', '1']));
    for (const c of k8s) for (const [file, text] of Object.entries(c.data as Record<string, string>)) expect(text).toBe(json[file]);
  });
});
