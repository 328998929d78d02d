/**
 * The minefleet alerts, written once and rendered twice: a plain Prometheus rules file
 * (k8s/monitoring/minefleet-alerts.rules.yaml) and the chart's PrometheusRule template, where the
 * operator's job selector, the lease name, every `for:` and the thresholds come from values.yaml.
 * Each alert has a runbook section in the README (## Alerts runbook), linked by its anchor.
 */
import { metric } from './metrics.js';

export type Severity = 'critical' | 'warning' | 'info';

/** What differs between the plain file and the chart. */
export interface RuleParams {
  /** Label matchers that select the operator's own targets, e.g. `job="minefleet-operator"`. */
  operator: string;
  /** The leader Lease name, as a quoted PromQL string. */
  lease: string;
  /** `for:` of an alert (its default duration is given). */
  forOf: (alert: string, dflt: string) => string;
  /** A threshold (its default is given). */
  threshold: (name: keyof typeof THRESHOLDS) => string;
}

/** Thresholds (also the chart's values.yaml defaults, prometheusRule.thresholds). */
export const THRESHOLDS = {
  /** Fraction of the fleet's hashrate an hour ago below which FleetHashrateDropped fires. */
  hashrateDropRatio: 0.7,
  /** Fraction of rejected or stale shares above which HighRejectRate fires. */
  rejectRatio: 0.05,
  /** Seconds since an economics feed's last good value after which EconomicsFeedStale fires. */
  feedMaxAgeSeconds: 1800,
  /** Fraction of collector cycles that overran the interval (15 min) above which HistoryCollectorBehind fires. */
  collectorOverrunRatio: 0.1,
} as const;

export interface AlertSpec {
  alert: string;
  group: 'minefleet-fleets' | 'minefleet-miners' | 'minefleet-operator';
  severity: Severity;
  for: string;
  expr: (p: RuleParams) => string;
  summary: string;
  description: string;
}

const hashrate = metric('minefleet_miner_hashrate_hashes_per_second');
const shares = metric('minefleet_miner_shares_total');

