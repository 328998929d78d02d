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
  readonly name: string;
  /** Scan nonces [startNonce, startNonce + count) (mod 2^32). `target` is 32 bytes little-endian. */
  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult;
  /** scrypt(header, header, 1024, 1, 1, 32) of one complete 80-byte header (raw byte order). */
  hash(header80: Uint8Array): Uint8Array;
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
