/**
 * Every metric the dashboards and alerts read, in one list: who exports it, its labels, and
 * whether it exists in main yet. `landed: false` would mark a metric another issue is still adding:
 * the query-proof test (test/monitoring/queries.test.ts) requires a series for every query and
 * names the queries that read such a metric, so this list is the checkable record of what the
 * dashboards would still wait for (today: nothing).
 *
 * Label conventions (what Prometheus sees after relabelling):
 * - miner metrics: the target labels `namespace`, `pod` (Prometheus Operator PodMonitor) and
 *   `fleet` (relabelled from the pod label minefleet.io/fleet, helm/minefleet/templates/podmonitor.yaml).
 *   `device` is on the sample only where `miner supervise` (miner/src/external/metrics.ts) exports
 *   the metric too: one series per device there, no `device` label on a CPU miner. A query that
 *   joins two of these (`on (...)`) must match on `device` as well, or aggregate it away first,
 *   else a pod with two devices on one pool is a many-to-many match and the query errors.
 * - operator metrics about a MiningPool or MinerFleet: `namespace` and `pool`/`fleet` as labels of
 *   the sample itself (the ServiceMonitor sets honorLabels so they are not renamed exported_*).
 */

export type MetricSource = 'miner' | 'operator';

export interface MetricSpec {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  source: MetricSource;
  /** Labels on the sample as exported (target labels namespace/pod/fleet come on top for miners). */
  labels: string[];
  /** Where it is (or will be) defined. */
  owner: string;
  /** true once the metric is exported by code in main. */
  landed: boolean;
}

const miner = (name: string, type: MetricSpec['type'], labels: string[] = []): MetricSpec => ({
  name,
  type,
  source: 'miner',
  labels,
  owner: labels.includes('device')
    ? 'miner/src/metrics/metrics.ts; with device: miner/src/external/metrics.ts (miner supervise)'
    : 'miner/src/metrics/metrics.ts',
  landed: true,
});