export const ALERTS: readonly AlertSpec[] = [
  {
    alert: 'FleetHashrateDropped',
    group: 'minefleet-fleets',
    severity: 'warning',
    for: '10m',
    expr: (p) =>
      `sum by (namespace, fleet) (avg_over_time(${hashrate}{window="60s"}[10m]))\n` +
      `  < ${p.threshold('hashrateDropRatio')} * sum by (namespace, fleet) (avg_over_time(${hashrate}{window="60s"}[10m] offset 1h))\n` +
      `unless on (namespace, fleet) (max by (namespace, fleet) (${metric('minefleet_fleet_suspended')}) == 1)`,
    summary: 'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} hashes far less than an hour ago.',
    description:
      'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} hashes {{ $value | humanize }}H/s (10 min average), below the configured fraction of its rate an hour earlier, for 10 minutes: miners crashed, throttled, or failing over.',
  },
  {
    alert: 'FleetAllPoolsDown',
    group: 'minefleet-fleets',
    severity: 'critical',
    for: '3m',
    expr: () => `max by (namespace, fleet) (${metric('minefleet_miner_pool_connection_state')}{state="authorized"}) < 1`,
    summary: 'No miner of fleet {{ $labels.namespace }}/{{ $labels.fleet }} is authorized on any pool.',
    description:
      'Every miner of fleet {{ $labels.namespace }}/{{ $labels.fleet }} has been without an authorized pool connection for 3 minutes: all of its pools are down, unreachable, or refuse the credentials. The fleet earns nothing.',
  },
  {
    alert: 'PoolDown',
    group: 'minefleet-fleets',
    severity: 'warning',
    for: '5m',
    expr: () => `max by (namespace, pool) (${metric('minefleet_pool_up')}) == 0`,
    summary: 'MiningPool {{ $labels.namespace }}/{{ $labels.pool }} fails its probes.',
    description:
      "The operator's Stratum probe of MiningPool {{ $labels.namespace }}/{{ $labels.pool }} has failed for 5 minutes (see status.lastError: kubectl get mp {{ $labels.pool }} -n {{ $labels.namespace }} -o yaml). Fleets fail over to their next pool.",
  },
  {
    alert: 'HighRejectRate',
    group: 'minefleet-fleets',
    severity: 'warning',
    for: '15m',
    expr: (p) =>
      `sum by (namespace, fleet) (rate(${shares}{result=~"rejected|stale"}[15m]))\n` +
      `  / sum by (namespace, fleet) (rate(${shares}[15m]))\n` +
      `  > ${p.threshold('rejectRatio')}`,
    summary: 'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} has many rejected or stale shares.',
    description: '{{ $value | humanizePercentage }} of the shares of fleet {{ $labels.namespace }}/{{ $labels.fleet }} were rejected or stale over 15 minutes.',
  },
  {
    alert: 'MinersNotReady',
    group: 'minefleet-fleets',
    severity: 'warning',
    for: '15m',
    expr: () =>
      `max by (namespace, fleet) (${metric('minefleet_fleet_ready_replicas')})\n` +
      `  < max by (namespace, fleet) (${metric('minefleet_fleet_desired_replicas')})`,
    summary: 'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} has fewer ready miners than desired.',
    description:
      'Only {{ $value }} miners of fleet {{ $labels.namespace }}/{{ $labels.fleet }} have been ready for 15 minutes, fewer than desired: pods pending (no node with the device), crash-looping, or failing readiness.',
  },
  {
    alert: 'FleetSuspended',
    group: 'minefleet-fleets',
    severity: 'info',
    for: '5m',
    expr: () => `max by (namespace, fleet) (${metric('minefleet_fleet_suspended')}) == 1`,
    summary: 'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} is suspended because mining does not pay.',
    description:
      'Fleet {{ $labels.namespace }}/{{ $labels.fleet }} has been scaled to zero (or its ASICs paused) by its economics policy: the margin stayed below spec.economics.minMarginPercent. It resumes on its own above resumeMarginPercent.',
  },
  {
    alert: 'EconomicsFeedStale',
    group: 'minefleet-fleets',
    severity: 'warning',
    for: '10m',
    expr: (p) =>
      `(max by (source) (${metric('minefleet_economics_feed_up')}) == 0)\n` +
      `or\n` +
      `(max by (source) (${metric('minefleet_economics_feed_age_seconds')}) > ${p.threshold('feedMaxAgeSeconds')})`,
    summary: 'Economics feed {{ $labels.source }} is failing or stale.',
    description:
      'The price/difficulty/reward feed {{ $labels.source }} (shared by every fleet whose spec.economics reads it) has failed or its last good value has been older than the limit for 10 minutes; those fleets follow spec.economics.onStaleFeed (Hold or Suspend).',
  },
  {
    alert: 'MinerNoAcceptedShares',
    group: 'minefleet-miners',
    severity: 'warning',
    for: '30m',
    expr: () =>
      `sum by (namespace, fleet, pod) (rate(${metric('minefleet_miner_hashes_total')}[5m])) > 0\n` +
      `unless\n` +
      `sum by (namespace, fleet, pod) (increase(${shares}{result="accepted"}[30m])) > 0`,
    summary: 'Miner {{ $labels.namespace }}/{{ $labels.pod }} hashes but has no accepted share.',
    description:
      'Miner {{ $labels.namespace }}/{{ $labels.pod }} of fleet {{ $labels.fleet }} has hashed for 30 minutes without an accepted share: wrong credentials, a stale job or a pool problem.',
  },
  {
    alert: 'MinerNotAuthorized',
    group: 'minefleet-miners',
    severity: 'warning',
    for: '10m',
    expr: () => `max by (namespace, fleet, pod) (${metric('minefleet_miner_pool_connection_state')}{state="authorized"}) < 1`,
    summary: 'Miner {{ $labels.namespace }}/{{ $labels.pod }} is not authorized on any pool.',
    description:
      'Miner {{ $labels.namespace }}/{{ $labels.pod }} of fleet {{ $labels.fleet }} has not been authorized on a pool for 10 minutes (connecting, failing over, or refused).',
  },
  {
    alert: 'OperatorAbsent',
    group: 'minefleet-operator',
    severity: 'critical',
    for: '5m',
    expr: (p) => `absent(up{${p.operator}} == 1)`,
    summary: 'No minefleet operator replica is being scraped.',
    description:
      'No minefleet operator target has been up for 5 minutes: fleets are not reconciled, pools are not probed and fleets do not fail over at fleet level (miners still fall back on their own).',
  },
  {
    alert: 'OperatorNoLeader',
    group: 'minefleet-operator',
    severity: 'critical',
    for: '5m',
    expr: (p) => `max(${metric('leader_election_master_status')}{${p.operator}, name=${p.lease}}) < 1`,
    summary: 'Operator replicas are up but none holds the leader Lease.',
    description:
      'No minefleet operator replica has held the leader Lease for 5 minutes; nothing reconciles. Check the Lease and the operator logs (API server reachable, RBAC on leases).',
  },
  {
    alert: 'ReconcileErrors',
    group: 'minefleet-operator',
    severity: 'warning',
    for: '15m',
    expr: (p) => `sum by (controller) (rate(${metric('controller_runtime_reconcile_errors_total')}{${p.operator}}[5m])) > 0`,
    summary: 'Controller {{ $labels.controller }} keeps failing to reconcile.',
    description:
      'Controller {{ $labels.controller }} has failed reconciles ({{ $value | humanize }}/s) for 15 minutes; see the Warning events of the objects (kubectl describe mf,mp) and the operator logs.',
  },
  {
    alert: 'HistoryStoreDown',
    group: 'minefleet-operator',
    severity: 'warning',
    for: '5m',
    expr: (p) => `min by (instance) (${metric('minefleet_store_available')}{${p.operator}}) == 0`,
    summary: 'The operator {{ $labels.instance }} cannot reach MongoDB.',
    description:
      'The history store of operator {{ $labels.instance }} has failed to reach MongoDB for 5 minutes. Samples, shares and decisions are buffered (memory, then spill file) and replayed when it is back.',
  },
  {
    alert: 'HistorySpillGrowing',
    group: 'minefleet-operator',
    severity: 'warning',
    for: '15m',
    expr: (p) =>
      `sum by (instance) (${metric('minefleet_store_buffered_documents')}{${p.operator}, location="spill"}) > 0\n` +
      `and\n` +
      `sum by (instance) (deriv(${metric('minefleet_store_buffered_documents')}{${p.operator}, location="spill"}[15m])) > 0`,
    summary: 'The history spill file of operator {{ $labels.instance }} keeps growing.',
    description:
      'The history spill file of operator {{ $labels.instance }} holds {{ $value | humanize }} documents and has kept growing for 15 minutes: MongoDB is down or slower than the ingest. When the spill file is full, documents are dropped.',
  },
  {
    alert: 'HistoryCollectorBehind',
    group: 'minefleet-operator',
    severity: 'warning',
    for: '15m',
    expr: (p) =>
      `sum by (instance) (increase(${metric('minefleet_collector_cycle_overruns_total')}{${p.operator}}[15m]))\n` +
      `  > ${p.threshold('collectorOverrunRatio')} * sum by (instance) (increase(${metric('minefleet_collector_cycle_seconds')}_count{${p.operator}}[15m]))`,
    summary: 'The history collector of operator {{ $labels.instance }} does not keep up with its interval.',
    description:
      'Collector cycles of operator {{ $labels.instance }} keep taking longer than the collection interval ({{ $value | humanize }} overruns in 15 minutes): every miner is sampled less often than configured, and status and history lag behind.',
  },
];

