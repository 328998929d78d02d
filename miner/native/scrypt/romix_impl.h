/* scrypt's ROMix (RFC 7914 §5, N = 1024, r = 1) on LANES independent hashes at once, one hash per
 * 32-bit lane of a vector ("vertical" layout): word k of every lane's block sits in X[k], so
 * Salsa20/8 needs no shuffles and each vector instruction advances LANES hashes. Included once per
 * instruction set by romix.c with LANES, VEC, SUFFIX and GATHER_XOR defined. */
#define MF_CAT_(a, b) a##b
#define MF_CAT(a, b) MF_CAT_(a, b)
#define MF_FN(name) MF_CAT(name, SUFFIX)
#define MF_ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))

/* B ^= Bx; B = Salsa20/8(B) (RFC 7914 §3), with the state in locals so it stays in registers. */
static inline __attribute__((always_inline)) void MF_FN(xor_salsa8_)(VEC *restrict B, const VEC *restrict Bx) {
  VEC x0 = (B[0] ^= Bx[0]), x1 = (B[1] ^= Bx[1]), x2 = (B[2] ^= Bx[2]), x3 = (B[3] ^= Bx[3]);
  VEC x4 = (B[4] ^= Bx[4]), x5 = (B[5] ^= Bx[5]), x6 = (B[6] ^= Bx[6]), x7 = (B[7] ^= Bx[7]);
  VEC x8 = (B[8] ^= Bx[8]), x9 = (B[9] ^= Bx[9]), x10 = (B[10] ^= Bx[10]), x11 = (B[11] ^= Bx[11]);
  VEC x12 = (B[12] ^= Bx[12]), x13 = (B[13] ^= Bx[13]), x14 = (B[14] ^= Bx[14]), x15 = (B[15] ^= Bx[15]);
  for (int i = 0; i < 8; i += 2) {
    /* columns */
    x4 ^= MF_ROTL(x0 + x12, 7);  x8 ^= MF_ROTL(x4 + x0, 9);
    x12 ^= MF_ROTL(x8 + x4, 13); x0 ^= MF_ROTL(x12 + x8, 18);
    x9 ^= MF_ROTL(x5 + x1, 7);   x13 ^= MF_ROTL(x9 + x5, 9);
    x1 ^= MF_ROTL(x13 + x9, 13); x5 ^= MF_ROTL(x1 + x13, 18);
    x14 ^= MF_ROTL(x10 + x6, 7); x2 ^= MF_ROTL(x14 + x10, 9);
    x6 ^= MF_ROTL(x2 + x14, 13); x10 ^= MF_ROTL(x6 + x2, 18);
    x3 ^= MF_ROTL(x15 + x11, 7); x7 ^= MF_ROTL(x3 + x15, 9);
    x11 ^= MF_ROTL(x7 + x3, 13); x15 ^= MF_ROTL(x11 + x7, 18);
    /* rows */
    x1 ^= MF_ROTL(x0 + x3, 7);   x2 ^= MF_ROTL(x1 + x0, 9);
    x3 ^= MF_ROTL(x2 + x1, 13);  x0 ^= MF_ROTL(x3 + x2, 18);
    x6 ^= MF_ROTL(x5 + x4, 7);   x7 ^= MF_ROTL(x6 + x5, 9);
    x4 ^= MF_ROTL(x7 + x6, 13);  x5 ^= MF_ROTL(x4 + x7, 18);
    x11 ^= MF_ROTL(x10 + x9, 7); x8 ^= MF_ROTL(x11 + x10, 9);
    x9 ^= MF_ROTL(x8 + x11, 13); x10 ^= MF_ROTL(x9 + x8, 18);
    x12 ^= MF_ROTL(x15 + x14, 7); x13 ^= MF_ROTL(x12 + x15, 9);
    x14 ^= MF_ROTL(x13 + x12, 13); x15 ^= MF_ROTL(x14 + x13, 18);
  }
  B[0] += x0; B[1] += x1; B[2] += x2; B[3] += x3;
  B[4] += x4; B[5] += x5; B[6] += x6; B[7] += x7;
  B[8] += x8; B[9] += x9; B[10] += x10; B[11] += x11;
  B[12] += x12; B[13] += x13; B[14] += x14; B[15] += x15;
}

/* Xio: 32 words x LANES, word-major ([k * LANES + lane]), little-endian word values.
 * V: scratchpad of 1024 * 32 vectors, aligned to the vector size. */
void MF_FN(mf_romix_)(uint32_t *Xio, void *Vmem) {
  VEC *restrict V = (VEC *)Vmem;
  VEC X[32];
  memcpy(X, Xio, sizeof X);
  for (int i = 0; i < 1024; i++) {
    memcpy(&V[i * 32], X, sizeof X);
    MF_FN(xor_salsa8_)(X, X + 16);
    MF_FN(xor_salsa8_)(X + 16, X);
  }
  for (int i = 0; i < 1024; i++) {
    GATHER_XOR(X, V);
    MF_FN(xor_salsa8_)(X, X + 16);
    MF_FN(xor_salsa8_)(X + 16, X);
  }
  memcpy(Xio, X, sizeof X);
}

#undef MF_ROTL
