// INT8 GEMM on plain ARMv8 NEON (every aarch64 core, the Pi 3 / Pi 4's Cortex-A53 / A72): a
// 4×4 tile of C, 16 k per step; SMULL (s8 × s8 → s16) [+ SMLAL2 where the pair fits int16], then
// SADALP into int32 lanes, reduced once per tile. Ends in the shared scalar tail.
#include <arm_neon.h>

#include <algorithm>
#include <vector>

#include "backend/arm/int8_gemm.h"
#include "backend/arm/int8_gemm_tail.h"

namespace edgequant::engine::arm {
namespace {

constexpr int kMr = 4, kNr = 4, kStep = 16;

PackedB pack(const int8_t* b, int64_t n, int64_t k) {
  PackedB p;
  p.n = n, p.k = k, p.kmain = k / kStep * kStep;
  p.rows.assign(b, b + n * k);
  p.pairs_fit_int16 = true;
  for (int64_t row = 0; row < n; ++row)
    for (int64_t k0 = 0; k0 < p.kmain; k0 += kStep)
      for (int i = 0; i < kStep / 2; ++i)
        if (b[row * k + k0 + i] == -128 && b[row * k + k0 + i + kStep / 2] == -128) p.pairs_fit_int16 = false;
  p.last_half_zero = p.kmain > 0;
  for (int64_t row = 0; row < n && p.last_half_zero; ++row)
    for (int64_t j = p.kmain - kStep / 2; j < p.kmain; ++j) p.last_half_zero &= b[row * k + j] == 0;
  const int64_t panels = (n + kNr - 1) / kNr;
  p.packed.assign(static_cast<size_t>(panels * kNr * p.kmain), 0);
  int8_t* dst = p.packed.data();
  for (int64_t panel = 0; panel < panels; ++panel)
    for (int64_t k0 = 0; k0 < p.kmain; k0 += kStep)
      #pragma GCC unroll 16
      for (int j = 0; j < kNr; ++j, dst += kStep) {
        const int64_t row = panel * kNr + j;
        if (row < n) std::copy(b + row * k + k0, b + row * k + k0 + kStep, dst);
      }
  return p;
}

// Rows a[0..4) × the panel's 4 channels, from init[0..4); each row's sums to the sink. kHalfLast
// (plain rows of a PackedB::last_half_zero): the last step multiplies its first 8 columns only.
template <bool kPairs, bool kHalfLast, class Sink>
void tile(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps, const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr][kNr];
  #pragma GCC unroll 16
  for (auto& row : acc)
    #pragma GCC unroll 16
    for (auto& v : row) v = vdupq_n_s32(0);
  const Int8Taps full = kHalfLast ? Int8Taps{taps.offsets, 1, taps.len - kStep} : taps;
  for_each_step<kMr, kStep, kNr * kStep>(a, full, panel, [&](const int8_t* const* rows, int64_t k) {
    int8x16_t av[kMr], bv[kNr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) av[r] = vld1q_s8(rows[r] + k);
    #pragma GCC unroll 16
    for (int j = 0; j < kNr; ++j) bv[j] = vld1q_s8(panel + j * kStep);
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r)
      #pragma GCC unroll 16
      for (int j = 0; j < kNr; ++j) {
        int16x8_t prod = vmull_s8(vget_low_s8(av[r]), vget_low_s8(bv[j]));
        if (kPairs) {
          prod = vmlal_high_s8(prod, av[r], bv[j]);
          acc[r][j] = vpadalq_s16(acc[r][j], prod);
        } else {
          acc[r][j] = vpadalq_s16(acc[r][j], prod);
          acc[r][j] = vpadalq_s16(acc[r][j], vmull_high_s8(av[r], bv[j]));
        }
      }
  });
  if constexpr (kHalfLast) {
    const int64_t k = full.len;
    int8x8_t av[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) av[r] = vld1_s8(a[r] + k);
    #pragma GCC unroll 16
    for (int j = 0; j < kNr; ++j) {
      const int8x8_t bv = vld1_s8(panel + j * kStep);
      #pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) acc[r][j] = vpadalq_s16(acc[r][j], vmull_s8(av[r], bv));
    }
  }
  const int32x4_t start = vld1q_s32(init);
  int32x4_t rows[kMr][1];
  #pragma GCC unroll 16
  for (int r = 0; r < kMr; ++r)  // lane j: the sum of acc[r][j]'s lanes, + init[j]
    rows[r][0] = vaddq_s32(vpaddq_s32(vpaddq_s32(acc[r][0], acc[r][1]), vpaddq_s32(acc[r][2], acc[r][3])), start);
  sink.store(rows);
}

// f(tile) with the micro-kernel for b and taps: paired products where they fit int16, the last half
// step skipped where b's last 8 columns are zero and the rows plain.
template <class F>
void with_tile(const PackedB& b, const Int8Taps& taps, F&& f) {
  const bool half = b.last_half_zero && taps.is_plain();
  if (b.pairs_fit_int16 && half) f([](auto&&... args) { tile<true, true>(args...); });
  else if (b.pairs_fit_int16) f([](auto&&... args) { tile<true, false>(args...); });
  else if (half) f([](auto&&... args) { tile<false, true>(args...); });
  else f([](auto&&... args) { tile<false, false>(args...); });
}

void gemm(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init, int32_t* c,
          int64_t ldc) {
  with_tile(b, taps, [&](auto tile) { gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, tile); });
}

void gemm_codes(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                const CodesRequantization& r, const int8_t* residual, int8_t* c, int64_t ldc) {
  with_tile(b, taps, [&](auto tile) { gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, tile); });
}

}  // namespace

const Int8Gemm& int8_gemm_neon() {
  static const Int8Gemm g{"neon", pack, gemm, gemm_codes};
  return g;
}

}  // namespace edgequant::engine::arm
