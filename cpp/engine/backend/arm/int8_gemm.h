// The ARM backend's INT8 inner products: C[m, n] = Σ_k A[m, k]·B[n, k] in int32, A and B s8.
// One implementation per ISA level, each in its own file compiled with its own flags:
// int8_gemm_neon.cpp (plain ARMv8 NEON: SMULL + SADALP, every aarch64 core),
// int8_gemm_asimddp.cpp (SDOT, ARMv8.2 dot product: Cortex-A76 / Pi 5) and int8_gemm_i8mm.cpp
// (SMMLA, ARMv8.6 int8 matrix multiply: Neoverse V1, Cortex-A710), all ending in the same scalar
// tail (int8_gemm_tail.h). The one to use is chosen at run time (dispatch.cpp).
//
// Why s8 × s8 (and the +128 correction): the engine's activations are u8 with x = s·(q − z).
// ARM's SDOT multiplies s8 by s8 (UDOT u8 by u8); a u8 × s8 dot product exists only as USDOT
// (ARMv8.6 i8mm, not on the A76). x86's VNNI (VPDPBUSD) is the opposite: u8 × s8 only. So on ARM
// the activation code is fed as q − 128 (an s8, exact for every u8) and the kernels return
// Σ (q − 128)·w; the caller adds (128 − z)·Σ_k w[n, k] per output channel, which is exact in
// int32, so Σ (q − z)·w comes out bit for bit as the reference backend's integer sum.
#pragma once
#include <cstdint>
#include <vector>

namespace edgequant::engine::arm {

// B (the weights, [n, k] s8, row-major) prepared once for one ISA's micro-kernel.
struct PackedB {
  std::vector<int8_t> rows;    // [n, k] as given: the scalar tail reads it
  std::vector<int8_t> packed;  // the ISA's panel layout over the first kmain columns
  int64_t n = 0, k = 0, kmain = 0;
  // The plain NEON kernel adds the products of columns k and k + 8 of each 16 in int16 before
  // widening. Only (−128)·(−128) + (−128)·(−128) = 2¹⁵ overflows, so this holds when no row has
  // −128 at both (the symmetric fit gives −128 only where a channel's largest weight is negative).
  bool pairs_fit_int16 = false;
  // The last 8 of the kmain columns are zero in every row (the zero padding of a k just past a
  // multiple of 16, as a pointwise layer of 8 channels has): the plain NEON kernel skips them.
  bool last_half_zero = false;
  // Packed by Int8Gemm::pack_short_taps: kmain == k, a multiple of 4, read in taps of 4 to 16.
  bool short_taps = false;
};

struct CodesRequantization;  // fixed_point_neon.h

// Where a row of A keeps its k values: `count` taps of `len` contiguous values each, tap t at
// row + offsets[t] (an indirect GEMM: a conv's rows point at their windows in a padded image, each
// tap a pixel's channels, with no im2col copy). plain(k): one tap at offset 0, a contiguous row.
// Taps other than a plain row need len in whole SIMD steps (a multiple of 16), except with a B
// packed by pack_short_taps: there every tap (a plain row too) holds 4, 8, 12 or 16 values.
struct Int8Taps {
  const int64_t* offsets;
  int64_t count, len;
  static Int8Taps plain(int64_t k) {
    static constexpr int64_t kZero = 0;
    return {&kZero, 1, k};
  }
  bool is_plain() const { return count == 1 && offsets[0] == 0; }
};

// One ISA level's kernels. `gemm` computes rows [0, m) of C (ldc int32 per row) from the row
// pointers `a` (each k s8 values, as `taps` lays them out), all n columns of `b`, each column
// starting from init[column] (the caller's exact zero-point correction). `gemm_codes` computes the same sums and
// requantizes each tile in registers by `r` to s8 codes (ldc bytes per row), adding the residual
// codes (the output's layout) where r.residual: the int32 sums never go through memory. It needs k
// in whole SIMD steps (b.kmain == b.k) and r's per-channel arrays padded to a multiple of 16 channels.
//
// pack_short_taps (null where the ISA reads whole 16-k steps only) packs B for rows whose taps are
// short: 4, 8, 12 or 16 values each (k a multiple of 4, the taps' count · len), each tap read by one
// 16-byte load whose first len/4 groups of 4 meet B: a conv with few input channels reads each
// window's kernel rows in place (a 3×3 over RGB: 3 taps of 9 values, padded to 12 by zero weights)
// instead of copying them into im2col rows padded to 32. A row's 16 bytes from each tap must be
// readable (the 16-byte slack after NHWC codes and frames).
struct Int8Gemm {
  const char* name;
  PackedB (*pack)(const int8_t* b, int64_t n, int64_t k);
  void (*gemm)(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
               int32_t* c, int64_t ldc);
  void (*gemm_codes)(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                     const CodesRequantization& r, const int8_t* residual, int8_t* c, int64_t ldc);
  PackedB (*pack_short_taps)(const int8_t* b, int64_t n, int64_t k) = nullptr;
};

const Int8Gemm& int8_gemm_neon();
const Int8Gemm* int8_gemm_asimddp();
const Int8Gemm* int8_gemm_i8mm();

}  // namespace edgequant::engine::arm
