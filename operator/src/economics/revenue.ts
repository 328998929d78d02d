/**
 * Revenue, cost and margin of a fleet: pure arithmetic, no I/O.
 *
 * Why 2^32 hashes per unit of *network* difficulty: scrypt coins (Litecoin, Dogecoin) inherited
 * Bitcoin's difficulty encoding. Difficulty D means target = diff1Target / D with
 * diff1Target = 0xffff * 2^208 ≈ 2^256 / 2^32, so a random hash is below the target with
 * probability ≈ 1 / (D × 2^32): a block takes D × 2^32 hashes on average. Litecoin and Dogecoin
 * compute network difficulty from nBits against that same Bitcoin diff-1 target (getmininginfo's
 * "difficulty"), only the hash function differs.
 *
 * Stratum *share* difficulty is a different scale: scrypt pools (and cpuminer, which divides the
 * Stratum difficulty by 65536) use a diff-1 share target 65536 times the Bitcoin one, so a
 * diff-1 scrypt share takes ≈ 2^32 / 2^16 = 2^16 hashes. Using 2^16 here would overstate revenue
 * 65536-fold; share difficulty never enters the revenue formula.
 */
import type { Coin } from '../api/v1alpha1/constants.js';

/** Expected hashes per block at network difficulty 1 (Bitcoin's diff-1 target, shared by scrypt coins). */
export const HASHES_PER_NETWORK_DIFFICULTY = 2 ** 32;
/** Expected hashes per diff-1 share on a scrypt pool (for reference; not used in revenue). */
export const HASHES_PER_SCRYPT_SHARE_DIFFICULTY = 2 ** 16;
export const SECONDS_PER_DAY = 86_400;

/** Market and network data of one coin the pool pays out. */
export interface CoinMarket {
  coin: Coin;
  /** coin price in the electricity currency */
  price: number;
  /** network difficulty */
  difficulty: number;
  /** coins per block */
  blockReward: number;
}

export interface CoinRevenue {
  coin: Coin;
  coinsPerDay: number;
  /** gross value per day (before the pool fee), in the electricity currency */
  grossPerDay: number;
}

export interface RevenueBreakdown {
  perCoin: CoinRevenue[];
  grossPerDay: number;
  /** after the pool's fee */
  revenuePerDay: number;
}

/** Expected coins per day: hashrate × 86400 × blockReward / (difficulty × 2^32). */
export function coinsPerDay(hashrate: number, difficulty: number, blockReward: number): number {
  if (!(difficulty > 0)) throw new RangeError(`network difficulty must be a positive number, got ${difficulty}`);
  return (hashrate * SECONDS_PER_DAY * blockReward) / (difficulty * HASHES_PER_NETWORK_DIFFICULTY);
}

/**
 * Revenue per day of `hashrate` (H/s) on a pool paying `coins` (a merged-mining pool pays every
 * coin for the same hashes), after the pool fee.
 */
export function revenuePerDay(hashrate: number, coins: CoinMarket[], feePercent: number): RevenueBreakdown {
  const perCoin = coins.map((c) => {
    const n = coinsPerDay(hashrate, c.difficulty, c.blockReward);
    return { coin: c.coin, coinsPerDay: n, grossPerDay: n * c.price };
  });
  const grossPerDay = perCoin.reduce((s, c) => s + c.grossPerDay, 0);
  return { perCoin, grossPerDay, revenuePerDay: grossPerDay * (1 - feePercent / 100) };
}

/** Electricity cost per day: watts × 24 / 1000 × price per kWh. */
export function costPerDay(watts: number, pricePerKWh: number): number {
  return ((watts * 24) / 1000) * pricePerKWh;
}

/**
 * (revenue − cost) / cost × 100. Undefined when electricity is free (cost 0): any revenue is then
 * profit and the margin has no finite value.
 */
export function marginPercent(revenue: number, cost: number): number | undefined {
  if (cost <= 0) return undefined;
  return ((revenue - cost) / cost) * 100;
}
