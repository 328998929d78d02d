/**
 * Every query of every dashboard panel (and annotation), proven on real data: a real Prometheus
 * scrapes real miner processes (mining on real Stratum test pools) and the real operator
 * (reconciling real MiningPools and MinerFleets on a real kube-apiserver), with static targets
 * labelled as the chart's PodMonitor labels them (namespace, fleet, pod). The dashboards' template
 * variables are resolved through Prometheus's label API as Grafana does, substituted (All), and
 * each query is sent to the HTTP API: it must parse and return at least one series. A query reading
 * a metric marked landed: false (scripts/monitoring/metrics.ts) is listed by name and fails the test:
 * the dashboards ship only what the product exports.
 *
 * Besides the CPU miners, a `miner supervise` pod drives two emulated ASICs on one pool: its
 * minefleet_miner_* series carry a `device` label, so every join of the dashboards is also run on
 * a pod with two devices on one pool (a join that ignores `device` there is many-to-many and fails).
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS } from '../../scripts/monitoring/dashboards/index.js';
import { METRICS } from '../../scripts/monitoring/metrics.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import {
  installCrds,
  freePort,
  makeTempDir,
  spawnProcess,
  startControlPlane,
  startFerretDB,
  startPrometheus,
  type ControlPlane,
  type FerretDB,
  type ManagedProcess,
  type Prometheus,
} from '../support/index.js';
import { OPERATOR_MAIN } from '../support/fleetRig.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, startMiner, waitFor, type MinerProcess } from '../miner/helpers.js';
import { metricValue, startEmulators, startProc, type Proc } from '../external/helpers.js';
import { createNamespace, fleet, secret } from '../operator/fixtures.js';
import { allPanelQueries, dashboardVariables, parseLabelValues, pendingMetrics, substitute, type PanelQuery } from './queries.js';

const NS = 'mining';
const G = '/apis/minefleet.io/v1alpha1';
const DIFF = 0.002;
const DEVICES = ['asic-0', 'asic-1'];

let cp: ControlPlane;
let prom: Prometheus;
let ferret: FerretDB;
let poolA: StratumPool;
let poolB: StratumPool;
let operator: ManagedProcess;
let priceFeed: http.Server;
const miners: MinerProcess[] = [];
let asics: Awaited<ReturnType<typeof startEmulators>> | undefined;
let supervisor: Proc | undefined;
const startedAt = Date.now();

interface Answer {
  ok: boolean;
  series: number;
  error?: string;
}

/** Instant queries at now; range queries over the last minute (annotations: since the test began, they mark events). */
async function ask(q: PanelQuery, expr: string): Promise<Answer> {
  const now = Date.now() / 1000;
  const start = q.kind === 'annotation' ? startedAt / 1000 : now - 60;
  const url = q.instant
    ? `${prom.url}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`
    : `${prom.url}/api/v1/query_range?${new URLSearchParams({ query: expr, start: String(start), end: String(now), step: '5' }).toString()}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') return { ok: false, series: 0, error: body.error ?? `HTTP ${res.status}` };
  return { ok: true, series: body.data!.result.length };
}

/** Grafana's variable resolution: label_values(selector, label) through the label values API. */
async function resolveVariables(title: string): Promise<Record<string, { values: string[]; substitution: string }>> {
  const out: Record<string, { values: string[]; substitution: string }> = {};
  const flat = () => Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.substitution]));
  for (const v of dashboardVariables(title)) {
    const { selector, label } = parseLabelValues(v.definition!);
    const match = substitute(selector, flat());
    const res = await fetch(`${prom.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': match }).toString()}`);
    const body = (await res.json()) as { status: string; data: string[] };
    expect(body.status).toBe('success');
    out[v.name] = { values: body.data, substitution: v.allValue ?? '.+' };
  }
  return out;
}

