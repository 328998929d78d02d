/** Pools: the MiningPool controller's probes and circuit breaker, and what the miners see. */
import { metric } from '../metrics.js';
import { fleetVar, namespaceVar, poolVar, UNITS, type DashboardSpec } from './lib.js';

const P = 'namespace=~"$namespace", pool=~"$pool"';
const FP = 'namespace=~"$namespace", fleet=~"$fleet", pool=~"$pool"';
const R = '$__rate_interval';
const shares = metric('minefleet_miner_shares_total');
/** p-quantile per pool of an operator histogram. */
const quantile = (q: number, histogram: string) => `histogram_quantile(${q}, sum by (namespace, pool, le) (rate(${metric(histogram)}_bucket{${P}}[${R}])))`;

export const poolsDashboard: DashboardSpec = {
  uid: 'minefleet-pools',
  file: 'minefleet-pools',
  title: 'minefleet / Pools',
  description: 'Availability, probe latency, circuit breaker and share acceptance of every MiningPool.',
  tags: ['minefleet'],
  variables: [namespaceVar(), fleetVar(), poolVar()],
  rows: [
    {
      title: 'Health (operator probes)',
      panels: [
        {
          kind: 'timeseries',
          title: 'Availability',
          description: '1 while the last probe (connect, TLS, mining.subscribe, mining.authorize, first mining.notify) succeeded.',
          unit: UNITS.count,
          queries: [{ expr: `max by (namespace, pool) (${metric('minefleet_pool_up')}{${P}})`, legend: '{{namespace}}/{{pool}}' }],
          w: 12,
          min: 0,
          max: 1,
        },
        {
          kind: 'table',
          title: 'Availability over the time range',
          description: "Fraction of the dashboard's time range the pool was up.",
          unit: UNITS.ratio,
          queries: [{ expr: `avg by (namespace, pool) (avg_over_time(${metric('minefleet_pool_up')}{${P}}[$__range]))`, instant: true }],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Probe latency',
          description:
            'p50 and p99 of the two phases of a probe. Connect: TCP connect, and for stratum+ssl the TLS handshake, of every probe that got a connection (failed ones too): the network path to the pool. Time to first job: from the start of a successful probe (connect, mining.subscribe, mining.authorize) to the first mining.notify: how soon a miner switched to this pool has work.',
          unit: UNITS.seconds,
          queries: [
            { expr: quantile(0.5, 'minefleet_pool_connect_duration_seconds'), legend: '{{pool}} connect p50' },
            { expr: quantile(0.99, 'minefleet_pool_connect_duration_seconds'), legend: '{{pool}} connect p99' },
            { expr: quantile(0.5, 'minefleet_pool_first_job_duration_seconds'), legend: '{{pool}} time to first job p50' },
            { expr: quantile(0.99, 'minefleet_pool_first_job_duration_seconds'), legend: '{{pool}} time to first job p99' },
          ],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Probe duration (every probe)',
          description:
            'p50 and p99 of the whole probe, failed ones included: a probe that ends at spec.probe.timeoutSeconds (Timeout, NoWork) counts here at its timeout, while Probe latency shows only its connect.',
          unit: UNITS.seconds,
          queries: [
            { expr: quantile(0.5, 'minefleet_pool_probe_duration_seconds'), legend: '{{pool}} p50' },
            { expr: quantile(0.99, 'minefleet_pool_probe_duration_seconds'), legend: '{{pool}} p99' },
          ],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Probe results',
          description: 'Probes per second by result.',
          unit: UNITS.perSecond,
          queries: [{ expr: `sum by (namespace, pool, result) (rate(${metric('minefleet_pool_probes_total')}{${P}}[${R}]))`, legend: '{{pool}} {{result}}' }],
          w: 24,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Circuit state',
          description: 'Circuit breaker per pool: Closed (healthy, used), Open (failing, not probed until the back-off ends), HalfOpen (trial probe).',
          unit: UNITS.count,
          queries: [{ expr: `max by (namespace, pool, state) (${metric('minefleet_pool_circuit_state')}{${P}})`, legend: '{{pool}} {{state}}' }],
          w: 12,
          min: 0,
          max: 1,
        },
        {
          kind: 'timeseries',
          title: 'Consecutive probe failures',
          description: 'Failures in a row (status.consecutiveFailures); the pool is unavailable at spec.probe.failureThreshold.',
          unit: UNITS.count,
          queries: [{ expr: `max by (namespace, pool) (${metric('minefleet_pool_consecutive_failures')}{${P}})`, legend: '{{pool}}' }],
          w: 12,
          min: 0,
        },
      ],
    },
    {
      title: 'Shares (miners)',
      panels: [
        {
          kind: 'timeseries',
          title: 'Share acceptance per pool',
          description: 'Accepted shares over all submitted shares per pool.',
          unit: UNITS.ratio,
          queries: [
            {
              expr: `sum by (pool) (rate(${shares}{${FP}, result="accepted"}[${R}])) / sum by (pool) (rate(${shares}{${FP}}[${R}]))`,
              legend: '{{pool}}',
            },
          ],
          w: 12,
          min: 0,
          max: 1,
        },
        {
          kind: 'timeseries',
          title: 'Shares per pool by result',
          description: 'Shares per second per pool: accepted, rejected, stale.',
          unit: UNITS.perSecond,
          queries: [{ expr: `sum by (pool, result) (rate(${shares}{${FP}}[${R}]))`, legend: '{{pool}} {{result}}' }],
          w: 12,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Miners per pool by connection state',
          description: 'Miners whose connection to the pool is in each state (authorized = mining).',
          unit: UNITS.count,
          queries: [{ expr: `sum by (pool, state) (${metric('minefleet_miner_pool_connection_state')}{${FP}}) > 0`, legend: '{{pool}} {{state}}' }],
          w: 12,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Share difficulty per pool',
          description: 'Stratum share difficulty the pool set (scrypt convention: a difficulty-D share is ≈ D × 65536 hashes).',
          unit: UNITS.count,
          queries: [{ expr: `max by (pool) (${metric('minefleet_miner_difficulty')}{${FP}})`, legend: '{{pool}}' }],
          w: 12,
        },
      ],
    },
  ],
};
