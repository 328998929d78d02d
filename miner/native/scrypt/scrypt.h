#ifndef MF_SCRYPT_H
#define MF_SCRYPT_H
#include <stdint.h>
#include "romix.h"
#include "sha256.h"

#define MF_MAX_LANES 16

typedef struct {
  const char *name; /* "avx512", "avx2", "sse2", "scalar" */
  int lanes;
  mf_romix_fn romix;
} mf_path;

/* One header template prepared per scan: big-endian words and the midstate of bytes 0..63. */
typedef struct {
  uint32_t hw[20];
  uint32_t midstate[8];
} mf_header;

void mf_header_load(mf_header *h, const uint8_t header80[80], mf_sha256_fn sha);
/* Hash nonces[0..n) (n <= path->lanes) into out[i * 32 .. +32] (raw hash bytes). V: scratchpad. */
void mf_scrypt_batch(const mf_header *h, const uint32_t *nonces, int n, const mf_path *path,
                     mf_sha256_fn sha, void *V, uint8_t *out);
/* hash (32 bytes) as a little-endian number <= target (32 bytes, little-endian) */
int mf_meets_target(const uint8_t *hash, const uint8_t *target);
#endif
