/**
 * The hashing kernel interface. A backend hands a kernel an 80-byte header template (nonce bytes
 * are overwritten), a nonce range and a target; the kernel returns how many hashes it did and the
 * nonces whose scrypt hash meets the target. Keeping this small lets a WASM or native kernel
 * replace the TypeScript one without touching the backend.
 */
export interface ScanResult {
  hashes: number;
  found: number[];
}

export interface HashKernel {
  /** What MINEFLEET_KERNEL / --kernel calls it. */
  readonly name: string;
  /** The code path that really runs (e.g. `native-avx2x8+sha-ni`): the `kernel` label of minefleet_miner_info. */
  readonly label: string;
  /** Nonces per scanNonces call that keep the kernel busy (SIMD kernels want several lanes' worth). */
  readonly batch: number;
  /** Scan nonces [startNonce, startNonce + count) (mod 2^32). `target` is 32 bytes little-endian. */
  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult;
  /** scrypt(header, header, 1024, 1, 1, 32) of one complete 80-byte header (raw byte order). */
  hash(header80: Uint8Array): Uint8Array;
  /** The hashes of nonces [startNonce, startNonce + count) (mod 2^32), 32 bytes each, concatenated. */
  hashRange(header80: Uint8Array, startNonce: number, count: number): Uint8Array;
}

/** hashRange on top of hash(), for kernels that hash one nonce at a time. */
export function hashRangeByOne(kernel: Pick<HashKernel, 'hash'>, header80: Uint8Array, startNonce: number, count: number): Uint8Array {
  const out = new Uint8Array(32 * count);
  const h = new Uint8Array(header80.subarray(0, 80));
  const view = new DataView(h.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(76, (startNonce + i) >>> 0, true);
    out.set(kernel.hash(h), 32 * i);
  }
  return out;
}

/** True when `hash` (32 bytes, little-endian number) <= `target` (32 bytes, little-endian). */
export function meetsTarget(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const h = hash[i]!;
    const t = target[i]!;
    if (h < t) return true;
    if (h > t) return false;
  }
  return true;
}
