// An 8×8 tile of C in 16 NEON registers; 4 k per step with FMLA by lane (one A vector per row),
// then single k with a broadcast. Rows beyond m repeat the last row and are not stored. With an
// epilogue, bias and activation are applied to the tile in registers (one pass over C fewer), by
// the same vector steps as the separate pass (epilogue.h activate_as): the same values.
#include "backend/arm/f32_gemm.h"

#include <arm_neon.h>

#include <algorithm>

#include "backend/arm/epilogue.h"

namespace edgequant::engine::arm {
namespace {
constexpr int kMr = 8, kNr = 8;

template <int kLane>
inline void fma_lane(float32x4_t (&acc)[kMr][2], const float32x4_t (&av)[kMr], const float* p) {
  const float32x4_t b0 = vld1q_f32(p), b1 = vld1q_f32(p + 4);
  #pragma GCC unroll 16
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, av[r], kLane);
    acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, av[r], kLane);
  }
}

// Rows a[0..8) × the panel's 8 columns, stored to out (ld floats per row); with kEpilogue,
// act(value + bias[column]) of kKind, its affine step only with kAffine.
template <bool kEpilogue, Activation::Kind kKind, bool kAffine>
void tile(const float* const* a, const float* panel, int64_t k, float* out, int64_t ld, const float* bias,
          const Activation& act) {
  float32x4_t acc[kMr][2];
  #pragma GCC unroll 16
  for (auto& row : acc) row[0] = row[1] = vdupq_n_f32(0);
  int64_t j = 0;
  for (; j + 4 <= k; j += 4, panel += 4 * kNr) {
    float32x4_t av[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) av[r] = vld1q_f32(a[r] + j);
    fma_lane<0>(acc, av, panel);
    fma_lane<1>(acc, av, panel + 8);
    fma_lane<2>(acc, av, panel + 16);
    fma_lane<3>(acc, av, panel + 24);
  }
  for (; j < k; ++j, panel += kNr) {
    const float32x4_t b0 = vld1q_f32(panel), b1 = vld1q_f32(panel + 4);
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
      acc[r][0] = vfmaq_n_f32(acc[r][0], b0, a[r][j]);
      acc[r][1] = vfmaq_n_f32(acc[r][1], b1, a[r][j]);
    }
  }
  if constexpr (kEpilogue) {
    // Without the affine step, scale 1 and shift 0 as constants: GCC drops the test of them that
    // activate_as makes per vector (4 instructions each, 64 a tile).
    Activation a = act;
    if constexpr (!kAffine) a.scale = 1.f, a.shift = 0.f;
    const float32x4_t b0 = vld1q_f32(bias), b1 = vld1q_f32(bias + 4);
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
      acc[r][0] = activate_as<kKind>(a, vaddq_f32(acc[r][0], b0));
      acc[r][1] = activate_as<kKind>(a, vaddq_f32(acc[r][1], b1));
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < kMr; ++r) {
    vst1q_f32(out + r * ld, acc[r][0]);
    vst1q_f32(out + r * ld + 4, acc[r][1]);
  }
}

// One function per variant (f32_gemm picks one; not inlined into it, so each keeps a small body).
template <bool kEpilogue, Activation::Kind kKind, bool kAffine>
__attribute__((noinline)) void gemm(const float* const* a, int64_t m, const PackedF32& b, float* c, int64_t ldc,
                                    const float* bias, const Activation& activation) {
  const Activation act = activation;  // a local: the stores through c cannot alias it (no reloads)
  const int64_t panels = (b.n + kNr - 1) / kNr;
  for (int64_t m0 = 0; m0 < m; m0 += kMr) {
    const float* rows[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) rows[r] = a[std::min<int64_t>(m0 + r, m - 1)];
    const int64_t valid_rows = std::min<int64_t>(kMr, m - m0);
    for (int64_t panel = 0; panel < panels; ++panel) {
      const float* packed = b.packed.data() + panel * b.k * kNr;
      const int64_t n0 = panel * kNr, cols = std::min<int64_t>(kNr, b.n - n0);
      const float* panel_bias = kEpilogue ? bias + n0 : nullptr;
      if (valid_rows == kMr && cols == kNr) {  // a whole tile: straight into C
        tile<kEpilogue, kKind, kAffine>(rows, packed, b.k, c + m0 * ldc + n0, ldc, panel_bias, act);
        continue;
      }
      float out[kMr * kNr];
      tile<kEpilogue, kKind, kAffine>(rows, packed, b.k, out, kNr, panel_bias, act);
      for (int64_t r = 0; r < valid_rows; ++r) std::copy_n(out + r * kNr, cols, c + (m0 + r) * ldc + n0);
    }
  }
}
}  // namespace

PackedF32 pack_f32(const float* b, int64_t n, int64_t k) {
  PackedF32 p;
  p.n = n, p.k = k;
  const int64_t panels = (n + kNr - 1) / kNr;
  p.packed.assign(static_cast<size_t>(panels * k * kNr), 0.f);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t j = 0; j < k; ++j) p.packed[((row / kNr) * k + j) * kNr + row % kNr] = b[row * k + j];
  return p;
}

void f32_gemm(const float* const* a, int64_t m, const PackedF32& b, float* c, int64_t ldc,
              const F32Epilogue* epilogue) {
  if (!epilogue) return gemm<false, Activation::Kind::none, false>(a, m, b, c, ldc, nullptr, Activation{});
  with_activation(epilogue->act, [&](auto kind) {
    if (epilogue->act.has_affine())
      gemm<true, decltype(kind)::value, true>(a, m, b, c, ldc, epilogue->bias, epilogue->act);
    else
      gemm<true, decltype(kind)::value, false>(a, m, b, c, ldc, epilogue->bias, epilogue->act);
  });
}

}  // namespace edgequant::engine::arm
