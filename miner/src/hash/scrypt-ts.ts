/**
 * Pure TypeScript scrypt(N=1024, r=1, p=1, dkLen=32) specialised for 80-byte block headers, with
 * password = salt = header. Per nonce only the last 16 header bytes change, so the SHA-256
 * midstate of the first 64 bytes (used to hash the over-long HMAC key) is computed once per job.
 * The memory-hard part (Salsa20/8 BlockMix, 128 KiB scratchpad) runs on Int32Arrays with the
 * Salsa state in locals, which V8 keeps in registers.
 */
import { hashRangeByOne, meetsTarget, type HashKernel, type ScanResult } from './kernel.js';
import { SHA256_IV, bytesToBeWords, sha256Compress } from './sha256.js';

const N = 1024;
const IPAD = 0x36363636;
const OPAD = 0x5c5c5c5c;

function bswap(x: number): number {
  return (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24) | 0;
}

/** B ^= Bx; B = Salsa20/8(B). Both 16-word windows of X at offsets bi and xi. */
function xorSalsa8(X: Int32Array, bi: number, xi: number): void {
  let x00 = (X[bi]! ^= X[xi]!),
    x01 = (X[bi + 1]! ^= X[xi + 1]!),
    x02 = (X[bi + 2]! ^= X[xi + 2]!),
    x03 = (X[bi + 3]! ^= X[xi + 3]!);
  let x04 = (X[bi + 4]! ^= X[xi + 4]!),
    x05 = (X[bi + 5]! ^= X[xi + 5]!),
    x06 = (X[bi + 6]! ^= X[xi + 6]!),
    x07 = (X[bi + 7]! ^= X[xi + 7]!);
  let x08 = (X[bi + 8]! ^= X[xi + 8]!),
    x09 = (X[bi + 9]! ^= X[xi + 9]!),
    x10 = (X[bi + 10]! ^= X[xi + 10]!),
    x11 = (X[bi + 11]! ^= X[xi + 11]!);
  let x12 = (X[bi + 12]! ^= X[xi + 12]!),
    x13 = (X[bi + 13]! ^= X[xi + 13]!),
    x14 = (X[bi + 14]! ^= X[xi + 14]!),
    x15 = (X[bi + 15]! ^= X[xi + 15]!);
  let t: number;
  for (let i = 0; i < 8; i += 2) {
    // columns
    t = (x00 + x12) | 0;
    x04 ^= (t << 7) | (t >>> 25);
    t = (x04 + x00) | 0;
    x08 ^= (t << 9) | (t >>> 23);
    t = (x08 + x04) | 0;
    x12 ^= (t << 13) | (t >>> 19);
    t = (x12 + x08) | 0;
    x00 ^= (t << 18) | (t >>> 14);
    t = (x05 + x01) | 0;
    x09 ^= (t << 7) | (t >>> 25);
    t = (x09 + x05) | 0;
    x13 ^= (t << 9) | (t >>> 23);
    t = (x13 + x09) | 0;
    x01 ^= (t << 13) | (t >>> 19);
    t = (x01 + x13) | 0;
    x05 ^= (t << 18) | (t >>> 14);
    t = (x10 + x06) | 0;
    x14 ^= (t << 7) | (t >>> 25);
    t = (x14 + x10) | 0;
    x02 ^= (t << 9) | (t >>> 23);
    t = (x02 + x14) | 0;
    x06 ^= (t << 13) | (t >>> 19);
    t = (x06 + x02) | 0;
    x10 ^= (t << 18) | (t >>> 14);
    t = (x15 + x11) | 0;
    x03 ^= (t << 7) | (t >>> 25);
    t = (x03 + x15) | 0;
    x07 ^= (t << 9) | (t >>> 23);
    t = (x07 + x03) | 0;
    x11 ^= (t << 13) | (t >>> 19);
    t = (x11 + x07) | 0;
    x15 ^= (t << 18) | (t >>> 14);
    // rows
    t = (x00 + x03) | 0;
    x01 ^= (t << 7) | (t >>> 25);
    t = (x01 + x00) | 0;
    x02 ^= (t << 9) | (t >>> 23);
    t = (x02 + x01) | 0;
    x03 ^= (t << 13) | (t >>> 19);
    t = (x03 + x02) | 0;
    x00 ^= (t << 18) | (t >>> 14);
    t = (x05 + x04) | 0;
    x06 ^= (t << 7) | (t >>> 25);
    t = (x06 + x05) | 0;
    x07 ^= (t << 9) | (t >>> 23);
    t = (x07 + x06) | 0;
    x04 ^= (t << 13) | (t >>> 19);
    t = (x04 + x07) | 0;
    x05 ^= (t << 18) | (t >>> 14);
    t = (x10 + x09) | 0;
    x11 ^= (t << 7) | (t >>> 25);
    t = (x11 + x10) | 0;
    x08 ^= (t << 9) | (t >>> 23);
    t = (x08 + x11) | 0;
    x09 ^= (t << 13) | (t >>> 19);
    t = (x09 + x08) | 0;
    x10 ^= (t << 18) | (t >>> 14);
    t = (x15 + x14) | 0;
    x12 ^= (t << 7) | (t >>> 25);
    t = (x12 + x15) | 0;
    x13 ^= (t << 9) | (t >>> 23);
    t = (x13 + x12) | 0;
    x14 ^= (t << 13) | (t >>> 19);
    t = (x14 + x13) | 0;
    x15 ^= (t << 18) | (t >>> 14);
  }
  X[bi] = (X[bi]! + x00) | 0;
  X[bi + 1] = (X[bi + 1]! + x01) | 0;
  X[bi + 2] = (X[bi + 2]! + x02) | 0;
  X[bi + 3] = (X[bi + 3]! + x03) | 0;
  X[bi + 4] = (X[bi + 4]! + x04) | 0;
  X[bi + 5] = (X[bi + 5]! + x05) | 0;
  X[bi + 6] = (X[bi + 6]! + x06) | 0;
  X[bi + 7] = (X[bi + 7]! + x07) | 0;
  X[bi + 8] = (X[bi + 8]! + x08) | 0;
  X[bi + 9] = (X[bi + 9]! + x09) | 0;
  X[bi + 10] = (X[bi + 10]! + x10) | 0;
  X[bi + 11] = (X[bi + 11]! + x11) | 0;
  X[bi + 12] = (X[bi + 12]! + x12) | 0;
  X[bi + 13] = (X[bi + 13]! + x13) | 0;
  X[bi + 14] = (X[bi + 14]! + x14) | 0;
  X[bi + 15] = (X[bi + 15]! + x15) | 0;
}

