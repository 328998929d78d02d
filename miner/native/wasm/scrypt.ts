// scrypt(P = S = header, N = 1024, r = 1, p = 1, dkLen = 32) for 80-byte block headers in
// AssemblyScript with WebAssembly SIMD128: the portable kernel for machines and images without the
// native addon. Same design as miner/native/scrypt: four hashes at once, one per 32-bit lane of a v128
// ("vertical" layout, no shuffles in Salsa20/8), SHA-256 midstate of the constant first 64 bytes.
// Written from RFC 7914 and FIPS 180-4. No allocator: fixed regions of linear memory.
//
// Memory map (bytes):
//   HEADER  0      80   input header (nonce bytes ignored)
//   TARGET  128    32   input target, little-endian
//   OUT     256    128  hashBatch output: 4 x 32 hash bytes
//   FOUND   1024   4096 scan output: up to 1024 nonces (u32)
//   HW      8192   80   header as big-endian words; MID 8320: midstate
//   W       8448   256  SHA-256 message schedule
//   misc states 8704..; HM (4 lanes x istate/ostate) 9216..; X 12288 (32 v128)
//   (static data: the SHA-256 constants, placed at 16384 by --memoryBase in scripts/build-wasm.mjs)
//   V       65536  512 KiB scratchpad (1024 x 32 v128)

const HEADER: usize = 0;
const TARGET: usize = 128;
const OUT: usize = 256;
const FOUND: usize = 1024;
const MAX_FOUND: u32 = 1024;
const HW: usize = 8192;
const MID: usize = 8320;
const W: usize = 8448;
const KEY: usize = 8704;
const IHEAD: usize = 8736;
const T: usize = 8768;
const HM: usize = 9216; // lane l: istate at HM + l*64, ostate at HM + l*64 + 32
const XS: usize = 10240; // scalar 32-word block for one lane
const X: usize = 12288;
const V: usize = 65536;

const IPAD: u32 = 0x36363636;
const OPAD: u32 = 0x5c5c5c5c;

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

// The SHA state and message live in memory as u32 words (numeric values).
@inline function wget(p: usize, i: i32): u32 { return load<u32>(p + (<usize>i << 2)); }
@inline function wset(p: usize, i: i32, v: u32): void { store<u32>(p + (<usize>i << 2), v); }
function copy8(dst: usize, src: usize): void { memory.copy(dst, src, 32); }

