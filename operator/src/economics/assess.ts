/**
 * From what the operator knows about a fleet (feed readings, measured hashrate and power, whether
 * its miners run) to the figures of status.profitability and the observation `evaluate` judges.
 * Pure: the reconciler reads the feeds and the measurements and passes them in.
 */
import type { Coin } from '../api/v1alpha1/constants.js';
import type { Economics } from '../api/v1alpha1/economics.js';
import type { Observation } from './evaluate.js';
import type { FeedKind, FeedReading } from './feeds/index.js';
import { costPerDay, marginPercent, revenuePerDay, type CoinMarket } from './revenue.js';

/** What the collector measured for a fleet's running miners. */
export interface FleetMeasurement {
  /** fleet hashrate, H/s */
  hashrate: number;
  /** miners that contributed to it */
  miners: number;
  /** summed power the miners report (spec.economics.power.measured), W */
  watts?: number;
}

/** The collector (history issue) can implement this to feed measurements directly. */
export interface FleetMeasurements {
  measure(fleet: { metadata: { namespace?: string; name?: string }; status?: { hashrate?: number; readyReplicas?: number } }): FleetMeasurement | undefined;
}

/** Default: the fleet's status.hashrate (written by the collector) over its ready miners. */
export const STATUS_MEASUREMENTS: FleetMeasurements = {
  measure: (f) => (f.status?.hashrate === undefined ? undefined : { hashrate: f.status.hashrate, miners: f.status.readyReplicas ?? 0 }),
};

export interface AssessInputs {
  economics: Economics;
  /** the active pool: which coins it pays and its fee */
  pool: { name: string; coins: readonly Coin[]; feePercent: number };
  reading: (coin: Coin, feed: FeedKind) => FeedReading | undefined;
  measurement: FleetMeasurement | undefined;
  /** miners run (neither suspended nor paused): revenue from the measurement, else estimated */
  running: boolean;
  replicas: number;
  previous: { hashratePerMiner?: number; wattsPerMiner?: number };
}

export interface Profitability {
  revenuePerDay?: number;
  costPerDay?: number;
  marginPercent?: number;
  currency: string;
  staleFeeds?: string[];
  hashratePerMiner?: number;
  wattsPerMiner?: number;
}

export interface Assessment {
  observation: Observation;
  profitability: Profitability;
  /** `<coin>.<feed>: error` for each stale or malformed feed */
  feedErrors: string[];
  /** the latest fetch of a feed failed but its last good value is still fresh */
  feedWarnings: string[];
}

const FEEDS: FeedKind[] = ['price', 'difficulty', 'blockReward'];

/** Rounding keeps status writes from chasing float noise (a dead band for status). */
const sig = (v: number) => Number(v.toPrecision(6));

export function assessFleet(i: AssessInputs): Assessment {
  const e = i.economics;
  const currency = e.electricityPrice?.currency ?? 'USD';
  const stale: string[] = [];
  const feedErrors: string[] = [];
  const feedWarnings: string[] = [];
  const markets: CoinMarket[] = [];
  for (const coin of i.pool.coins) {
    const feeds = e.feeds?.[coin];
    const values: Partial<Record<FeedKind, number>> = {};
    for (const f of FEEDS) {
      const name = `${coin}.${f}`;
      if (!feeds) {
        stale.push(name);
        feedErrors.push(`${name}: pool ${i.pool.name} pays ${coin} but spec.economics.feeds.${coin} is not set`);
        continue;
      }
      const r = i.reading(coin, f);
      if (!r || !r.ok) {
        stale.push(name);
        feedErrors.push(`${name}: ${r ? r.error : 'not read'}`);
      } else {
        values[f] = r.value;
        if (r.lastError) feedWarnings.push(`${name}: ${r.lastError}`);
      }
    }
    if (values.price !== undefined && values.difficulty !== undefined && values.blockReward !== undefined) {
      markets.push({ coin, price: values.price, difficulty: values.difficulty, blockReward: values.blockReward });
    }
  }

  // Hashrate: measured while the miners run; otherwise the last measured rate per miner x replicas.
  const m = i.running ? i.measurement : undefined;
  const hashratePerMiner = m && m.miners > 0 ? m.hashrate / m.miners : i.previous.hashratePerMiner;
  const miners = m ? (m.miners > 0 ? m.miners : i.replicas) : i.replicas;
  const hashrate = m ? m.hashrate : hashratePerMiner === undefined ? undefined : hashratePerMiner * i.replicas;

  let wattsPerMiner: number | undefined;
  if (e.power?.wattsPerMiner !== undefined) wattsPerMiner = e.power.wattsPerMiner;
  else if (m?.watts !== undefined && m.miners > 0) wattsPerMiner = m.watts / m.miners;
  else wattsPerMiner = i.previous.wattsPerMiner ?? e.power?.measured?.fallbackWattsPerMiner;
  if (wattsPerMiner === undefined) {
    stale.push('power');
    feedErrors.push(
      `power: the miners report no ${e.power?.measured?.metricName ?? 'power'} metric and spec.economics.power.measured.fallbackWattsPerMiner is not set`,
    );
  }

  const profitability: Profitability = { currency };
  if (hashratePerMiner !== undefined) profitability.hashratePerMiner = sig(hashratePerMiner);
  if (wattsPerMiner !== undefined) profitability.wattsPerMiner = sig(wattsPerMiner);
  if (stale.length) profitability.staleFeeds = stale;

  const watts = wattsPerMiner === undefined ? undefined : m?.watts !== undefined && e.power?.wattsPerMiner === undefined ? m.watts : wattsPerMiner * miners;
  const cost = watts === undefined || !e.electricityPrice ? undefined : costPerDay(watts, e.electricityPrice.perKWh);
  if (cost !== undefined) profitability.costPerDay = sig(cost);

  if (stale.length) return { observation: { kind: 'stale', feeds: stale }, profitability, feedErrors, feedWarnings };
  if (i.replicas === 0)
    return {
      observation: { kind: 'unknown', reason: 'NoMiners', message: 'spec.replicas is 0: nothing to evaluate' },
      profitability,
      feedErrors,
      feedWarnings,
    };
  if (hashrate === undefined) {
    const message = i.running
      ? 'no hashrate measured yet for this fleet'
      : 'no hashrate per miner was measured before the miners stopped: cannot estimate revenue';
    return { observation: { kind: 'unknown', reason: 'HashrateUnknown', message }, profitability, feedErrors, feedWarnings };
  }
  const revenue = revenuePerDay(hashrate, markets, i.pool.feePercent).revenuePerDay;
  profitability.revenuePerDay = sig(revenue);
  const margin = marginPercent(revenue, cost!);
  if (margin !== undefined) profitability.marginPercent = Math.round(margin * 100) / 100;
  return { observation: { kind: 'margin', marginPercent: margin }, profitability, feedErrors, feedWarnings };
}