export class TsScryptKernel implements HashKernel {
  readonly name = 'ts-scrypt';
  readonly label = 'ts-scrypt';
  readonly batch = 8;
  private readonly V = new Int32Array(32 * N);
  private readonly X = new Int32Array(32);
  private readonly w = new Int32Array(64);
  private readonly hw = new Int32Array(20); // header as big-endian words
  private readonly midstate = new Int32Array(8);
  private readonly key = new Int32Array(8);
  private readonly istate = new Int32Array(8);
  private readonly ostate = new Int32Array(8);
  private readonly ihead = new Int32Array(8); // inner state after the first 64 header bytes
  private readonly tmp = new Int32Array(8);
  private readonly out = new Int32Array(8);
  private readonly outBytes = new Uint8Array(32);

  /** Set the constant part of the header (bytes 0..75) and compute the midstate. */
  private load(header80: Uint8Array): void {
    bytesToBeWords(header80, this.hw, 20);
    const w = this.w;
    for (let i = 0; i < 16; i++) w[i] = this.hw[i]!;
    sha256Compress(SHA256_IV, w, this.midstate);
  }

  /** Hash the loaded header with the given nonce; result in this.out (BE SHA words). */
  private hashNonce(nonce: number): void {
    const { hw, w, key, istate, ostate, ihead, tmp, out, X, V } = this;
    hw[19] = bswap(nonce); // the nonce is stored little-endian in the header

    // HMAC key = SHA256(header) since the 80-byte key is longer than the 64-byte block.
    w[0] = hw[16]!;
    w[1] = hw[17]!;
    w[2] = hw[18]!;
    w[3] = hw[19]!;
    w[4] = 0x80000000 | 0;
    for (let i = 5; i < 15; i++) w[i] = 0;
    w[15] = 80 * 8;
    sha256Compress(this.midstate, w, key);

    for (let i = 0; i < 8; i++) w[i] = key[i]! ^ IPAD;
    for (let i = 8; i < 16; i++) w[i] = IPAD;
    sha256Compress(SHA256_IV, w, istate);
    for (let i = 0; i < 8; i++) w[i] = key[i]! ^ OPAD;
    for (let i = 8; i < 16; i++) w[i] = OPAD;
    sha256Compress(SHA256_IV, w, ostate);

    // PBKDF2(P=header, S=header, c=1, 128 bytes): 4 blocks of HMAC(header || INT(i)).
    for (let i = 0; i < 16; i++) w[i] = hw[i]!;
    sha256Compress(istate, w, ihead);
    for (let blk = 1; blk <= 4; blk++) {
      w[0] = hw[16]!;
      w[1] = hw[17]!;
      w[2] = hw[18]!;
      w[3] = hw[19]!;
      w[4] = blk;
      w[5] = 0x80000000 | 0;
      for (let i = 6; i < 15; i++) w[i] = 0;
      w[15] = (64 + 84) * 8;
      sha256Compress(ihead, w, tmp);
      for (let i = 0; i < 8; i++) w[i] = tmp[i]!;
      w[8] = 0x80000000 | 0;
      for (let i = 9; i < 15; i++) w[i] = 0;
      w[15] = (64 + 32) * 8;
      sha256Compress(ostate, w, tmp);
      const base = (blk - 1) * 8;
      for (let i = 0; i < 8; i++) X[base + i] = bswap(tmp[i]!); // scrypt works on little-endian words
    }

    // ROMix.
    for (let i = 0; i < N; i++) {
      V.set(X, i * 32);
      xorSalsa8(X, 0, 16);
      xorSalsa8(X, 16, 0);
    }
    for (let i = 0; i < N; i++) {
      const j = (X[16]! & (N - 1)) * 32;
      for (let k = 0; k < 32; k++) X[k] = X[k]! ^ V[j + k]!;
      xorSalsa8(X, 0, 16);
      xorSalsa8(X, 16, 0);
    }

    // PBKDF2(P=header, S=B', c=1, 32 bytes): one HMAC block over B' || INT(1).
    for (let i = 0; i < 16; i++) w[i] = bswap(X[i]!);
    sha256Compress(istate, w, tmp);
    for (let i = 0; i < 16; i++) w[i] = bswap(X[16 + i]!);
    sha256Compress(tmp, w, tmp);
    w[0] = 1;
    w[1] = 0x80000000 | 0;
    for (let i = 2; i < 15; i++) w[i] = 0;
    w[15] = (64 + 128 + 4) * 8;
    sha256Compress(tmp, w, tmp);
    for (let i = 0; i < 8; i++) w[i] = tmp[i]!;
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (64 + 32) * 8;
    sha256Compress(ostate, w, out);
  }

