// Byte-level helpers for Bitcoin/Litecoin serialization, written independently of miner/ so the
// test pool cross-checks the miner instead of sharing its bugs.
import { createHash } from 'node:crypto';

export function sha256d(data: Buffer): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** Reverses a copy of the buffer (display order <-> internal order of hashes). */
export function reversed(buf: Buffer): Buffer {
  return Buffer.from(buf).reverse();
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function u64le(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** Bitcoin CompactSize ("varint") encoding. */
export function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0xfe;
    b.writeUInt32LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

/** Minimal script push of raw data (only sizes a coinbase scriptSig can need). */
export function pushData(data: Buffer): Buffer {
  if (data.length < 0x4c) return Buffer.concat([Buffer.from([data.length]), data]);
  if (data.length <= 0xff) return Buffer.concat([Buffer.from([0x4c, data.length]), data]);
  throw new Error(`pushData: ${data.length} bytes is too long for a coinbase push`);
}

/**
 * The script CScript() << nHeight produces, which BIP34 requires at the start of the coinbase
 * scriptSig: OP_0 for 0, OP_1..OP_16 for 1..16, otherwise a push of the minimal CScriptNum.
 */
export function scriptNumberPush(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`scriptNumberPush: bad height ${n}`);
  if (n === 0) return Buffer.from([0x00]);
  if (n <= 16) return Buffer.from([0x50 + n]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  // A set high bit would make the number negative; add a sign byte.
  if ((bytes[bytes.length - 1]! & 0x80) !== 0) bytes.push(0x00);
  return pushData(Buffer.from(bytes));
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function isHex(s: unknown, bytes?: number): s is string {
  if (typeof s !== 'string' || !HEX_RE.test(s)) return false;
  return bytes === undefined || s.length === bytes * 2;
}

/** Decodes hex that must be well formed; `what` names the field in the error. */
export function hexToBuf(s: string, what: string): Buffer {
  if (!isHex(s)) throw new Error(`${what}: not a hex string: ${JSON.stringify(s).slice(0, 80)}`);
  return Buffer.from(s, 'hex');
}

/** Little-endian 256-bit number (how scrypt/sha256 PoW hashes are compared with targets). */
export function leToBigInt(buf: Buffer): bigint {
  return BigInt('0x' + (reversed(buf).toString('hex') || '0'));
}

export const MAX_UINT256 = (1n << 256n) - 1n;

/** Target encoded by nBits (compact form), as in arith_uint256::SetCompact. */
export function bitsToTarget(bits: number): bigint {
  const exponent = bits >>> 24;
  let mantissa = BigInt(bits & 0x007fffff);
  if ((bits & 0x00800000) !== 0) throw new Error(`bits ${bits.toString(16)}: negative target`);
  if (exponent <= 3) mantissa >>= 8n * BigInt(3 - exponent);
  else mantissa <<= 8n * BigInt(exponent - 3);
  return mantissa;
}

/**
 * Scrypt pools' difficulty 1 target: Bitcoin's 0x00000000ffff0000... times 65536.
 * (cpuminer divides the Stratum difficulty by 65536 for scrypt for the same reason.)
 */
export const SCRYPT_DIFF1_TARGET = 0xffffn << 224n;

/** Share target for a Stratum difficulty (scrypt convention); fractional difficulties allowed. */
export function difficultyToTarget(difficulty: number): bigint {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) {
    throw new Error(`difficulty must be a positive finite number, got ${difficulty}`);
  }
  // Scale to keep fractional precision in integer arithmetic.
  const scale = 1n << 64n;
  const scaled = BigInt(Math.max(1, Math.round(difficulty * 2 ** 64)));
  const t = (SCRYPT_DIFF1_TARGET * scale) / scaled;
  return t > MAX_UINT256 ? MAX_UINT256 : t;
}

/** Inverse of difficultyToTarget, for reporting what difficulty a hash reached. */
export function targetToDifficulty(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY;
  // Work in floating point on the top bits; precise enough for reporting.
  return Number(SCRYPT_DIFF1_TARGET) / Number(target);
}