beforeAll(async () => {
  const dir = makeTempDir('monitoring-queries');
  priceFeed = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ litecoin: { usd: 80 } }));
  });
  await new Promise<void>((resolve) => priceFeed.listen(0, '127.0.0.1', resolve));
  const priceFeedUrl = `http://127.0.0.1:${(priceFeed.address() as AddressInfo).port}`;
  [poolA, poolB] = await Promise.all([startStratumPool({ difficulty: DIFF }), startStratumPool({ difficulty: DIFF })]);
  // The history store (FerretDB) the operator writes to: its store metrics and the collector's cycle.
  [cp, ferret] = await Promise.all([startControlPlane(), startFerretDB()]);
  const rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  for (const [name, p] of [
    ['pool-a', poolA],
    ['pool-b', poolB],
  ] as const) {
    await rest.create(`${G}/namespaces/${NS}/miningpools`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MiningPool',
      metadata: { name, namespace: NS },
      // Probes every 5 s, unavailable at the first failure: pool-a's death below fails fleet alpha
      // over within seconds (the fleet pool switch the Farm dashboard annotates).
      spec: {
        url: p.url,
        coins: ['LTC'],
        credentialsSecretRef: { name: 'creds' },
        probe: { intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 1, successThreshold: 1 },
      },
    });
  }
  await rest.create(
    `${G}/namespaces/${NS}/minerfleets`,
    fleet(NS, 'alpha', 'cpu', [
      { name: 'pool-a', priority: 0 },
      { name: 'pool-b', priority: 1 },
    ]),
  );
  // beta evaluates economics: its LTC price from a real HTTP feed on 127.0.0.1, the rest static.
  const beta = fleet(NS, 'beta', 'cpu', [{ name: 'pool-b', priority: 0 }]) as { spec: Record<string, unknown> };
  beta.spec.economics = {
    enabled: true,
    power: { wattsPerMiner: 65 },
    electricityPrice: { perKWh: 0.12, currency: 'USD' },
    feeds: {
      LTC: { price: { http: { url: `${priceFeedUrl}/price`, fieldPath: 'litecoin.usd' } }, difficulty: { value: 20000000 }, blockReward: { value: 6.25 } },
    },
  };
  await rest.create(`${G}/namespaces/${NS}/minerfleets`, beta);

  const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
  operator = spawnProcess({
    name: 'operator-monitoring',
    command: process.execPath,
    args: [
      OPERATOR_MAIN,
      '--identity=op-0',
      `--lease-namespace=${NS}`,
      `--metrics-port=${metricsPort}`,
      `--probe-port=${probePort}`,
      '--bind-address=127.0.0.1',
      '--miner-image=minefleet:monitoring',
      `--history-mongodb-uri=${ferret.uri}`,
      '--history-db=monitoring',
      `--history-spill-dir=${path.join(dir, 'spill')}`,
    ],
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
    logFile: path.join(dir, 'operator.log'),
  });

  // Two fleets' miners as the PodMonitor would see them: alpha-0 on pool-a (falls back to pool-b), beta-0 on pool-b.
  miners.push(await startMiner({ ...baseConfig([poolEntry('pool-a', poolA.url), poolEntry('pool-b', poolB.url)], 'pool-a'), fleet: 'alpha', pod: 'alpha-0' }));
  miners.push(await startMiner({ ...baseConfig([poolEntry('pool-b', poolB.url)], 'pool-b'), fleet: 'beta', pod: 'beta-0' }));
  // beta-sup-0: `miner supervise` with two emulated Antminer L3+ (real cgminer API processes) on pool-b.
  asics = await startEmulators(['--model', 'antminer-l3plus', '--hashrate', '200', '--pool-dead-seconds', '2'], DEVICES.length);
  const supConfig = path.join(dir, 'supervise.json');
  writeFileSync(
    supConfig,
    JSON.stringify(
      baseConfig([poolEntry('pool-b', poolB.url)], 'pool-b', {
        fleet: 'beta',
        pod: 'beta-sup-0',
        external: { devices: DEVICES.map((name, i) => ({ name, host: '127.0.0.1', port: asics!.ports[i]! })), pollIntervalSeconds: 1, requestTimeoutMs: 5000 },
      }),
    ),
  );
  const sup = startProc(['supervise', '--config', supConfig], { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD });
  supervisor = sup;
  const supPort = await waitFor(
    'supervisor metrics server',
    () => {
      if (!sup.alive()) throw new Error(`supervise exited: ${sup.stderr()}`);
      return sup.logs.find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
    },
    60_000,
    100,
  );
  // Both devices on pool-b with a difficulty and accepted shares: the series the device joins meet on.
  await waitFor(
    'both devices report difficulty and accepted shares on pool-b',
    async () => {
      const t = await (await fetch(`http://127.0.0.1:${supPort}/metrics`)).text();
      return DEVICES.every(
        (device) =>
          (metricValue(t, 'minefleet_miner_difficulty', { device, pool: 'pool-b' }) ?? 0) > 0 &&
          (metricValue(t, 'minefleet_miner_shares_total', { device, pool: 'pool-b', result: 'accepted' }) ?? 0) > 0,
      );
    },
    120_000,
    250,
  );
  const target = (m: MinerProcess, fleetName: string, pod: string) => ({
    targets: [`127.0.0.1:${m.metricsPort()}`],
    labels: { namespace: NS, fleet: fleetName, pod },
  });
  prom = await startPrometheus({
    scrapeConfigs: [
      {
        job_name: 'minefleet-miners',
        static_configs: [
          target(miners[0]!, 'alpha', 'alpha-0'),
          target(miners[1]!, 'beta', 'beta-0'),
          { targets: [`127.0.0.1:${supPort}`], labels: { namespace: NS, fleet: 'beta', pod: 'beta-sup-0' } },
        ],
      },
      { job_name: 'minefleet-operator', static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }] },
    ],
  });

  // Real events behind the counters the Miner dashboard shows: shares on both pools, a malformed
  // line, a dropped connection (reconnect), and pool-a dying (fallback and pool switch).
  await waitFor(
    'accepted shares on both pools',
    () => poolA.shares.some((s) => s.result === 'accepted') && poolB.shares.some((s) => s.result === 'accepted'),
    120_000,
    200,
  );
  poolA.sendRaw('this is not json');
  await waitFor('bad message counted', async () => (await miners[0]!.metric('minefleet_miner_bad_messages_total')) > 0, 30_000, 200);
  poolB.disconnectAll();
  await waitFor('beta-0 reconnected', async () => (await miners[1]!.metric('minefleet_miner_reconnects_total')) > 0, 60_000, 200);
  // The operator's side of pool-a dying: its probe fails, the circuit opens, fleet alpha fails over.
  const alpha = async () => (await rest.get<{ status?: { activePool?: string } }>(`${G}/namespaces/${NS}/minerfleets/alpha`)).status?.activePool;
  await waitFor('fleet alpha on pool-a', async () => (await alpha()) === 'pool-a', 60_000, 250);
  await poolA.stop();
  await waitFor('alpha-0 fell back to pool-b', async () => (await miners[0]!.metric('minefleet_miner_pool_fallbacks_total')) > 0, 120_000, 250);
  await waitFor('fleet alpha failed over to pool-b', async () => (await alpha()) === 'pool-b', 60_000, 250);
}, 600_000);

