/* SHA-256 compression (FIPS 180-4 §6.2.2) on big-endian-valued message words. */
#ifndef MF_SHA256_H
#define MF_SHA256_H
#include <stdint.h>

/* state[0..7] = compress(state, block[0..15]); block words already hold their numeric values. */
typedef void (*mf_sha256_fn)(uint32_t state[8], const uint32_t block[16]);

extern const uint32_t MF_SHA256_IV[8];
void mf_sha256_c(uint32_t state[8], const uint32_t block[16]);
#if defined(__x86_64__) || defined(__i386__)
void mf_sha256_shani(uint32_t state[8], const uint32_t block[16]);
#endif
#endif
