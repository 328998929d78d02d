/**
 * Kernel on Node's built-in scrypt (OpenSSL). One native call per nonce; the per-call overhead is
 * the price of not writing our own C.
 */
import { scryptSync } from 'node:crypto';
import { hashRangeByOne, meetsTarget, type HashKernel, type ScanResult } from './kernel.js';

const SCRYPT_OPTS = { N: 1024, r: 1, p: 1, maxmem: 32 * 1024 * 1024 } as const;

export class NodeScryptKernel implements HashKernel {
  readonly name = 'node-crypto';
  readonly label = 'node-crypto';
  readonly batch = 8;
  private readonly buf = new Uint8Array(80);

  hash(header80: Uint8Array): Uint8Array {
    return new Uint8Array(scryptSync(header80, header80, 32, SCRYPT_OPTS));
  }

  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult {
    const buf = this.buf;
    buf.set(header80.subarray(0, 80));
    const view = new DataView(buf.buffer, buf.byteOffset, 80);
    const found: number[] = [];
    for (let i = 0; i < count; i++) {
      const nonce = (startNonce + i) >>> 0;
      view.setUint32(76, nonce, true);
      const h = scryptSync(buf, buf, 32, SCRYPT_OPTS);
      if (meetsTarget(h, target)) found.push(nonce);
    }
    return { hashes: count, found };
  }

  hashRange(header80: Uint8Array, startNonce: number, count: number): Uint8Array {
    return hashRangeByOne(this, header80, startNonce, count);
  }
}