/** state (8 words at `st`) = compress(state, W[0..15]); W[16..63] is scratch. */
function sha256(st: usize): void {
  for (let i = 16; i < 64; i++) {
    const x = wget(W, i - 15);
    const y = wget(W, i - 2);
    const s0 = rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
    const s1 = rotr<u32>(y, 17) ^ rotr<u32>(y, 19) ^ (y >>> 10);
    wset(W, i, wget(W, i - 16) + s0 + wget(W, i - 7) + s1);
  }
  let a = wget(st, 0), b = wget(st, 1), c = wget(st, 2), d = wget(st, 3);
  let e = wget(st, 4), f = wget(st, 5), g = wget(st, 6), h = wget(st, 7);
  for (let i = 0; i < 64; i++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + wget(K, i) + wget(W, i);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  wset(st, 0, wget(st, 0) + a); wset(st, 1, wget(st, 1) + b); wset(st, 2, wget(st, 2) + c); wset(st, 3, wget(st, 3) + d);
  wset(st, 4, wget(st, 4) + e); wset(st, 5, wget(st, 5) + f); wset(st, 6, wget(st, 6) + g); wset(st, 7, wget(st, 7) + h);
}

/** Read the header at HEADER: big-endian words into HW, midstate of bytes 0..63 into MID. */
export function loadHeader(): void {
  for (let i = 0; i < 20; i++) wset(HW, i, bswap<u32>(load<u32>(HEADER + (<usize>i << 2))));
  for (let i = 0; i < 16; i++) wset(W, i, wget(HW, i));
  copy8(MID, IV);
  sha256(MID);
}

function tail(nonce: u32): void {
  wset(W, 0, wget(HW, 16)); wset(W, 1, wget(HW, 17)); wset(W, 2, wget(HW, 18)); wset(W, 3, bswap<u32>(nonce));
}

/** HMAC keys and PBKDF2 blocks 1..4 for one nonce: istate/ostate to HM + lane*64, X lane words. */
function pbkdf2In(nonce: u32, lane: i32): void {
  const hm = HM + (<usize>lane << 6);
  copy8(KEY, MID);
  tail(nonce);
  wset(W, 4, 0x80000000);
  for (let i = 5; i < 15; i++) wset(W, i, 0);
  wset(W, 15, 80 * 8);
  sha256(KEY);
  for (let i = 0; i < 8; i++) wset(W, i, wget(KEY, i) ^ IPAD);
  for (let i = 8; i < 16; i++) wset(W, i, IPAD);
  copy8(hm, IV);
  sha256(hm);
  for (let i = 0; i < 8; i++) wset(W, i, wget(KEY, i) ^ OPAD);
  for (let i = 8; i < 16; i++) wset(W, i, OPAD);
  copy8(hm + 32, IV);
  sha256(hm + 32);
  for (let i = 0; i < 16; i++) wset(W, i, wget(HW, i));
  copy8(IHEAD, hm);
  sha256(IHEAD);
  for (let blk: u32 = 1; blk <= 4; blk++) {
    copy8(T, IHEAD);
    tail(nonce);
    wset(W, 4, blk);
    wset(W, 5, 0x80000000);
    for (let i = 6; i < 15; i++) wset(W, i, 0);
    wset(W, 15, (64 + 84) * 8);
    sha256(T);
    for (let i = 0; i < 8; i++) wset(W, i, wget(T, i));
    wset(W, 8, 0x80000000);
    for (let i = 9; i < 15; i++) wset(W, i, 0);
    wset(W, 15, (64 + 32) * 8);
    copy8(T, hm + 32);
    sha256(T);
    // interleave: word k of this lane at X + k*16 + lane*4 (little-endian word values)
    for (let i = 0; i < 8; i++) store<u32>(X + ((<usize>((blk - 1) * 8 + i)) << 4) + (<usize>lane << 2), bswap<u32>(wget(T, i)));
  }
}

/** PBKDF2 over B' (lane's 32 words in X) with one HMAC block; hash bytes to `out`. */
function pbkdf2Out(lane: i32, out: usize): void {
  const hm = HM + (<usize>lane << 6);
  copy8(T, hm);
  for (let i = 0; i < 16; i++) wset(W, i, bswap<u32>(load<u32>(X + (<usize>i << 4) + (<usize>lane << 2))));
  sha256(T);
  for (let i = 0; i < 16; i++) wset(W, i, bswap<u32>(load<u32>(X + (<usize>(16 + i) << 4) + (<usize>lane << 2))));
  sha256(T);
  wset(W, 0, 1);
  wset(W, 1, 0x80000000);
  for (let i = 2; i < 15; i++) wset(W, i, 0);
  wset(W, 15, (64 + 128 + 4) * 8);
  sha256(T);
  for (let i = 0; i < 8; i++) wset(W, i, wget(T, i));
  wset(W, 8, 0x80000000);
  for (let i = 9; i < 15; i++) wset(W, i, 0);
  wset(W, 15, (64 + 32) * 8);
  copy8(T, hm + 32);
  sha256(T);
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(wget(T, i)));
}

@inline function rotl(a: v128, n: i32): v128 {
  return v128.or(i32x4.shl(a, n), i32x4.shr_u(a, 32 - n));
}

