/**
 * Targets as 256-bit numbers. Scrypt pools use a diff-1 target 65536 times Bitcoin's
 * (0x0000ffff << 224 instead of 0x00000000ffff << 208), so Stratum difficulty d means
 * target = 0x0000ffff·2^224 / d.
 */
export const SCRYPT_DIFF1_TARGET = 0xffffn << 224n;
const MAX_TARGET = (1n << 256n) - 1n;
const SCALE = 1n << 32n;

/** Share target for a Stratum difficulty (scrypt convention). */
export function targetFromDifficulty(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) throw new Error(`difficulty must be a positive number, got ${difficulty}`);
  const scaled = BigInt(Math.max(1, Math.round(difficulty * Number(SCALE))));
  const t = (SCRYPT_DIFF1_TARGET * SCALE) / scaled;
  return t > MAX_TARGET ? MAX_TARGET : t;
}

/** Block target from compact nBits (as the 8-hex-digit big-endian string pools send). */
export function targetFromBits(bits: string | number): bigint {
  const n = typeof bits === 'number' ? bits >>> 0 : parseInt(bits, 16) >>> 0;
  if (typeof bits === 'string' && !/^[0-9a-fA-F]{8}$/.test(bits)) throw new Error(`nBits must be 8 hex digits, got '${bits}'`);
  const exponent = n >>> 24;
  const mantissa = BigInt(n & 0x007fffff);
  if (n & 0x00800000) return 0n; // negative targets are invalid: nothing meets them
  const t = exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
  return t > MAX_TARGET ? MAX_TARGET : t;
}

/** 32-byte little-endian encoding (what the kernels compare against). */
export function targetToLeBytes(target: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let t = target;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/** Read a 32-byte little-endian hash as a number. */
export function leBytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Difficulty a hash corresponds to (scrypt convention), for logs and metrics. */
export function hashDifficulty(hashLe: Uint8Array): number {
  const v = leBytesToBigInt(hashLe);
  if (v === 0n) return Number.POSITIVE_INFINITY;
  return Number((SCRYPT_DIFF1_TARGET * 1000000n) / v) / 1e6;
}
