#ifndef MF_ROMIX_H
#define MF_ROMIX_H
#include <stdint.h>
/* Xio: 32 words per lane, word-major; V: 128 KiB per lane, 64-byte aligned. */
typedef void (*mf_romix_fn)(uint32_t *Xio, void *V);
void mf_romix_scalar(uint32_t *Xio, void *V);
#if defined(__x86_64__)
void mf_romix_sse2(uint32_t *Xio, void *V);
void mf_romix_avx2(uint32_t *Xio, void *V);
void mf_romix_avx512(uint32_t *Xio, void *V);
#endif
#endif
