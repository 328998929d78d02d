/** Miner: one pod (or a few) in detail. */
import { metric } from '../metrics.js';
import { fleetVar, HASHRATE_CONVENTION, namespaceVar, podVar, UNITS, type DashboardSpec } from './lib.js';

const S = 'namespace=~"$namespace", fleet=~"$fleet", pod=~"$pod"';
const R = '$__rate_interval';

export const minerDashboard: DashboardSpec = {
  uid: 'minefleet-miner',
  file: 'minefleet-miner',
  title: 'minefleet / Miner',
  description: 'Hashrate, jobs, connections and resources of individual miner pods.',
  tags: ['minefleet'],
  variables: [namespaceVar(), fleetVar(), podVar()],
  rows: [
    {
      title: 'Hashing',
      panels: [
        {
          kind: 'timeseries',
          title: 'Hashrate per pod (60 s)',
          description: HASHRATE_CONVENTION,
          unit: UNITS.hashrate,
          queries: [{ expr: `sum by (namespace, pod) (${metric('minefleet_miner_hashrate_hashes_per_second')}{${S}, window="60s"})`, legend: '{{pod}}' }],
          w: 12,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Hashrate per thread (10 s)',
          description: `Each hashing thread's rate; a thread far below the others points at CPU contention. ${HASHRATE_CONVENTION}`,
          unit: UNITS.hashrate,
          queries: [{ expr: `${metric('minefleet_miner_thread_hashrate_hashes_per_second')}{${S}}`, legend: '{{pod}} thread {{thread}}' }],
          w: 12,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Job age',
          description:
            'Seconds since the job being hashed arrived; pools send a new job at least every block or every minute or so, a growing age means a stuck connection.',
          unit: UNITS.seconds,
          queries: [{ expr: `max by (namespace, pod) (${metric('minefleet_miner_job_age_seconds')}{${S}})`, legend: '{{pod}}' }],
          w: 12,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Share difficulty',
          description: 'Stratum share difficulty per pod and pool (scrypt: a difficulty-D share ≈ D × 65536 hashes).',
          unit: UNITS.count,
          queries: [{ expr: `max by (namespace, pod, pool) (${metric('minefleet_miner_difficulty')}{${S}})`, legend: '{{pod}} {{pool}}' }],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Shares by result',
          description: 'Shares per second per pod: accepted, rejected, stale.',
          unit: UNITS.perSecond,
          queries: [{ expr: `sum by (namespace, pod, result) (rate(${metric('minefleet_miner_shares_total')}{${S}}[${R}]))`, legend: '{{pod}} {{result}}' }],
          w: 24,
          stack: true,
        },
      ],
    },
    {
      title: 'Connections',
      panels: [
        {
          kind: 'timeseries',
          title: 'Connection state',
          description: "The state of each pod's connection to its pools (1 = current state).",
          unit: UNITS.count,
          queries: [
            {
              expr: `max by (namespace, pod, pool, state) (${metric('minefleet_miner_pool_connection_state')}{${S}}) > 0`,
              legend: '{{pod}} {{pool}} {{state}}',
            },
          ],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Reconnects by reason',
          description: 'Connections re-established per interval, by reason (closed by pool, timeout, client.reconnect, ...).',
          unit: UNITS.count,
          queries: [
            {
              expr: `sum by (namespace, pod, pool, reason) (increase(${metric('minefleet_miner_reconnects_total')}{${S}}[${R}]))`,
              legend: '{{pod}} {{pool}} {{reason}}',
            },
          ],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Fallbacks and pool switches',
          description:
            "Automatic falls to the next pool by reason (connection refused or reset, TLS, authorize refused, no or only invalid jobs, submits unanswered or all rejected; a device's own failover under miner supervise), and every active-pool change by cause (config, runtime decision of the operator, fallback).",
          unit: UNITS.count,
          queries: [
            {
              expr: `sum by (namespace, pod, from, to, reason) (increase(${metric('minefleet_miner_pool_fallbacks_total')}{${S}}[${R}]))`,
              legend: '{{pod}} fallback {{from}} → {{to}} ({{reason}})',
            },
            {
              expr: `sum by (namespace, pod, to, cause) (increase(${metric('minefleet_miner_pool_switches_total')}{${S}}[${R}]))`,
              legend: '{{pod}} switch → {{to}} ({{cause}})',
            },
          ],
          w: 12,
        },
        {
          kind: 'timeseries',
          title: 'Bad messages',
          description: 'Inbound Stratum lines dropped as malformed, by kind (not JSON, unknown method, bad job, ...).',
          unit: UNITS.count,
          queries: [
            {
              expr: `sum by (namespace, pod, pool, kind) (increase(${metric('minefleet_miner_bad_messages_total')}{${S}}[${R}]))`,
              legend: '{{pod}} {{pool}} {{kind}}',
            },
          ],
          w: 12,
        },
      ],
    },
    {
      title: 'Process',
      panels: [
        {
          kind: 'timeseries',
          title: 'CPU',
          description: 'CPU cores used by the miner process (hashing threads included).',
          unit: UNITS.count,
          queries: [
            { expr: `rate(${metric('process_cpu_seconds_total')}{${S}}[${R}])`, legend: '{{pod}} cores' },
            { expr: `max by (namespace, pod) (${metric('minefleet_miner_threads')}{${S}})`, legend: '{{pod}} threads' },
          ],
          w: 12,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Memory (RSS)',
          description: 'Resident memory of the miner process.',
          unit: UNITS.bytes,
          queries: [{ expr: `${metric('process_resident_memory_bytes')}{${S}}`, legend: '{{pod}}' }],
          w: 12,
          min: 0,
        },
      ],
    },
  ],
};
