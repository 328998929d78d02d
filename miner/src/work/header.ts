/**
 * The 80-byte block header from Stratum job fields. Stratum sends version, nbits and ntime as
 * big-endian hex numbers, so they are byte-reversed into the header's little-endian fields. The
 * previous-block hash arrives as eight 32-bit words each byte-swapped relative to the header (the
 * historical getwork layout that cpuminer's stratum_gen_work undoes with le32dec per word), so
 * every 4-byte group is reversed. The merkle root is written in its raw (internal) byte order.
 * The nonce is a little-endian uint32 at offset 76.
 */
export interface HeaderFields {
  versionHex: string; // 8 hex digits, big-endian
  prevhashHex: string; // 64 hex digits, Stratum word-swapped order
  merkleRoot: Uint8Array; // 32 raw bytes
  ntimeHex: string; // 8 hex digits, big-endian
  nbitsHex: string; // 8 hex digits, big-endian
  nonce?: number;
}

function reversedHex(hex: string): Buffer {
  return Buffer.from(hex, 'hex').reverse();
}

/** Reverse the byte order inside each 4-byte word. */
export function swapWords(buf: Uint8Array): Buffer {
  const out = Buffer.alloc(buf.length);
  for (let i = 0; i < buf.length; i += 4) {
    out[i] = buf[i + 3]!;
    out[i + 1] = buf[i + 2]!;
    out[i + 2] = buf[i + 1]!;
    out[i + 3] = buf[i]!;
  }
  return out;
}

export function buildHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(80);
  reversedHex(f.versionHex).copy(h, 0);
  swapWords(Buffer.from(f.prevhashHex, 'hex')).copy(h, 4);
  Buffer.from(f.merkleRoot).copy(h, 36);
  reversedHex(f.ntimeHex).copy(h, 68);
  reversedHex(f.nbitsHex).copy(h, 72);
  h.writeUInt32LE((f.nonce ?? 0) >>> 0, 76);
  return h;
}

/** The nonce as the pool wants it in mining.submit: 8 hex digits, big-endian number. */
export function nonceHex(nonce: number): string {
  return (nonce >>> 0).toString(16).padStart(8, '0');
}