/** README anchor of an alert's runbook section (the README heading is "### <AlertName>"). */
export function runbookAnchor(alert: string): string {
  return `README.md#${alert.toLowerCase()}`;
}

export interface PromRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The rule groups for one parameter set; `annotate` escapes annotation text (for Helm). */
export function ruleGroups(p: RuleParams, annotate: (s: string) => string = (s) => s): Array<{ name: string; rules: PromRule[] }> {
  const groups = new Map<string, PromRule[]>();
  for (const a of ALERTS) {
    const rules = groups.get(a.group) ?? [];
    rules.push({
      alert: a.alert,
      expr: a.expr(p),
      for: p.forOf(a.alert, a.for),
      labels: { severity: a.severity },
      annotations: { summary: annotate(a.summary), description: annotate(a.description), runbook: runbookAnchor(a.alert) },
    });
    groups.set(a.group, rules);
  }
  return [...groups].map(([name, rules]) => ({ name, rules }));
}

/** The plain rules file's parameters: the operator scraped as job "minefleet-operator". */
export const PLAIN_PARAMS: RuleParams = {
  operator: 'job="minefleet-operator"',
  lease: '"minefleet-operator"',
  forOf: (_a, d) => d,
  threshold: (n) => String(THRESHOLDS[n]),
};

/** The chart's parameters: Helm expressions resolved from values.yaml at install time. */
export const HELM_PARAMS: RuleParams = {
  operator: ' {{- $sel -}} ',
  lease: '{{ .Values.leaderElection.leaseName | quote }}',
  forOf: (a) => `{{ .Values.prometheusRule.for.${a} }}`,
  threshold: (n) => `{{ .Values.prometheusRule.thresholds.${n} }}`,
};

/** Prometheus templates in annotations must reach Prometheus verbatim through Helm. */
export function escapeForHelm(s: string): string {
  return s.replaceAll('{{', '{{`{{`}}');
}
