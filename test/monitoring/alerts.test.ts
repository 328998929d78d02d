/**
 * The alert rules judged by Prometheus's own promtool: `check rules` on the plain rules file (the
 * chart renders the same rules, test/monitoring/generation.test.ts), and `test rules` with, for
 * every alert, a firing case (exact labels and rendered annotations), a case where the
 * condition holds but not yet for its `for:`, and a healthy case that never fires.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ALERTS, runbookAnchor } from '../../scripts/monitoring/alerts.js';
import { PLAIN_RULES_FILE } from '../../scripts/monitoring/render.js';
import { makeTempDir, removeTempDir, REPO_ROOT, runTool, systemBinPath } from '../support/index.js';

const RULES = path.join(REPO_ROOT, PLAIN_RULES_FILE);
const OP = 'job="minefleet-operator"';

interface Series {
  series: string;
  values: string;
}
interface Case {
  alert: string;
  /** Series under which the alert fires at `late` (and not yet at `early`). */
  bad: Series[];
  /** Healthy series: nothing fires at `late`. */
  good: Series[];
  early: string;
  late: string;
  /** The alerts expected at `late`: their labels (severity added) and the value the annotations show. */
  fires: Array<{ labels: Record<string, string>; value?: string }>;
}

const s = (series: string, values: string): Series => ({ series, values });