/** B ^= Bx; B = Salsa20/8(B) on four lanes; B and Bx are 16 v128 each in memory. */
function xorSalsa8(b: usize, bx: usize): void {
  let x0 = v128.xor(v128.load(b, 0), v128.load(bx, 0));
  let x1 = v128.xor(v128.load(b, 16), v128.load(bx, 16));
  let x2 = v128.xor(v128.load(b, 32), v128.load(bx, 32));
  let x3 = v128.xor(v128.load(b, 48), v128.load(bx, 48));
  let x4 = v128.xor(v128.load(b, 64), v128.load(bx, 64));
  let x5 = v128.xor(v128.load(b, 80), v128.load(bx, 80));
  let x6 = v128.xor(v128.load(b, 96), v128.load(bx, 96));
  let x7 = v128.xor(v128.load(b, 112), v128.load(bx, 112));
  let x8 = v128.xor(v128.load(b, 128), v128.load(bx, 128));
  let x9 = v128.xor(v128.load(b, 144), v128.load(bx, 144));
  let x10 = v128.xor(v128.load(b, 160), v128.load(bx, 160));
  let x11 = v128.xor(v128.load(b, 176), v128.load(bx, 176));
  let x12 = v128.xor(v128.load(b, 192), v128.load(bx, 192));
  let x13 = v128.xor(v128.load(b, 208), v128.load(bx, 208));
  let x14 = v128.xor(v128.load(b, 224), v128.load(bx, 224));
  let x15 = v128.xor(v128.load(b, 240), v128.load(bx, 240));
  const y0 = x0, y1 = x1, y2 = x2, y3 = x3, y4 = x4, y5 = x5, y6 = x6, y7 = x7;
  const y8 = x8, y9 = x9, y10 = x10, y11 = x11, y12 = x12, y13 = x13, y14 = x14, y15 = x15;
  for (let i = 0; i < 8; i += 2) {
    // columns
    x4 = v128.xor(x4, rotl(i32x4.add(x0, x12), 7)); x8 = v128.xor(x8, rotl(i32x4.add(x4, x0), 9));
    x12 = v128.xor(x12, rotl(i32x4.add(x8, x4), 13)); x0 = v128.xor(x0, rotl(i32x4.add(x12, x8), 18));
    x9 = v128.xor(x9, rotl(i32x4.add(x5, x1), 7)); x13 = v128.xor(x13, rotl(i32x4.add(x9, x5), 9));
    x1 = v128.xor(x1, rotl(i32x4.add(x13, x9), 13)); x5 = v128.xor(x5, rotl(i32x4.add(x1, x13), 18));
    x14 = v128.xor(x14, rotl(i32x4.add(x10, x6), 7)); x2 = v128.xor(x2, rotl(i32x4.add(x14, x10), 9));
    x6 = v128.xor(x6, rotl(i32x4.add(x2, x14), 13)); x10 = v128.xor(x10, rotl(i32x4.add(x6, x2), 18));
    x3 = v128.xor(x3, rotl(i32x4.add(x15, x11), 7)); x7 = v128.xor(x7, rotl(i32x4.add(x3, x15), 9));
    x11 = v128.xor(x11, rotl(i32x4.add(x7, x3), 13)); x15 = v128.xor(x15, rotl(i32x4.add(x11, x7), 18));
    // rows
    x1 = v128.xor(x1, rotl(i32x4.add(x0, x3), 7)); x2 = v128.xor(x2, rotl(i32x4.add(x1, x0), 9));
    x3 = v128.xor(x3, rotl(i32x4.add(x2, x1), 13)); x0 = v128.xor(x0, rotl(i32x4.add(x3, x2), 18));
    x6 = v128.xor(x6, rotl(i32x4.add(x5, x4), 7)); x7 = v128.xor(x7, rotl(i32x4.add(x6, x5), 9));
    x4 = v128.xor(x4, rotl(i32x4.add(x7, x6), 13)); x5 = v128.xor(x5, rotl(i32x4.add(x4, x7), 18));
    x11 = v128.xor(x11, rotl(i32x4.add(x10, x9), 7)); x8 = v128.xor(x8, rotl(i32x4.add(x11, x10), 9));
    x9 = v128.xor(x9, rotl(i32x4.add(x8, x11), 13)); x10 = v128.xor(x10, rotl(i32x4.add(x9, x8), 18));
    x12 = v128.xor(x12, rotl(i32x4.add(x15, x14), 7)); x13 = v128.xor(x13, rotl(i32x4.add(x12, x15), 9));
    x14 = v128.xor(x14, rotl(i32x4.add(x13, x12), 13)); x15 = v128.xor(x15, rotl(i32x4.add(x14, x13), 18));
  }
  v128.store(b, i32x4.add(x0, y0), 0); v128.store(b, i32x4.add(x1, y1), 16);
  v128.store(b, i32x4.add(x2, y2), 32); v128.store(b, i32x4.add(x3, y3), 48);
  v128.store(b, i32x4.add(x4, y4), 64); v128.store(b, i32x4.add(x5, y5), 80);
  v128.store(b, i32x4.add(x6, y6), 96); v128.store(b, i32x4.add(x7, y7), 112);
  v128.store(b, i32x4.add(x8, y8), 128); v128.store(b, i32x4.add(x9, y9), 144);
  v128.store(b, i32x4.add(x10, y10), 160); v128.store(b, i32x4.add(x11, y11), 176);
  v128.store(b, i32x4.add(x12, y12), 192); v128.store(b, i32x4.add(x13, y13), 208);
  v128.store(b, i32x4.add(x14, y14), 224); v128.store(b, i32x4.add(x15, y15), 240);
}

