// Run-time ISA dispatch for hot loops. A function marked EDGEQUANT_KERNEL is compiled once per
// listed ISA and the loader picks the best one the CPU has (GCC target_clones / ifunc), so one
// wheel runs everywhere and still uses AVX2 / AVX-512 where present. Kernels are written as
// plain loops that GCC vectorises; their scalar references live beside them (see quant/*.h).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(EDGEQUANT_NO_CLONES)
#define EDGEQUANT_KERNEL __attribute__((target_clones("default", "avx2", "arch=skylake-avx512")))
#else
#define EDGEQUANT_KERNEL
#endif