afterAll(async () => {
  for (const m of miners) await m.stop();
  await supervisor?.stop();
  await asics?.p.stop();
  await operator?.stop();
  await prom?.stop();
  await poolB?.stop();
  await cp?.stop();
  await ferret?.stop();
  await new Promise((resolve) => priceFeed?.close(resolve));
});

describe('every dashboard query on a real Prometheus', () => {
  it('parses, and returns at least one series for every query', async () => {
    const queries = allPanelQueries();
    const vars = new Map<string, Record<string, string>>();
    for (const d of DASHBOARDS) {
      const resolved = await waitFor(
        `variables of ${d.title}`,
        async () => {
          const r = await resolveVariables(d.title);
          return Object.values(r).every((v) => v.values.length > 0) ? r : undefined;
        },
        120_000,
        500,
      );
      if (d.file !== 'minefleet-operator') {
        expect(resolved.namespace!.values).toEqual([NS]);
        expect(resolved.fleet!.values).toEqual(['alpha', 'beta']);
      }
      vars.set(d.title, Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, v.substitution])));
    }
    const run = async () =>
      Promise.all(
        queries.map(async (q) => {
          const expr = substitute(q.expr, vars.get(q.dashboard)!);
          return { q, expr, pending: pendingMetrics(q.expr).map((m) => m.name), answer: await ask(q, expr) };
        }),
      );
    // Rates need two samples inside $__rate_interval and some series appear a scrape later: wait
    // until every landed query answers, then judge the last round.
    let results = await run();
    const missing = () => results.filter((r) => r.pending.length === 0 && (!r.answer.ok || r.answer.series === 0));
    const deadline = Date.now() + 120_000;
    while (missing().length > 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 2_000));
      results = await run();
    }

    if (missing().length)
      console.log(
        `no series:\n${missing()
          .map((r) => `${r.q.dashboard} / ${r.q.panel}: ${r.expr} ${r.answer.error ?? ''}`)
          .join('\n')}`,
      );
    for (const r of results) expect(r.answer.error, `${r.q.dashboard} / ${r.q.panel} ${r.q.refId}: ${r.expr}`).toBeUndefined();
    expect(missing().map((r) => `${r.q.dashboard} / ${r.q.panel} ${r.q.refId}: ${r.expr}`)).toEqual([]);

    // The report: per dashboard, panels and queries proven; then every query still waiting for a metric.
    const lines: string[] = [];
    for (const d of DASHBOARDS) {
      const mine = results.filter((r) => r.q.dashboard === d.title);
      const panels = new Set(mine.filter((r) => r.q.kind === 'panel').map((r) => r.q.panel)).size;
      const proven = mine.filter((r) => r.answer.series > 0).length;
      lines.push(
        `${d.title}: ${panels} panels, ${mine.length} queries (${mine.filter((r) => r.q.kind === 'annotation').length} annotations), ${proven} proven with >= 1 series, ${mine.filter((r) => r.pending.length).length} waiting for unlanded metrics`,
      );
    }
    const waiting = results.filter((r) => r.pending.length > 0);
    for (const r of waiting)
      lines.push(`  waiting: ${r.q.dashboard} / ${r.q.panel} ${r.q.refId} (series now: ${r.answer.series}) needs ${r.pending.join(', ')}`);
    console.log(`dashboard query proof\n${lines.join('\n')}`);
    // Every metric marked landed that a query reads was seen by Prometheus.
    const seen = new Set(((await (await fetch(`${prom.url}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    const landedUnseen = METRICS.filter((m) => m.landed && ![m.name, `${m.name}_bucket`].some((n) => seen.has(n))).map((m) => m.name);
    expect(landedUnseen).toEqual([]);
    // The bar: every query of every panel and annotation answers with a series, none waiting.
    expect(waiting.map((r) => `${r.q.dashboard} / ${r.q.panel} ${r.q.refId}`)).toEqual([]);
    expect(results.filter((r) => r.answer.series === 0).map((r) => `${r.q.dashboard} / ${r.q.panel} ${r.q.refId}`)).toEqual([]);
  }, 400_000);

  it('pool-credited hashrate joins shares and difficulty per device: a pod with two devices on one pool is no many-to-many match', async () => {
    const q = allPanelQueries().find((x) => x.panel === 'Hashrate credited by pools')!;
    const vars = { namespace: '.+', fleet: '.+' };
    const expr = substitute(q.expr, vars);
    expect(expr).toContain('on (namespace, pod, device, pool) group_left ()');
    // The data does hold the hazard: without device in the join, Prometheus refuses the query.
    const naive = expr
      .replace('sum by (namespace, fleet, pod, device, pool)', 'sum by (namespace, fleet, pod, pool)')
      .replace('on (namespace, pod, device, pool)', 'on (namespace, pod, pool)');
    expect(naive).not.toContain('device');
    const refused = await ask(q, naive);
    expect(refused.ok, naive).toBe(false);
    expect(refused.error).toMatch(/many-to-many|duplicate series/);
    // The dashboard's query answers, and beta's credited rate counts the supervisor's devices: it
    // is more than beta-0 (the CPU miner) alone.
    const answer = await ask(q, expr);
    expect(answer).toMatchObject({ ok: true });
    expect(answer.series).toBeGreaterThanOrEqual(2);
    // One evaluation time for the three, so they see the same samples.
    const at = String(Date.now() / 1000);
    const instant = async (e: string): Promise<number> => {
      const body = (await (await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: e, time: at }).toString()}`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      return Number(body.data.result[0]?.value[1] ?? NaN);
    };
    const beta = await instant(substitute(q.expr, { ...vars, fleet: 'beta' }));
    const betaCpu = await instant(
      `(sum(rate(minefleet_miner_shares_total{namespace="${NS}", pod="beta-0", result="accepted"}[30s]) * on (pool) group_left () minefleet_miner_difficulty{namespace="${NS}", pod="beta-0"}) * 65536) or vector(0)`,
    );
    const devices = await instant(
      `sum(sum by (device, pool) (rate(minefleet_miner_shares_total{namespace="${NS}", pod="beta-sup-0", result="accepted"}[30s])) * on (device, pool) group_left () minefleet_miner_difficulty{namespace="${NS}", pod="beta-sup-0"}) * 65536`,
    );
    expect(devices).toBeGreaterThan(0);
    expect(beta).toBeCloseTo(betaCpu + devices, 6);
  });
});
