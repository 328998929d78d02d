/** coinbase = coinb1 || extranonce1 || extranonce2 || coinb2 (raw bytes). */
export function buildCoinbase(coinb1: Uint8Array, extranonce1: Uint8Array, extranonce2: Uint8Array, coinb2: Uint8Array): Buffer {
  return Buffer.concat([coinb1, extranonce1, extranonce2, coinb2]);
}

/** extranonce2 as the fixed-size hex the pool expects (big-endian counter, like cpuminer). */
export function extranonce2Hex(counter: bigint, size: number): string {
  const max = 1n << BigInt(8 * size);
  return (counter % max).toString(16).padStart(size * 2, '0');
}
