// e^x (and tanh from it) for vectorised loops: bodies GCC inlines into each per-ISA clone
// (common/simd.h) and vectorises, shared by the float kernels (softmax, sigmoid), the Winograd
// convolution's activation, Tanh and the recurrent cells (ops/math_unary.cpp, ops/recurrent.cpp).
// Compile their users with -fno-math-errno -fno-trapping-math (see CMakeLists.txt).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/simd.h"

namespace edgequant::engine {

// Clamps of e^x's argument: below kExpLow e^x rounds to 0; above kExpHigh (> ln FLT_MAX = 88.72)
// the product below overflows to +inf by itself, so no select is needed for either end.
constexpr float kExpLow = -104.f;
constexpr float kExpHigh = 89.f;

EDGEQUANT_INLINE float pow2(int32_t n) {  // 2^n for n in [-126, 127]
  const int32_t bits = (n + 127) << 23;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// e^x = 2^n · e^r with n = round(x / ln 2) (half away from zero), |r| <= ln 2 / 2 (ln 2 split in
// two for an exact product), e^r by Cephes' expf polynomial; 2^n applied as 2^(n/2) · 2^(n - n/2)
// so both factors stay normal over the whole range (subnormal results included). Written with
// selects only (NaN passes through the clamps and the polynomial), so GCC vectorises the loops.
EDGEQUANT_INLINE float exp_lane(float x) {
  float clamped = x < kExpLow ? kExpLow : x;
  clamped = clamped > kExpHigh ? kExpHigh : clamped;
  float t = clamped * 1.44269504088896341f;
  t = t == t ? t : 0.f;  // NaN: converted as 0 (the result stays NaN through r)
  const int32_t whole = static_cast<int32_t>(t + (t >= 0.f ? 0.5f : -0.5f));
  const float n = static_cast<float>(whole);
  float r = clamped - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t half = whole >> 1;
  return p * pow2(half) * pow2(whole - half);
}

// tanh as Cephes' tanhf: an odd minimax polynomial for |x| < 0.625, 1 - 2 / (e^2|x| + 1) with x's
// sign beyond (e^2|x| clamps at e^89: +-1 for large |x| and +-inf; NaN stays NaN). About 2 ulp.
EDGEQUANT_INLINE float tanh_lane(float x) {
  const float a = std::fabs(x), z = x * x;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * x + x;
  const float large = 1.0f - 2.0f / (exp_lane(2.0f * a) + 1.0f);
  return a < 0.625f ? small : (x < 0 ? -large : large);
}

}  // namespace edgequant::engine
