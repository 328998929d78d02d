/** Farm overview: what a farm operator opens every morning. */
import { metric } from '../metrics.js';
import { fleetVar, HASHRATE_CONVENTION, namespaceVar, UNITS, type DashboardSpec } from './lib.js';

const F = 'namespace=~"$namespace", fleet=~"$fleet"';
const R = '$__rate_interval';
const hashrate = metric('minefleet_miner_hashrate_hashes_per_second');
const shares = metric('minefleet_miner_shares_total');

export const farmOverview: DashboardSpec = {
  uid: 'minefleet-farm',
  file: 'minefleet-farm-overview',
  title: 'minefleet / Farm overview',
  description: 'Hashrate, shares, miners, pools and profitability of every fleet.',
  tags: ['minefleet'],
  variables: [namespaceVar(), fleetVar()],
  annotations: [
    {
      name: 'Fleet pool switches',
      expr: `sum by (namespace, fleet, from, to, reason) ((increase(${metric('minefleet_fleet_pool_switches_total')}{${F}}[1m]) > 0) or (${metric('minefleet_fleet_pool_switches_total')}{${F}} unless ${metric('minefleet_fleet_pool_switches_total')}{${F}} offset 1m))`,
      titleFormat: 'Fleet {{fleet}}: {{from}} → {{to}}',
      textFormat: 'reason: {{reason}}',
      iconColor: 'orange',
    },
    {
      name: 'Miner pool switches',
      // A switch counter series is born at 1 on its first switch, which increase() cannot see: new series count too.
      expr: `sum by (namespace, fleet, to, cause) ((increase(${metric('minefleet_miner_pool_switches_total')}{${F}}[1m]) > 0) or (${metric('minefleet_miner_pool_switches_total')}{${F}} unless ${metric('minefleet_miner_pool_switches_total')}{${F}} offset 1m))`,
      titleFormat: 'Miners of {{fleet}} switched to {{to}}',
      textFormat: 'cause: {{cause}}',
      iconColor: 'yellow',
    },
  ],
  rows: [
    {
      title: 'Summary',
      panels: [
        {
          kind: 'stat',
          title: 'Farm hashrate (60 s)',
          description: `Sum of every miner's 60 s hashrate. ${HASHRATE_CONVENTION}`,
          unit: UNITS.hashrate,
          queries: [{ expr: `sum(${hashrate}{${F}, window="60s"})`, instant: true }],
          w: 6,
          h: 4,
        },
        {
          kind: 'stat',
          title: 'Miners up',
          description: 'Miner /metrics targets Prometheus scraped successfully.',
          unit: UNITS.count,
          queries: [{ expr: `sum(up{${F}})`, instant: true }],
          w: 6,
          h: 4,
        },
        {
          kind: 'stat',
          title: 'Share acceptance',
          description: 'Accepted shares over all submitted shares (accepted, rejected, stale) in the last 15 minutes.',
          unit: UNITS.ratio,
          queries: [{ expr: `sum(rate(${shares}{${F}, result="accepted"}[15m])) / sum(rate(${shares}{${F}}[15m]))`, instant: true }],
          w: 6,
          h: 4,
          min: 0,
          max: 1,
        },
        {
          kind: 'stat',
          title: 'Fleets suspended now',
          description: 'Fleets scaled to zero (or whose ASICs are paused) because mining does not pay (spec.economics).',
          unit: UNITS.count,
          queries: [{ expr: `sum(${metric('minefleet_fleet_suspended')}{${F}})`, instant: true }],
          w: 6,
          h: 4,
        },
      ],
    },
    {
      title: 'Hashrate',
      panels: [
        {
          kind: 'timeseries',
          title: 'Hashrate by fleet (10 s / 60 s / 15 min windows)',
          description: `Per fleet, the sum of its miners' hashrate averaged over 10 s, 60 s and 15 min. ${HASHRATE_CONVENTION}`,
          unit: UNITS.hashrate,
          queries: [
            { expr: `sum by (namespace, fleet) (${hashrate}{${F}, window="10s"})`, legend: '{{fleet}} 10s' },
            { expr: `sum by (namespace, fleet) (${hashrate}{${F}, window="60s"})`, legend: '{{fleet}} 60s' },
            { expr: `sum by (namespace, fleet) (${hashrate}{${F}, window="15m"})`, legend: '{{fleet}} 15m' },
          ],
          w: 16,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Hashrate credited by pools',
          description: `Accepted shares per second × share difficulty × 65536, per fleet: what the pools pay for. Each miner's (or each device's, under miner supervise) shares are weighed with its own difficulty on that pool. ${HASHRATE_CONVENTION}`,
          unit: UNITS.hashrate,
          queries: [
            {
              // Joined per device too: a supervisor labels shares and difficulty per device, and two devices of one pod on one pool
              // would otherwise be a many-to-many match (the query fails). A CPU miner has no device label (empty on both sides).
              expr: `sum by (namespace, fleet) (sum by (namespace, fleet, pod, device, pool) (rate(${shares}{${F}, result="accepted"}[${R}])) * on (namespace, pod, device, pool) group_left () ${metric('minefleet_miner_difficulty')}{${F}}) * 65536`,
              legend: '{{fleet}}',
            },
          ],
          w: 8,
          min: 0,
        },
        {
          kind: 'table',
          title: 'Miners furthest below their fleet median',
          description: "The 10 miners whose 15 min hashrate is the smallest fraction of their fleet's median miner (100% = median).",
          unit: UNITS.ratio,
          queries: [
            {
              expr: `bottomk(10, ${hashrate}{${F}, window="15m"} / on (namespace, fleet) group_left () quantile by (namespace, fleet) (0.5, ${hashrate}{${F}, window="15m"}))`,
              instant: true,
            },
          ],
          w: 24,
        },
      ],
    },
    {
      title: 'Shares and miners',
      panels: [
        {
          kind: 'timeseries',
          title: 'Share rate by result and reason',
          description: "Shares per second per fleet: accepted, rejected (with the pool's reason) and stale.",
          unit: UNITS.perSecond,
          queries: [{ expr: `sum by (namespace, fleet, result, reason) (rate(${shares}{${F}}[${R}]))`, legend: '{{fleet}} {{result}} {{reason}}' }],
          w: 12,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Miners ready vs desired',
          description: 'Desired replicas (0 while suspended or paused), ready replicas (MinerFleet status), and miners Prometheus actually scrapes.',
          unit: UNITS.count,
          queries: [
            { expr: `sum by (namespace, fleet) (${metric('minefleet_fleet_desired_replicas')}{${F}})`, legend: '{{fleet}} desired' },
            { expr: `sum by (namespace, fleet) (${metric('minefleet_fleet_ready_replicas')}{${F}})`, legend: '{{fleet}} ready' },
            { expr: `sum by (namespace, fleet) (up{${F}})`, legend: '{{fleet}} scraped up' },
          ],
          w: 12,
          min: 0,
        },
      ],
    },
    {
      title: 'Pools',
      panels: [
        {
          kind: 'timeseries',
          title: 'Active pool per fleet',
          description: 'Miners per fleet and the pool each one mines on (pool switches are the annotations).',
          unit: UNITS.count,
          queries: [{ expr: `count by (namespace, fleet, pool) (${metric('minefleet_miner_active_pool')}{${F}} == 1)`, legend: '{{fleet}} → {{pool}}' }],
          w: 12,
          stack: true,
        },
        {
          kind: 'timeseries',
          title: 'Pool switches',
          description: 'Fleet-level pool decisions (operator) and miner-level switches (fallbacks, runtime decisions).',
          unit: UNITS.count,
          queries: [
            {
              expr: `sum by (namespace, fleet, from, to, reason) (increase(${metric('minefleet_fleet_pool_switches_total')}{${F}}[${R}]))`,
              legend: 'fleet {{fleet}}: {{from}} → {{to}} ({{reason}})',
            },
            {
              expr: `sum by (namespace, fleet, to, cause) (increase(${metric('minefleet_miner_pool_switches_total')}{${F}}[${R}]))`,
              legend: 'miners of {{fleet}} → {{to}} ({{cause}})',
            },
          ],
          w: 12,
        },
      ],
    },
    {
      title: 'Economics',
      panels: [
        {
          kind: 'timeseries',
          title: 'Margin',
          description:
            'Profit over cost per fleet, (revenue − cost) / cost × 100 (100% = revenue twice the electricity cost; no value while electricity is free), as the last economics evaluation computed it; the fleet suspends below spec.economics.minMarginPercent.',
          unit: UNITS.percent,
          queries: [{ expr: `max by (namespace, fleet) (${metric('minefleet_fleet_margin_percent')}{${F}})`, legend: '{{fleet}}' }],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Revenue and cost per day',
          description:
            'Estimated revenue per day (hashrate × 86400 × block reward / (difficulty × 2^32) × price × (1 − fee)) and electricity cost per day, in the currency of spec.economics.electricityPrice.',
          unit: UNITS.currency,
          queries: [
            { expr: `sum by (namespace, fleet, currency) (${metric('minefleet_fleet_revenue_per_day')}{${F}})`, legend: '{{fleet}} revenue ({{currency}})' },
            { expr: `sum by (namespace, fleet, currency) (${metric('minefleet_fleet_cost_per_day')}{${F}})`, legend: '{{fleet}} cost ({{currency}})' },
          ],
          w: 6,
        },
        {
          kind: 'timeseries',
          title: 'Suspended fleets',
          description: '1 while a fleet is suspended for economics.',
          unit: UNITS.count,
          queries: [{ expr: `max by (namespace, fleet) (${metric('minefleet_fleet_suspended')}{${F}})`, legend: '{{fleet}}' }],
          w: 6,
          min: 0,
        },
        {
          kind: 'timeseries',
          title: 'Economics decisions',
          description: 'Decisions of the economics evaluations of all fleets (suspend, resume, hold) per interval.',
          unit: UNITS.count,
          queries: [{ expr: `sum by (decision) (increase(${metric('minefleet_economics_decisions_total')}[${R}]))`, legend: '{{decision}}' }],
          w: 6,
        },
      ],
    },
  ],
};
