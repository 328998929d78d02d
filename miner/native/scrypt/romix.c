/* ROMix for each instruction set: the same source (romix_impl.h) compiled for 1 lane (portable C),
 * 4 lanes (SSE2), 8 lanes (AVX2) and 16 lanes (AVX-512F). Each x86 variant is compiled with its
 * own target pragma so the addon runs on any x86-64 and picks the widest at run time. */
#include <stdint.h>
#include <string.h>
#include "romix.h"

/* --- portable, 1 lane --- */
#define LANES 1
#define VEC uint32_t
#define SUFFIX scalar
#define GATHER_XOR(X, V)                                     \
  do {                                                       \
    const VEC *v_ = &V[(X[16] & 1023) * 32];                 \
    for (int k_ = 0; k_ < 32; k_++) X[k_] ^= v_[k_];         \
  } while (0)
#include "romix_impl.h"
#undef LANES
#undef VEC
#undef SUFFIX
#undef GATHER_XOR

#if defined(__x86_64__)
#include <immintrin.h>

/* --- SSE2, 4 lanes: no gather instruction, so each lane's word is loaded on its own --- */
typedef uint32_t mf_v4 __attribute__((vector_size(16)));
#define LANES 4
#define VEC mf_v4
#define SUFFIX sse2
#define GATHER_XOR(X, V)                                                       \
  do {                                                                         \
    const uint32_t *w_ = (const uint32_t *)V;                                  \
    uint32_t j0 = (X[16][0] & 1023) * 128, j1 = (X[16][1] & 1023) * 128 + 1;   \
    uint32_t j2 = (X[16][2] & 1023) * 128 + 2, j3 = (X[16][3] & 1023) * 128 + 3; \
    for (int k_ = 0; k_ < 32; k_++) {                                          \
      mf_v4 t_ = {w_[j0 + k_ * 4], w_[j1 + k_ * 4], w_[j2 + k_ * 4], w_[j3 + k_ * 4]}; \
      X[k_] ^= t_;                                                             \
    }                                                                          \
  } while (0)
#include "romix_impl.h"
#undef LANES
#undef VEC
#undef SUFFIX
#undef GATHER_XOR

/* --- AVX2, 8 lanes --- */
#pragma GCC push_options
#pragma GCC target("avx2")
typedef uint32_t mf_v8 __attribute__((vector_size(32)));
#define LANES 8
#define VEC mf_v8
#define SUFFIX avx2
#define GATHER_XOR(X, V)                                                            \
  do {                                                                              \
    const mf_v8 lane_ = {0, 1, 2, 3, 4, 5, 6, 7};                                   \
    __m256i idx_ = (__m256i)((X[16] & 1023) * 256 + lane_);                         \
    for (int k_ = 0; k_ < 32; k_++)                                                 \
      X[k_] ^= (mf_v8)_mm256_i32gather_epi32((const int *)(V + k_), idx_, 4);       \
  } while (0)
#include "romix_impl.h"
#undef LANES
#undef VEC
#undef SUFFIX
#undef GATHER_XOR
#pragma GCC pop_options

/* --- AVX-512F, 16 lanes (32 vector registers: the whole state stays in registers) --- */
#pragma GCC push_options
#pragma GCC target("avx512f")
typedef uint32_t mf_v16 __attribute__((vector_size(64)));
#define LANES 16
#define VEC mf_v16
#define SUFFIX avx512
#define GATHER_XOR(X, V)                                                                   \
  do {                                                                                     \
    const mf_v16 lane_ = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};           \
    __m512i idx_ = (__m512i)((X[16] & 1023) * 512 + lane_);                                \
    for (int k_ = 0; k_ < 32; k_++)                                                        \
      X[k_] ^= (mf_v16)_mm512_i32gather_epi32(idx_, (const void *)(V + k_), 4);            \
  } while (0)
#include "romix_impl.h"
#undef LANES
#undef VEC
#undef SUFFIX
#undef GATHER_XOR
#pragma GCC pop_options
#endif
