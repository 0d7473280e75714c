// Run-time ISA dispatch for hot loops. A function marked EDGEQUANT_KERNEL is compiled once per
// listed ISA and the loader picks the best one the CPU has (GCC target_clones / ifunc), so one
// wheel runs everywhere and still uses AVX2 / AVX-512 where present. Clones are named by ISA
// feature, not by CPU model: an "arch=skylake-avx512" clone is never selected on AMD's AVX-512
// CPUs (Zen 4), which then ran the AVX2 clone. Kernels are written as plain loops that GCC
// vectorises; their scalar references live beside them (see quant/*.h).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(EDGEQUANT_NO_CLONES)
#define EDGEQUANT_KERNEL __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define EDGEQUANT_KERNEL
#endif

// Loop bodies that must be compiled inside each EDGEQUANT_KERNEL clone (an outlined copy would
// be built for the baseline ISA only and never vectorised with AVX2).
#if defined(__GNUC__)
#define EDGEQUANT_INLINE inline __attribute__((always_inline))
#else
#define EDGEQUANT_INLINE inline
#endif

// What the CPU offers, asked once, for the hand-written AVX-512 paths (intrinsics in functions with a
// target attribute, called only where these say yes): AVX-512 F, and VBMI's byte permutes with BW.
#if defined(__x86_64__) && defined(__GNUC__)
inline bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
inline bool cpu_has_avx512vbmi() {
  static const bool has = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return has;
}
#endif
