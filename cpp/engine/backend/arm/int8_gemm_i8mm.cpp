// INT8 GEMM on the ARMv8.6 int8 matrix-multiply instructions (SMMLA; Neoverse V1 / Graviton 3,
// Cortex-A710 / X2 and later — not the Pi 5's A76), compiled with -march=armv8.2-a+i8mm and only
// called where HWCAP2_I8MM is set: an 8×8 tile of C, 8 k per step, each SMMLA adding a 2×8 by 8×2
// s8 product to a 2×2 block of int32 (32 MACs, twice an SDOT's). A rows are paired per step, B is
// packed in column pairs. Ends in the shared scalar tail.
#include <arm_neon.h>

#include <algorithm>
#include <vector>

#include "backend/arm/int8_gemm.h"
#include "backend/arm/int8_gemm_tail.h"

namespace edgequant::engine::arm {
namespace {

constexpr int kMr = 8, kNr = 8, kStep = 8;

// Panel layout: for each 8 k, for each pair of channels (j, j + 1), their 8 k values one after the other.
PackedB pack(const int8_t* b, int64_t n, int64_t k) {
  PackedB p;
  p.n = n, p.k = k, p.kmain = k / kStep * kStep;
  p.rows.assign(b, b + n * k);
  const int64_t panels = (n + kNr - 1) / kNr;
  p.packed.assign(static_cast<size_t>(panels * kNr * p.kmain), 0);
  int8_t* dst = p.packed.data();
  for (int64_t panel = 0; panel < panels; ++panel)
    for (int64_t k0 = 0; k0 < p.kmain; k0 += kStep)
      for (int j = 0; j < kNr; ++j, dst += kStep) {
        const int64_t row = panel * kNr + j;
        if (row < n) std::copy(b + row * k + k0, b + row * k + k0 + kStep, dst);
      }
  return p;
}

// Rows a[0..8) × the panel's 8 channels, from init[0..8); each row's sums to the sink.
// acc[rp][cp] holds the 2×2 block rows 2rp, 2rp + 1 × channels 2cp, 2cp + 1, row-major.
template <class Sink>
void tile(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps, const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr / 2][kNr / 2];
  #pragma GCC unroll 16
  for (int cp = 0; cp < kNr / 2; ++cp) {
    const int32x2_t pair = vld1_s32(init + 2 * cp);
    #pragma GCC unroll 16
    for (int rp = 0; rp < kMr / 2; ++rp) acc[rp][cp] = vcombine_s32(pair, pair);
  }
  for_each_step<kMr, kStep, kNr * kStep>(a, taps, panel, [&](const int8_t* const* rows, int64_t k) {
    int8x16_t av[kMr / 2], bv[kNr / 2];
    #pragma GCC unroll 16
    for (int rp = 0; rp < kMr / 2; ++rp) av[rp] = vcombine_s8(vld1_s8(rows[2 * rp] + k), vld1_s8(rows[2 * rp + 1] + k));
    #pragma GCC unroll 16
    for (int cp = 0; cp < kNr / 2; ++cp) bv[cp] = vld1q_s8(panel + 16 * cp);
    #pragma GCC unroll 16
    for (int rp = 0; rp < kMr / 2; ++rp)
      #pragma GCC unroll 16
      for (int cp = 0; cp < kNr / 2; ++cp) acc[rp][cp] = vmmlaq_s32(acc[rp][cp], av[rp], bv[cp]);
  });
  int32x4_t rows[kMr][kNr / 4];  // blocks side by side: rows 2rp and 2rp + 1, 4 channels at a time
  #pragma GCC unroll 16
  for (int rp = 0; rp < kMr / 2; ++rp)
    #pragma GCC unroll 16
    for (int cp = 0; cp < kNr / 2; cp += 2) {
      const int64x2_t left = vreinterpretq_s64_s32(acc[rp][cp]), right = vreinterpretq_s64_s32(acc[rp][cp + 1]);
      rows[2 * rp][cp / 2] = vreinterpretq_s32_s64(vzip1q_s64(left, right));
      rows[2 * rp + 1][cp / 2] = vreinterpretq_s32_s64(vzip2q_s64(left, right));
    }
  sink.store(rows);
}

constexpr auto kTile = [](auto&&... args) { tile(args...); };

void gemm(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init, int32_t* c,
          int64_t ldc) {
  gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, kTile);
}

void gemm_codes(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                const CodesRequantization& r, const int8_t* residual, int8_t* c, int64_t ldc) {
  gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, kTile);
}

}  // namespace

const Int8Gemm* int8_gemm_i8mm() {
  static const Int8Gemm g{"i8mm", pack, gemm, gemm_codes};
  return &g;
}

}  // namespace edgequant::engine::arm