export const METRICS: readonly MetricSpec[] = [
  // Miner (miner/src/metrics/metrics.ts)
  miner('minefleet_miner_hashes_total', 'counter', ['device']),
  miner('minefleet_miner_hashrate_hashes_per_second', 'gauge', ['device', 'window']),
  miner('minefleet_miner_thread_hashrate_hashes_per_second', 'gauge', ['thread']),
  miner('minefleet_miner_shares_total', 'counter', ['device', 'pool', 'result', 'reason']),
  miner('minefleet_miner_difficulty', 'gauge', ['device', 'pool']),
  miner('minefleet_miner_active_pool', 'gauge', ['device', 'pool']),
  miner('minefleet_miner_pool_connection_state', 'gauge', ['device', 'pool', 'state']),
  miner('minefleet_miner_reconnects_total', 'counter', ['device', 'pool', 'reason']),
  miner('minefleet_miner_pool_switches_total', 'counter', ['device', 'from', 'to', 'cause']),
  miner('minefleet_miner_pool_fallbacks_total', 'counter', ['device', 'from', 'to', 'reason']),
  miner('minefleet_miner_bad_messages_total', 'counter', ['pool', 'kind']),
  miner('minefleet_miner_job_age_seconds', 'gauge'),
  miner('minefleet_miner_threads', 'gauge'),
  // Operator runtime (operator/src/metrics/runtime-metrics.ts), controller-runtime names
  ...(
    [
      ['controller_runtime_reconcile_total', 'counter', ['controller', 'result']],
      ['controller_runtime_reconcile_errors_total', 'counter', ['controller']],
      ['controller_runtime_reconcile_time_seconds', 'histogram', ['controller']],
      ['controller_runtime_active_workers', 'gauge', ['controller']],
      ['controller_runtime_max_concurrent_reconciles', 'gauge', ['controller']],
      ['workqueue_depth', 'gauge', ['name', 'controller']],
      ['workqueue_adds_total', 'counter', ['name', 'controller']],
      ['workqueue_retries_total', 'counter', ['name', 'controller']],
      ['workqueue_queue_duration_seconds', 'histogram', ['name', 'controller']],
      ['workqueue_work_duration_seconds', 'histogram', ['name', 'controller']],
      ['leader_election_master_status', 'gauge', ['name']],
      // prom-client default metrics, unprefixed in the operator and the miner alike (the miner
      // dashboard selects its pods by the target labels)
      ['process_cpu_seconds_total', 'counter', []],
      ['process_resident_memory_bytes', 'gauge', []],
    ] as const
  ).map(([name, type, labels]): MetricSpec => ({
    name,
    type,
    source: 'operator',
    labels: [...labels],
    owner: 'operator/src/metrics/runtime-metrics.ts',
    landed: true,
  })),
  // History store (operator/src/store/metrics.ts); registered when the operator runs with a store
  ...(
    [
      ['minefleet_store_available', 'gauge', []],
      ['minefleet_store_buffered_documents', 'gauge', ['location']],
      ['minefleet_store_spilled_documents_total', 'counter', []],
      ['minefleet_store_written_documents_total', 'counter', ['collection']],
      ['minefleet_store_write_failures_total', 'counter', ['collection', 'reason']],
      ['minefleet_store_dropped_documents_total', 'counter', ['reason']],
    ] as const
  ).map(([name, type, labels]): MetricSpec => ({
    name,
    type,
    source: 'operator',
    labels: [...labels],
    owner: 'operator/src/store/metrics.ts (registered when the operator runs with --history-mongodb-uri)',
    landed: true,
  })),
  // Fleet status as the operator sees it
  {
    name: 'minefleet_fleet_desired_replicas',
    type: 'gauge',
    source: 'operator',
    labels: ['namespace', 'fleet'],
    owner: 'operator/src/metrics/fleet-metrics.ts',
    landed: true,
  },
  {
    name: 'minefleet_fleet_ready_replicas',
    type: 'gauge',
    source: 'operator',
    labels: ['namespace', 'fleet'],
    owner: 'operator/src/metrics/fleet-metrics.ts',
    landed: true,
  },
  // Pools (operator/src/controllers/miningpool/metrics.ts): the MiningPool controller's probes and breaker, the fleets' switches
  ...(
    [
      ['minefleet_pool_up', 'gauge', ['namespace', 'pool']],
      ['minefleet_pool_probe_duration_seconds', 'histogram', ['namespace', 'pool']],
      ['minefleet_pool_connect_duration_seconds', 'histogram', ['namespace', 'pool']],
      ['minefleet_pool_first_job_duration_seconds', 'histogram', ['namespace', 'pool']],
      ['minefleet_pool_probes_total', 'counter', ['namespace', 'pool', 'result']],
      ['minefleet_pool_circuit_state', 'gauge', ['namespace', 'pool', 'state']],
      ['minefleet_pool_consecutive_failures', 'gauge', ['namespace', 'pool']],
      ['minefleet_fleet_pool_switches_total', 'counter', ['namespace', 'fleet', 'from', 'to', 'reason']],
    ] as const
  ).map(([name, type, labels]): MetricSpec => ({
    name,
    type,
    source: 'operator',
    labels: [...labels],
    owner: 'operator/src/controllers/miningpool/metrics.ts',
    landed: true,
  })),
  // Revenue and margin need the fleet's measured hashrate (status.hashrate from the collector, issue 14)
  {
    name: 'minefleet_fleet_margin_percent',
    type: 'gauge',
    source: 'operator',
    labels: ['namespace', 'fleet'],
    owner: 'operator/src/controllers/minerfleet/economics.ts (from the measured or estimated hashrate)',
    landed: true,
  },
  {
    name: 'minefleet_fleet_revenue_per_day',
    type: 'gauge',
    source: 'operator',
    labels: ['namespace', 'fleet'],
    owner: 'operator/src/controllers/minerfleet/economics.ts (from the measured or estimated hashrate)',
    landed: true,
  },
  // Economics (operator/src/controllers/minerfleet/economics.ts, feeds/registry.ts): set for fleets with spec.economics
  ...(
    [
      ['minefleet_fleet_cost_per_day', 'gauge', ['namespace', 'fleet']],
      ['minefleet_fleet_suspended', 'gauge', ['namespace', 'fleet']],
      ['minefleet_economics_decisions_total', 'counter', ['decision']],
      ['minefleet_economics_feed_up', 'gauge', ['source']],
      ['minefleet_economics_feed_age_seconds', 'gauge', ['source']],
    ] as const
  ).map(([name, type, labels]): MetricSpec => ({
    name,
    type,
    source: 'operator',
    labels: [...labels],
    owner: 'operator/src/controllers/minerfleet/economics.ts, operator/src/economics/feeds/registry.ts',
    landed: true,
  })),
  // Collector (issue 14)
  {
    name: 'minefleet_collector_cycle_seconds',
    type: 'histogram',
    source: 'operator',
    labels: [],
    owner: 'operator/src/collector/collector.ts',
    landed: true,
  },
  {
    name: 'minefleet_collector_cycle_overruns_total',
    type: 'counter',
    source: 'operator',
    labels: [],
    owner: 'operator/src/collector/collector.ts',
    landed: true,
  },
];

const byName = new Map(METRICS.map((m) => [m.name, m]));

/** The metric's name, checked against METRICS (a typo or an unlisted metric fails generation). */
export function metric(name: string): string {
  if (!byName.has(name)) throw new Error(`metric ${name} is not listed in scripts/monitoring/metrics.ts`);
  return name;
}

/** Histogram and counter sample names map to their family (`x_bucket` -> `x`). */
export function metricSpec(sampleName: string): MetricSpec | undefined {
  return byName.get(sampleName) ?? byName.get(sampleName.replace(/_(bucket|sum|count)$/, ''));
}

/** Every metric a PromQL expression names (identifiers that are listed metrics or their samples). */
export function metricsIn(expr: string): MetricSpec[] {
  const found = new Map<string, MetricSpec>();
  for (const m of expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const spec = metricSpec(m[0]);
    if (spec) found.set(spec.name, spec);
  }
  return [...found.values()];
}
