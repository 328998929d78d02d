#ifndef MF_CPU_H
#define MF_CPU_H
typedef struct {
  int sse2, avx2, avx512f, sha;
} mf_cpu;
/* Instruction sets both the CPU and the OS (saved register state, XCR0) support. */
mf_cpu mf_cpu_detect(void);
#endif
