/* SHA-256 compression written from FIPS 180-4: a portable C version and one on the x86 SHA
 * extensions (SHA-NI), chosen at run time. */
#include "sha256.h"
#include <string.h>

const uint32_t MF_SHA256_IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

void mf_sha256_c(uint32_t state[8], const uint32_t block[16]) {
  uint32_t w[64];
  memcpy(w, block, 64);
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  state[0] += a; state[1] += b; state[2] += c; state[3] += d;
  state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The SHA extensions keep the state as two registers, ABEF and CDGH (lane 0 = the last letter);
 * sha256rnds2 does two rounds with the two low lanes of its message+constant argument, and
 * sha256msg1/msg2 compute the message schedule four words at a time. */
__attribute__((target("sha,sse4.1,ssse3")))
void mf_sha256_shani(uint32_t state[8], const uint32_t block[16]) {
  __m128i abcd = _mm_loadu_si128((const __m128i *)&state[0]);
  __m128i efgh = _mm_loadu_si128((const __m128i *)&state[4]);
  __m128i t = _mm_shuffle_epi32(abcd, 0xB1);        /* b a d c */
  efgh = _mm_shuffle_epi32(efgh, 0x1B);             /* h g f e */
  __m128i s0 = _mm_alignr_epi8(t, efgh, 8);         /* f e b a = ABEF */
  __m128i s1 = _mm_blend_epi16(efgh, t, 0xF0);      /* h g d c = CDGH */
  const __m128i save0 = s0, save1 = s1;
  __m128i m[4];
  for (int g = 0; g < 16; g++) {
    __m128i msg;
    if (g < 4) {
      msg = _mm_loadu_si128((const __m128i *)&block[4 * g]);
    } else {
      /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] for the next four t */
      __m128i x = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
      msg = _mm_sha256msg2_epu32(x, m[(g + 3) & 3]);
    }
    m[g & 3] = msg;
    __m128i k = _mm_add_epi32(msg, _mm_loadu_si128((const __m128i *)&K[4 * g]));
    s1 = _mm_sha256rnds2_epu32(s1, s0, k);
    k = _mm_shuffle_epi32(k, 0x0E);
    s0 = _mm_sha256rnds2_epu32(s0, s1, k);
  }
  s0 = _mm_add_epi32(s0, save0);
  s1 = _mm_add_epi32(s1, save1);
  t = _mm_shuffle_epi32(s0, 0x1B);                  /* a b e f */
  s1 = _mm_shuffle_epi32(s1, 0xB1);                 /* g h c d */
  abcd = _mm_blend_epi16(t, s1, 0xF0);              /* a b c d */
  efgh = _mm_alignr_epi8(s1, t, 8);                 /* e f g h */
  _mm_storeu_si128((__m128i *)&state[0], abcd);
  _mm_storeu_si128((__m128i *)&state[4], efgh);
}
#endif
