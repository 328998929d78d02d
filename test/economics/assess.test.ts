import { describe, expect, it } from 'vitest';
import { EconomicsSchema } from '../../operator/src/api/v1alpha1/economics.js';
import { assessFleet, type AssessInputs } from '../../operator/src/economics/assess.js';
import { computeWorkedExample, WORKED_EXAMPLE } from '../../operator/src/economics/worked-example.js';

const e = WORKED_EXAMPLE;
const [ltc, doge] = e.coins;
if (!ltc || !doge) throw new Error('worked example must list LTC and DOGE');
const economics = EconomicsSchema.parse({
  power: { wattsPerMiner: e.watts / 2 },
  electricityPrice: { perKWh: e.pricePerKWh },
  feeds: {
    LTC: { price: { value: ltc.price }, difficulty: { value: ltc.difficulty }, blockReward: { value: ltc.blockReward } },
    DOGE: { price: { value: doge.price }, difficulty: { value: doge.difficulty }, blockReward: { value: doge.blockReward } },
  },
});
const value = (coin: 'LTC' | 'DOGE', feed: 'price' | 'difficulty' | 'blockReward') => ({
  ok: true as const,
  value: economics.feeds![coin]![feed].value!,
  at: 0,
});
const base: AssessInputs = {
  economics,
  pool: { name: 'merged', coins: ['LTC', 'DOGE'], feePercent: e.feePercent },
  reading: value,
  measurement: { hashrate: e.hashrate, miners: 2 },
  running: true,
  replicas: 2,
  previous: {},
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('assessFleet', () => {
  it('a running merged-pool fleet: the worked example figures, per-miner hashrate and watts kept', () => {
    const a = assessFleet(base);
    const w = computeWorkedExample();
    expect(a.observation.kind).toBe('margin');
    expect(rel((a.observation as { marginPercent: number }).marginPercent, w.marginPercent!)).toBeLessThan(1e-12);
    expect(rel(a.profitability.revenuePerDay!, w.revenuePerDay)).toBeLessThan(1e-5);
    expect(a.profitability).toMatchObject({
      currency: 'USD',
      hashratePerMiner: e.hashrate / 2,
      wattsPerMiner: e.watts / 2,
      costPerDay: 6.528,
      marginPercent: 100.93,
    });
  });

  it('suspended: revenue is estimated from the last measured hashrate per miner x replicas, ignoring the (empty) measurement', () => {
    const a = assessFleet({ ...base, running: false, measurement: { hashrate: 0, miners: 0 }, previous: { hashratePerMiner: e.hashrate / 2 } });
    expect(rel((a.observation as { marginPercent: number }).marginPercent, computeWorkedExample().marginPercent!)).toBeLessThan(1e-12);
    const none = assessFleet({ ...base, running: false, previous: {} });
    expect(none.observation).toMatchObject({ kind: 'unknown', reason: 'HashrateUnknown' });
  });

  it('a coin the pool pays without a feed, or a failing feed, is named as stale', () => {
    const noDoge = assessFleet({ ...base, economics: { ...economics, feeds: { LTC: economics.feeds!.LTC } } });
    expect(noDoge.observation).toEqual({ kind: 'stale', feeds: ['DOGE.price', 'DOGE.difficulty', 'DOGE.blockReward'] });
    expect(noDoge.feedErrors[0]).toMatch(/pool merged pays DOGE but spec.economics.feeds.DOGE is not set/);
    const bad = assessFleet({ ...base, reading: (c, f) => (c === 'LTC' && f === 'price' ? { ok: false, error: 'http://x/p: HTTP 500' } : value(c, f)) });
    expect(bad.profitability.staleFeeds).toEqual(['LTC.price']);
    expect(bad.feedErrors).toEqual(['LTC.price: http://x/p: HTTP 500']);
  });

  it('no measured hashrate yet: nothing to judge (never a suspension of a fleet that is starting)', () => {
    expect(assessFleet({ ...base, measurement: undefined }).observation).toMatchObject({ kind: 'unknown', reason: 'HashrateUnknown' });
  });
});
