/** Operator: controllers, work queues, leader election, history store and collector. */
import { metric } from '../metrics.js';
import { controllerVar, UNITS, type DashboardSpec } from './lib.js';

const C = 'controller=~"$controller"';
const R = '$__rate_interval';
/** Operator process series: the targets that also export controller-runtime metrics. */
const OP = `and on (job, instance) ${metric('controller_runtime_max_concurrent_reconciles')}`;

function p99(family: string, by: string): string {
  return `histogram_quantile(0.99, sum by (${by}, le) (rate(${family}_bucket{${C}}[${R}])))`;
}
function p50(family: string, by: string): string {
  return `histogram_quantile(0.5, sum by (${by}, le) (rate(${family}_bucket{${C}}[${R}])))`;
}

export const operatorDashboard: DashboardSpec = {
  uid: 'minefleet-operator',
  file: 'minefleet-operator',
  title: 'minefleet / Operator',
  description: 'Reconciles, work queues, leader election, history store and collector of the minefleet operator.',
  tags: ['minefleet'],
  variables: [controllerVar()],
  rows: [
    {
      title: 'Reconciles',
      panels: [
        {
          kind: 'timeseries',
          title: 'Reconcile rate by result',
          description: 'Reconciles per second per controller and result (success, error, requeue, requeue_after).',
          unit: UNITS.ops,
          queries: [
            { expr: `sum by (controller, result) (rate(${metric('controller_runtime_reconcile_total')}{${C}}[${R}]))`, legend: '{{controller}} {{result}}' },
          ],
          w: 8,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Reconcile errors',
          description: 'Failed reconciles per second; each is retried with exponential back-off and shows as a Warning event on the object.',
          unit: UNITS.ops,
          queries: [{ expr: `sum by (controller) (rate(${metric('controller_runtime_reconcile_errors_total')}{${C}}[${R}]))`, legend: '{{controller}}' }],
          w: 8,
        },
        {
          kind: 'timeseries',
          title: 'Reconcile latency',
          description: 'p50 and p99 duration of one reconcile.',
          unit: UNITS.seconds,
          queries: [
            { expr: p50(metric('controller_runtime_reconcile_time_seconds'), 'controller'), legend: '{{controller}} p50' },
            { expr: p99(metric('controller_runtime_reconcile_time_seconds'), 'controller'), legend: '{{controller}} p99' },
          ],
          w: 8,
        },
        {
          kind: 'timeseries',
          title: 'Workers',
          description: 'Reconciles running now vs the configured concurrency.',
          unit: UNITS.count,
          queries: [
            { expr: `sum by (controller) (${metric('controller_runtime_active_workers')}{${C}})`, legend: '{{controller}} active' },
            { expr: `max by (controller) (${metric('controller_runtime_max_concurrent_reconciles')}{${C}})`, legend: '{{controller}} max' },
          ],
          w: 8,
          min: 0,
        },
      ],
    },
    {
      title: 'Work queues',
      panels: [
        {
          kind: 'timeseries',
          title: 'Queue depth',
          description: 'Keys waiting in each work queue (deduplicated namespace/name).',
          unit: UNITS.count,
          queries: [{ expr: `sum by (name) (${metric('workqueue_depth')}{${C}})`, legend: '{{name}}' }],
          w: 8,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Adds and retries',
          description: 'Keys added per second, and retries (rate-limited re-adds after an error).',
          unit: UNITS.ops,
          queries: [
            { expr: `sum by (name) (rate(${metric('workqueue_adds_total')}{${C}}[${R}]))`, legend: '{{name}} adds' },
            { expr: `sum by (name) (rate(${metric('workqueue_retries_total')}{${C}}[${R}]))`, legend: '{{name}} retries' },
          ],
          w: 8,
        },
        {
          kind: 'timeseries',
          title: 'Queue wait and work time (p99)',
          description: 'How long a key waits before a worker takes it, and how long the work takes.',
          unit: UNITS.seconds,
          queries: [
            { expr: p99(metric('workqueue_queue_duration_seconds'), 'name'), legend: '{{name}} wait' },
            { expr: p99(metric('workqueue_work_duration_seconds'), 'name'), legend: '{{name}} work' },
          ],
          w: 8,
        },
      ],
    },
    {
      title: 'Leader election and process',
      panels: [
        {
          kind: 'stat',
          title: 'Leaders',
          description: 'Replicas holding the leader Lease: exactly 1 is healthy (0: nothing reconciles; the standbys keep warm caches).',
          unit: UNITS.count,
          queries: [{ expr: `sum(${metric('leader_election_master_status')})`, instant: true }],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Leader per replica',
          description: '1 for the replica that holds the Lease.',
          unit: UNITS.count,
          queries: [{ expr: `max by (instance, name) (${metric('leader_election_master_status')})`, legend: '{{instance}} {{name}}' }],
          w: 6,
          min: 0,
          max: 1,
        },
        {
          kind: 'timeseries',
          title: 'Operator CPU',
          description: 'CPU cores used by each operator replica.',
          unit: UNITS.count,
          queries: [{ expr: `rate(${metric('process_cpu_seconds_total')}[${R}]) ${OP}`, legend: '{{instance}}' }],
          w: 6,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Operator memory (RSS)',
          description: 'Resident memory of each operator replica (target: ≤ 256 MiB at 1,000 fleets).',
          unit: UNITS.bytes,
          queries: [{ expr: `${metric('process_resident_memory_bytes')} ${OP}`, legend: '{{instance}}' }],
          w: 6,
          min: 0,
        },
      ],
    },
    {
      title: 'History store and collector',
      panels: [
        {
          kind: 'stat',
          title: 'History store',
          description:
            '1 when the last contact with MongoDB succeeded; while 0 the store buffers (memory, then spill file) and replays later, nothing is lost.',
          unit: UNITS.count,
          queries: [{ expr: `min(${metric('minefleet_store_available')})`, instant: true }],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Buffered and spilled documents',
          description: 'Documents waiting for MongoDB, in memory and in the on-disk spill file.',
          unit: UNITS.count,
          queries: [{ expr: `sum by (instance, location) (${metric('minefleet_store_buffered_documents')})`, legend: '{{instance}} {{location}}' }],
          w: 6,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Store writes',
          description: 'Documents written per second by collection, write failures (transient ones are retried) and dropped documents.',
          unit: UNITS.perSecond,
          queries: [
            { expr: `sum by (collection) (rate(${metric('minefleet_store_written_documents_total')}[${R}]))`, legend: 'written {{collection}}' },
            { expr: `sum by (collection, reason) (rate(${metric('minefleet_store_write_failures_total')}[${R}]))`, legend: 'failed {{collection}} {{reason}}' },
            { expr: `sum by (reason) (rate(${metric('minefleet_store_dropped_documents_total')}[${R}]))`, legend: 'dropped {{reason}}' },
            { expr: `sum(rate(${metric('minefleet_store_spilled_documents_total')}[${R}]))`, legend: 'spilled' },
          ],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Collector cycle time',
          description:
            'p50/p99 duration of one collector cycle (scrape every ready miner, pull shares, write MongoDB); it must stay below the collection interval.',
          unit: UNITS.seconds,
          queries: [
            { expr: `histogram_quantile(0.5, sum by (le) (rate(${metric('minefleet_collector_cycle_seconds')}_bucket[${R}])))`, legend: 'p50' },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(${metric('minefleet_collector_cycle_seconds')}_bucket[${R}])))`, legend: 'p99' },
          ],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Collector overruns',
          description:
            'Share of collector cycles that took longer than the collection interval (the next one started late, so miners were sampled less often than configured). Above 10 % for 15 minutes: HistoryCollectorBehind.',
          unit: UNITS.ratio,
          queries: [
            {
              expr: `sum(rate(${metric('minefleet_collector_cycle_overruns_total')}[${R}])) / sum(rate(${metric('minefleet_collector_cycle_seconds')}_count[${R}]))`,
              legend: 'overrun cycles',
            },
          ],
          w: 6,
        },
      ],
    },
  ],
};