const CASES: Case[] = [
  {
    alert: 'FleetHashrateDropped',
    bad: [
      s('minefleet_miner_hashrate_hashes_per_second{namespace="mining",fleet="f",pod="p1",window="60s"}', '1000x70 100x30'),
      // A suspended fleet whose hashrate went away on purpose does not alert.
      s('minefleet_miner_hashrate_hashes_per_second{namespace="mining",fleet="s",pod="q1",window="60s"}', '1000x70 100x30'),
      s('minefleet_fleet_suspended{namespace="mining",fleet="s"}', '0x70 1x30'),
    ],
    good: [s('minefleet_miner_hashrate_hashes_per_second{namespace="mining",fleet="f",pod="p1",window="60s"}', '1000x100')],
    early: '78m',
    late: '95m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f' }, value: '100' }],
  },
  {
    alert: 'FleetAllPoolsDown',
    bad: [
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p1",pool="a",state="authorized"}', '0x20'),
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p1",pool="b",state="authorized"}', '0x20'),
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p2",pool="b",state="authorized"}', '0x20'),
    ],
    good: [
      // One miner still on its fallback pool is enough.
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p1",pool="a",state="authorized"}', '0x20'),
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p2",pool="b",state="authorized"}', '1x20'),
    ],
    early: '2m',
    late: '10m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f' } }],
  },
  {
    alert: 'PoolDown',
    bad: [s('minefleet_pool_up{job="minefleet-operator",instance="op-0",namespace="mining",pool="ltc-a"}', '0x20')],
    good: [s('minefleet_pool_up{job="minefleet-operator",instance="op-0",namespace="mining",pool="ltc-a"}', '1x20')],
    early: '3m',
    late: '10m',
    fires: [{ labels: { namespace: 'mining', pool: 'ltc-a' } }],
  },
  {
    alert: 'HighRejectRate',
    bad: [
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="accepted",reason=""}', '0+2x60'),
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="rejected",reason="low difficulty"}', '0+2x60'),
    ],
    good: [
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="accepted",reason=""}', '0+100x60'),
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="rejected",reason="low difficulty"}', '0+1x60'),
    ],
    early: '10m',
    late: '40m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f' }, value: '50%' }],
  },
  {
    alert: 'MinersNotReady',
    bad: [
      s('minefleet_fleet_ready_replicas{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '2x30'),
      s('minefleet_fleet_desired_replicas{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '3x30'),
    ],
    good: [
      s('minefleet_fleet_ready_replicas{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '3x30'),
      s('minefleet_fleet_desired_replicas{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '3x30'),
    ],
    early: '10m',
    late: '20m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f' }, value: '2' }],
  },
  {
    alert: 'FleetSuspended',
    bad: [s('minefleet_fleet_suspended{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '1x20')],
    good: [s('minefleet_fleet_suspended{job="minefleet-operator",instance="op-0",namespace="mining",fleet="f"}', '0x20')],
    early: '3m',
    late: '10m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f' } }],
  },
  {
    alert: 'EconomicsFeedStale',
    bad: [
      s('minefleet_economics_feed_up{job="minefleet-operator",instance="op-0",source="https://prices.example/ltc"}', '0x20'),
      s('minefleet_economics_feed_up{job="minefleet-operator",instance="op-0",source="http://litecoind:9332/ getmininginfo"}', '1x20'),
      s('minefleet_economics_feed_age_seconds{job="minefleet-operator",instance="op-0",source="http://litecoind:9332/ getmininginfo"}', '3600x20'),
    ],
    good: [
      s('minefleet_economics_feed_up{job="minefleet-operator",instance="op-0",source="https://prices.example/ltc"}', '1x20'),
      s('minefleet_economics_feed_age_seconds{job="minefleet-operator",instance="op-0",source="https://prices.example/ltc"}', '60x20'),
    ],
    early: '5m',
    late: '15m',
    fires: [{ labels: { source: 'http://litecoind:9332/ getmininginfo' } }, { labels: { source: 'https://prices.example/ltc' } }],
  },
  {
    alert: 'MinerNoAcceptedShares',
    bad: [
      s('minefleet_miner_hashes_total{namespace="mining",fleet="f",pod="p1"}', '0+6000x60'),
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="accepted",reason=""}', '0+2x60'),
      s('minefleet_miner_hashes_total{namespace="mining",fleet="f",pod="p2"}', '0+6000x60'),
    ],
    good: [
      s('minefleet_miner_hashes_total{namespace="mining",fleet="f",pod="p1"}', '0+6000x60'),
      s('minefleet_miner_shares_total{namespace="mining",fleet="f",pod="p1",pool="a",result="accepted",reason=""}', '0+2x60'),
    ],
    early: '20m',
    late: '40m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f', pod: 'p2' } }],
  },
  {
    alert: 'MinerNotAuthorized',
    bad: [
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p1",pool="a",state="authorized"}', '1x30'),
      s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p2",pool="a",state="authorized"}', '0x30'),
    ],
    good: [s('minefleet_miner_pool_connection_state{namespace="mining",fleet="f",pod="p2",pool="a",state="authorized"}', '1x30')],
    early: '5m',
    late: '20m',
    fires: [{ labels: { namespace: 'mining', fleet: 'f', pod: 'p2' } }],
  },
  {
    alert: 'OperatorAbsent',
    bad: [s(`up{${OP},instance="10.0.0.1:8080"}`, '0x20'), s(`up{job="other",instance="10.0.0.9:9100"}`, '1x20')],
    good: [s(`up{${OP},instance="10.0.0.1:8080"}`, '0x20'), s(`up{${OP},instance="10.0.0.2:8080"}`, '1x20')],
    early: '3m',
    late: '10m',
    fires: [{ labels: {} }],
  },
  {
    alert: 'OperatorNoLeader',
    bad: [
      s(`leader_election_master_status{${OP},instance="a",name="minefleet-operator"}`, '0x20'),
      s(`leader_election_master_status{${OP},instance="b",name="minefleet-operator"}`, '0x20'),
    ],
    good: [
      s(`leader_election_master_status{${OP},instance="a",name="minefleet-operator"}`, '0x20'),
      s(`leader_election_master_status{${OP},instance="b",name="minefleet-operator"}`, '1x20'),
    ],
    early: '3m',
    late: '10m',
    fires: [{ labels: {} }],
  },
  {
    alert: 'ReconcileErrors',
    bad: [s(`controller_runtime_reconcile_errors_total{${OP},instance="a",controller="minerfleet"}`, '0+3x30')],
    good: [s(`controller_runtime_reconcile_errors_total{${OP},instance="a",controller="minerfleet"}`, '0+3x5 15x25')],
    early: '10m',
    late: '25m',
    fires: [{ labels: { controller: 'minerfleet' }, value: '50m' }],
  },
  {
    alert: 'HistoryStoreDown',
    bad: [s(`minefleet_store_available{${OP},instance="a"}`, '0x20')],
    good: [s(`minefleet_store_available{${OP},instance="a"}`, '1x20')],
    early: '3m',
    late: '10m',
    fires: [{ labels: { instance: 'a' } }],
  },
  {
    alert: 'HistorySpillGrowing',
    bad: [
      s(`minefleet_store_buffered_documents{${OP},instance="a",location="spill"}`, '0+10x40'),
      s(`minefleet_store_buffered_documents{${OP},instance="a",location="memory"}`, '5000x40'),
    ],
    // A spill file that is being replayed (shrinking) is fine.
    good: [s(`minefleet_store_buffered_documents{${OP},instance="a",location="spill"}`, '400-10x40')],
    early: '10m',
    late: '30m',
    fires: [{ labels: { instance: 'a' }, value: '300' }],
  },
  {
    alert: 'HistoryCollectorBehind',
    // 15 s cycles (4 a minute), one a minute overrunning: 25 %.
    bad: [
      s(`minefleet_collector_cycle_seconds_count{${OP},instance="a"}`, '0+4x40'),
      s(`minefleet_collector_cycle_overruns_total{${OP},instance="a"}`, '0+1x40'),
    ],
    // An overrun now and then (one in 20 cycles) is no alert.
    good: [
      s(`minefleet_collector_cycle_seconds_count{${OP},instance="a"}`, '0+4x40'),
      s(`minefleet_collector_cycle_overruns_total{${OP},instance="a"}`, '0+0.2x40'),
    ],
    early: '10m',
    late: '35m',
    fires: [{ labels: { instance: 'a' }, value: '15' }],
  },
];

