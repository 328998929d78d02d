import { describe, expect, it } from 'vitest';
import {
  coinsPerDay,
  costPerDay,
  HASHES_PER_NETWORK_DIFFICULTY,
  HASHES_PER_SCRYPT_SHARE_DIFFICULTY,
  marginPercent,
  revenuePerDay,
} from '../../operator/src/economics/revenue.js';
import { computeWorkedExample, WORKED_EXAMPLE } from '../../operator/src/economics/worked-example.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('revenue and cost', () => {
  it('worked example (9.5 GH/s, merged LTC+DOGE, 2 % fee, 3.4 kW at 0.08 USD/kWh) matches the hand computation to 1e-9', () => {
    // Hand computation with `bc -l` at scale=40:
    //   LTC  = 9.5e9 * 86400 * 6.25  / (35612410.27 * 4294967296) = 0.0335394653967169180399611997
    //   DOGE = 9.5e9 * 86400 * 10000 / (21476293.6  * 4294967296) = 88.9852764497018197806021798845
    //   gross = LTC * 71.40 + DOGE * 0.1235 = 2.39471782932558794805 + 10.98968164153817474290
    //         = 13.38439947086376269095
    //   after 2 % fee = 13.11671148144648743713
    //   cost = 3400 * 24 / 1000 * 0.08 = 6.528
    //   margin = (13.1167114814464874371 - 6.528) / 6.528 * 100 = 100.93001656627584922087
    const r = computeWorkedExample();
    expect(r.perCoin.map((c) => c.coin)).toEqual(['LTC', 'DOGE']);
    expect(rel(r.perCoin[0]!.coinsPerDay, 0.03353946539671692)).toBeLessThan(1e-9);
    expect(rel(r.perCoin[1]!.coinsPerDay, 88.98527644970181)).toBeLessThan(1e-9);
    expect(rel(r.perCoin[0]!.grossPerDay, 2.3947178293255877)).toBeLessThan(1e-9);
    expect(rel(r.perCoin[1]!.grossPerDay, 10.989681641538175)).toBeLessThan(1e-9);
    expect(rel(r.grossPerDay, 13.384399470863762)).toBeLessThan(1e-9);
    expect(rel(r.revenuePerDay, 13.116711481446487)).toBeLessThan(1e-9);
    expect(rel(r.costPerDay, 6.528)).toBeLessThan(1e-9);
    expect(rel(r.marginPercent!, 100.93001656627585)).toBeLessThan(1e-9);
    expect(WORKED_EXAMPLE.hashrate).toBe(9.5e9);
  });

  it('uses 2^32 hashes per unit of network difficulty, not the 2^16 of a scrypt share', () => {
    expect(HASHES_PER_NETWORK_DIFFICULTY).toBe(4294967296);
    expect(HASHES_PER_SCRYPT_SHARE_DIFFICULTY).toBe(65536);
    // 2^32 H/s at difficulty 1 finds one block per second: 86400 blocks a day.
    expect(coinsPerDay(2 ** 32, 1, 1)).toBe(86400);
    // doubling difficulty halves the coins; doubling the reward doubles them
    expect(coinsPerDay(1e9, 2e6, 6.25) * 2).toBeCloseTo(coinsPerDay(1e9, 1e6, 6.25), 12);
    expect(coinsPerDay(1e9, 1e6, 12.5)).toBeCloseTo(2 * coinsPerDay(1e9, 1e6, 6.25), 12);
  });

  it('rejects a non-positive difficulty with a clear error', () => {
    expect(() => coinsPerDay(1e9, 0, 6.25)).toThrow(/difficulty must be a positive number, got 0/);
    expect(() => coinsPerDay(1e9, Number.NaN, 6.25)).toThrow(/difficulty/);
  });

  it('a merged pool pays every coin for the same hashes; the fee applies to the total', () => {
    const ltc = { coin: 'LTC' as const, price: 80, difficulty: 3e7, blockReward: 6.25 };
    const doge = { coin: 'DOGE' as const, price: 0.1, difficulty: 2e7, blockReward: 10000 };
    const both = revenuePerDay(1e10, [ltc, doge], 3);
    const a = revenuePerDay(1e10, [ltc], 0).revenuePerDay;
    const b = revenuePerDay(1e10, [doge], 0).revenuePerDay;
    expect(rel(both.grossPerDay, a + b)).toBeLessThan(1e-12);
    expect(rel(both.revenuePerDay, (a + b) * 0.97)).toBeLessThan(1e-12);
  });

  it('cost and margin', () => {
    expect(costPerDay(1000, 0.1)).toBeCloseTo(2.4, 12);
    expect(marginPercent(3, 2)).toBeCloseTo(50, 12);
    expect(marginPercent(1, 2)).toBeCloseTo(-50, 12);
    expect(marginPercent(5, 0)).toBeUndefined();
  });
});