function romix(): void {
  for (let i = 0; i < 1024; i++) {
    memory.copy(V + (<usize>i << 9), X, 512);
    xorSalsa8(X, X + 256);
    xorSalsa8(X + 256, X);
  }
  for (let i = 0; i < 1024; i++) {
    const x16 = v128.load(X, 256);
    // each lane reads its own block j = X[16] mod 1024: four scalar loads per word
    const a0 = V + ((<usize>(i32x4.extract_lane(x16, 0) & 1023)) << 9);
    const a1 = V + ((<usize>(i32x4.extract_lane(x16, 1) & 1023)) << 9) + 4;
    const a2 = V + ((<usize>(i32x4.extract_lane(x16, 2) & 1023)) << 9) + 8;
    const a3 = V + ((<usize>(i32x4.extract_lane(x16, 3) & 1023)) << 9) + 12;
    for (let k: usize = 0; k < 512; k += 16) {
      let t = i32x4.splat(load<i32>(a0 + k));
      t = i32x4.replace_lane(t, 1, load<i32>(a1 + k));
      t = i32x4.replace_lane(t, 2, load<i32>(a2 + k));
      t = i32x4.replace_lane(t, 3, load<i32>(a3 + k));
      v128.store(X + k, v128.xor(v128.load(X + k), t));
    }
    xorSalsa8(X, X + 256);
    xorSalsa8(X + 256, X);
  }
}

/** Hash nonces start .. start+n-1 (n <= 4, mod 2^32) of the loaded header; n x 32 bytes to OUT. */
export function hashBatch(start: u32, n: i32): void {
  for (let l = 0; l < 4; l++) pbkdf2In(l < n ? start + <u32>l : start, l);
  romix();
  for (let l = 0; l < n; l++) pbkdf2Out(l, OUT + (<usize>l << 5));
}

function meets(h: usize): bool {
  for (let i = 31; i >= 0; i--) {
    const a = load<u8>(h + <usize>i);
    const b = load<u8>(TARGET + <usize>i);
    if (a < b) return true;
    if (a > b) return false;
  }
  return true;
}

/** Scan count nonces from start (mod 2^32) against TARGET; returns how many found (nonces at FOUND). */
export function scan(start: u32, count: u32): u32 {
  let found: u32 = 0;
  for (let done: u32 = 0; done < count; done += 4) {
    const n = <i32>min<u32>(4, count - done);
    hashBatch(start + done, n);
    for (let l = 0; l < n; l++) {
      if (meets(OUT + (<usize>l << 5)) && found < MAX_FOUND) {
        store<u32>(FOUND + (<usize>found << 2), start + done + <u32>l);
        found++;
      }
    }
  }
  return found;
}