  private outToBytes(): Uint8Array {
    const b = this.outBytes;
    for (let i = 0; i < 8; i++) {
      const v = this.out[i]!;
      b[i * 4] = v >>> 24;
      b[i * 4 + 1] = (v >>> 16) & 0xff;
      b[i * 4 + 2] = (v >>> 8) & 0xff;
      b[i * 4 + 3] = v & 0xff;
    }
    return b;
  }

  hash(header80: Uint8Array): Uint8Array {
    if (header80.length < 80) throw new Error(`header must be 80 bytes, got ${header80.length}`);
    this.load(header80);
    const nonce = (header80[76]! | (header80[77]! << 8) | (header80[78]! << 16) | (header80[79]! << 24)) >>> 0;
    this.hashNonce(nonce);
    return new Uint8Array(this.outToBytes());
  }

  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult {
    this.load(header80);
    // Fast reject on the most significant 32 bits (hash bytes 28..31 as a little-endian word,
    // which is the last SHA word byte-swapped) before the full comparison.
    const t7 = (target[28]! | (target[29]! << 8) | (target[30]! << 16) | (target[31]! << 24)) >>> 0;
    const found: number[] = [];
    for (let i = 0; i < count; i++) {
      const nonce = (startNonce + i) >>> 0;
      this.hashNonce(nonce);
      const h7 = bswap(this.out[7]!) >>> 0;
      if (h7 > t7) continue;
      if (meetsTarget(this.outToBytes(), target)) found.push(nonce);
    }
    return { hashes: count, found };
  }

  hashRange(header80: Uint8Array, startNonce: number, count: number): Uint8Array {
    return hashRangeByOne(this, header80, startNonce, count);
  }
}
