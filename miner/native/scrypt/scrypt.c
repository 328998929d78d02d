/* scrypt(P = S = header, N = 1024, r = 1, p = 1, dkLen = 32) per RFC 7914, specialised for 80-byte
 * block headers: PBKDF2-HMAC-SHA256 (RFC 8018 / FIPS 198-1) around ROMix. Only the last 16 header
 * bytes change per nonce, so SHA-256 of the first 64 bytes (the HMAC key is longer than a block
 * and gets hashed) is computed once per header: the midstate. */
#include "scrypt.h"
#include <string.h>

#define IPAD 0x36363636u
#define OPAD 0x5c5c5c5cu

static inline uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }

void mf_header_load(mf_header *h, const uint8_t header80[80], mf_sha256_fn sha) {
  for (int i = 0; i < 20; i++)
    h->hw[i] = ((uint32_t)header80[4 * i] << 24) | ((uint32_t)header80[4 * i + 1] << 16) |
               ((uint32_t)header80[4 * i + 2] << 8) | header80[4 * i + 3];
  memcpy(h->midstate, MF_SHA256_IV, 32);
  sha(h->midstate, h->hw);
}

typedef struct {
  uint32_t istate[8], ostate[8];
} hmac_state;

/* HMAC key setup and PBKDF2 block 1..4 over header || INT(i): X (32 little-endian words). */
static void pbkdf2_in(const mf_header *h, uint32_t nonce, mf_sha256_fn sha, hmac_state *hm, uint32_t X[32]) {
  uint32_t w[16], key[8], ihead[8], t[8];
  uint32_t tail[4] = {h->hw[16], h->hw[17], h->hw[18], bswap32(nonce)}; /* nonce is LE in the header */
  /* key = SHA256(header) */
  memcpy(key, h->midstate, 32);
  memcpy(w, tail, 16);
  w[4] = 0x80000000u;
  memset(&w[5], 0, 10 * 4);
  w[15] = 80 * 8;
  sha(key, w);
  for (int i = 0; i < 8; i++) w[i] = key[i] ^ IPAD;
  for (int i = 8; i < 16; i++) w[i] = IPAD;
  memcpy(hm->istate, MF_SHA256_IV, 32);
  sha(hm->istate, w);
  for (int i = 0; i < 8; i++) w[i] = key[i] ^ OPAD;
  for (int i = 8; i < 16; i++) w[i] = OPAD;
  memcpy(hm->ostate, MF_SHA256_IV, 32);
  sha(hm->ostate, w);
  /* inner hash of the first 64 header bytes, shared by the four blocks */
  memcpy(ihead, hm->istate, 32);
  sha(ihead, h->hw);
  for (uint32_t blk = 1; blk <= 4; blk++) {
    memcpy(t, ihead, 32);
    memcpy(w, tail, 16);
    w[4] = blk;
    w[5] = 0x80000000u;
    memset(&w[6], 0, 9 * 4);
    w[15] = (64 + 84) * 8;
    sha(t, w);
    memcpy(w, t, 32);
    w[8] = 0x80000000u;
    memset(&w[9], 0, 6 * 4);
    w[15] = (64 + 32) * 8;
    memcpy(t, hm->ostate, 32);
    sha(t, w);
    for (int i = 0; i < 8; i++) X[(blk - 1) * 8 + i] = bswap32(t[i]);
  }
}

/* PBKDF2(P = header, S = B', c = 1, dkLen = 32): one HMAC over B' || INT(1). */
static void pbkdf2_out(const hmac_state *hm, const uint32_t X[32], mf_sha256_fn sha, uint8_t out[32]) {
  uint32_t w[16], t[8];
  memcpy(t, hm->istate, 32);
  for (int i = 0; i < 16; i++) w[i] = bswap32(X[i]);
  sha(t, w);
  for (int i = 0; i < 16; i++) w[i] = bswap32(X[16 + i]);
  sha(t, w);
  w[0] = 1;
  w[1] = 0x80000000u;
  memset(&w[2], 0, 13 * 4);
  w[15] = (64 + 128 + 4) * 8;
  sha(t, w);
  memcpy(w, t, 32);
  w[8] = 0x80000000u;
  memset(&w[9], 0, 6 * 4);
  w[15] = (64 + 32) * 8;
  memcpy(t, hm->ostate, 32);
  sha(t, w);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(t[i] >> 24);
    out[4 * i + 1] = (uint8_t)(t[i] >> 16);
    out[4 * i + 2] = (uint8_t)(t[i] >> 8);
    out[4 * i + 3] = (uint8_t)t[i];
  }
}

void mf_scrypt_batch(const mf_header *h, const uint32_t *nonces, int n, const mf_path *path,
                     mf_sha256_fn sha, void *V, uint8_t *out) {
  const int L = path->lanes;
  hmac_state hm[MF_MAX_LANES];
  uint32_t X[32];
  uint32_t Xio[32 * MF_MAX_LANES] __attribute__((aligned(64)));
  for (int l = 0; l < L; l++) {
    /* idle lanes (n < L) repeat the first nonce: same cost, result dropped */
    pbkdf2_in(h, nonces[l < n ? l : 0], sha, &hm[l], X);
    for (int k = 0; k < 32; k++) Xio[k * L + l] = X[k];
  }
  path->romix(Xio, V);
  for (int l = 0; l < n; l++) {
    for (int k = 0; k < 32; k++) X[k] = Xio[k * L + l];
    pbkdf2_out(&hm[l], X, sha, out + 32 * l);
  }
}

int mf_meets_target(const uint8_t *hash, const uint8_t *target) {
  for (int i = 31; i >= 0; i--) {
    if (hash[i] < target[i]) return 1;
    if (hash[i] > target[i]) return 0;
  }
  return 1;
}
