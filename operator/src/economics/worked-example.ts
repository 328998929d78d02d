/**
 * The worked example of the economics formulas at real-world magnitudes: a 9.5 GH/s scrypt farm
 * (e.g. one L7-class ASIC) on a merged LTC+DOGE pool with a 2 % fee, drawing 3.4 kW at
 * 0.08 USD/kWh. `npx tsx operator/src/economics/worked-example.ts` prints it; the unit test
 * checks the same inputs against a hand computation.
 */
import { pathToFileURL } from 'node:url';
import { costPerDay, marginPercent, revenuePerDay, type CoinMarket } from './revenue.js';

export const WORKED_EXAMPLE = {
  hashrate: 9.5e9,
  feePercent: 2,
  watts: 3400,
  pricePerKWh: 0.08,
  currency: 'USD',
  coins: [
    { coin: 'LTC', price: 71.4, difficulty: 35_612_410.27, blockReward: 6.25 },
    { coin: 'DOGE', price: 0.1235, difficulty: 21_476_293.6, blockReward: 10_000 },
  ] satisfies CoinMarket[],
} as const;

export function computeWorkedExample() {
  const e = WORKED_EXAMPLE;
  const revenue = revenuePerDay(e.hashrate, [...e.coins], e.feePercent);
  const cost = costPerDay(e.watts, e.pricePerKWh);
  return { ...revenue, costPerDay: cost, marginPercent: marginPercent(revenue.revenuePerDay, cost) };
}

function main(): void {
  const e = WORKED_EXAMPLE;
  const r = computeWorkedExample();
  const lines = [
    `hashrate ${e.hashrate / 1e9} GH/s, pool fee ${e.feePercent} %, power ${e.watts} W at ${e.pricePerKWh} ${e.currency}/kWh`,
    ...e.coins.map((c, i) => {
      const pc = r.perCoin[i]!;
      return `${c.coin.padEnd(4)} difficulty ${c.difficulty}, reward ${c.blockReward}, price ${c.price} ${e.currency}: ${pc.coinsPerDay.toPrecision(12)} ${c.coin}/day = ${pc.grossPerDay.toPrecision(12)} ${e.currency}/day`;
    }),
    `gross revenue      ${r.grossPerDay.toPrecision(12)} ${e.currency}/day`,
    `revenue after fee  ${r.revenuePerDay.toPrecision(12)} ${e.currency}/day`,
    `electricity cost   ${r.costPerDay.toPrecision(12)} ${e.currency}/day`,
    `margin             ${r.marginPercent?.toPrecision(12)} %`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