/** The annotation text Prometheus should render: labels and value put into the rule's templates. */
function rendered(template: string, labels: Record<string, string>, value: string | undefined): string {
  return template
    .replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_m, l: string) => labels[l] ?? '')
    .replace(/\{\{ \$value( \| humanize(Percentage)?)? \}\}/g, () => {
      if (value === undefined) throw new Error(`template ${template} shows $value: give it in the case`);
      return value;
    });
}

function promtoolTests(): object {
  const tests: object[] = [];
  for (const c of CASES) {
    const a = ALERTS.find((x) => x.alert === c.alert)!;
    tests.push({
      name: `${c.alert} fires`,
      interval: '1m',
      input_series: c.bad,
      alert_rule_test: [
        { eval_time: c.early, alertname: c.alert, exp_alerts: [] },
        {
          eval_time: c.late,
          alertname: c.alert,
          exp_alerts: c.fires.map((f) => ({
            exp_labels: { severity: a.severity, ...f.labels },
            exp_annotations: {
              summary: rendered(a.summary, f.labels, f.value),
              description: rendered(a.description, f.labels, f.value),
              runbook: runbookAnchor(a.alert),
            },
          })),
        },
      ],
    });
    tests.push({
      name: `${c.alert} healthy`,
      interval: '1m',
      input_series: c.good,
      alert_rule_test: [{ eval_time: c.late, alertname: c.alert, exp_alerts: [] }],
    });
  }
  return { rule_files: [RULES], evaluation_interval: '1m', tests };
}

describe('alert rules under promtool', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('promtool');
  });
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('every alert has a firing, a not-yet and a healthy case', () => {
    expect(CASES.map((c) => c.alert).sort()).toEqual(ALERTS.map((a) => a.alert).sort());
  });

  it('promtool check rules accepts the rules file', async () => {
    const r = await runTool(systemBinPath('promtool'), ['check', 'rules', RULES]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
  });

  it('promtool test rules: each alert fires on its condition after for:, and not on healthy data', async () => {
    const file = path.join(dir, 'tests.yaml');
    writeFileSync(file, stringify(promtoolTests()));
    const r = await runTool(systemBinPath('promtool'), ['test', 'rules', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('promtool test rules fails when an alert does not fire as expected (the harness is not vacuous)', async () => {
    const file = path.join(dir, 'wrong.yaml');
    const c = CASES.find((x) => x.alert === 'PoolDown')!;
    writeFileSync(
      file,
      stringify({
        rule_files: [RULES],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: c.good,
            alert_rule_test: [
              { eval_time: c.late, alertname: 'PoolDown', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'mining', pool: 'ltc-a' } }] },
            ],
          },
        ],
      }),
    );
    const r = await runTool(systemBinPath('promtool'), ['test', 'rules', file]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/FAILED/);
  });
});
