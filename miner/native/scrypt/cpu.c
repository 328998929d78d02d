#include "cpu.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <stdint.h>

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

mf_cpu mf_cpu_detect(void) {
  mf_cpu c = {0, 0, 0, 0};
  unsigned a, b, cx, d;
  if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
  c.sse2 = (d >> 26) & 1;
  int sse41 = (cx >> 19) & 1, ssse3 = (cx >> 9) & 1;
  int osxsave = (cx >> 27) & 1, avx = (cx >> 28) & 1;
  uint64_t xcr0 = (osxsave && avx) ? xgetbv0() : 0;
  int os_ymm = (xcr0 & 0x6) == 0x6;           /* XMM and YMM state */
  int os_zmm = (xcr0 & 0xE6) == 0xE6;         /* plus opmask and ZMM state */
  if (__get_cpuid_count(7, 0, &a, &b, &cx, &d)) {
    c.avx2 = os_ymm && ((b >> 5) & 1);
    c.avx512f = os_zmm && ((b >> 16) & 1);
    c.sha = ((b >> 29) & 1) && sse41 && ssse3;
  }
  return c;
}
#else
mf_cpu mf_cpu_detect(void) {
  mf_cpu c = {0, 0, 0, 0};
  return c;
}
#endif
