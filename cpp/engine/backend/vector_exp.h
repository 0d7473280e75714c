// e^x (and tanh, erf and GELU from it) for vectorised loops: bodies GCC inlines into each per-ISA clone
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

// e^r for r = x − n·ln 2 (ln 2 split in two for an exact product), |r| <= ln 2 / 2: Cephes' expf polynomial.
EDGEQUANT_INLINE float exp_of_remainder(float x, float n) {
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.f;
}

// e^x = 2^n · e^r with n = round(x / ln 2) (half away from zero), e^r by exp_of_remainder; 2^n applied
// as 2^(n/2) · 2^(n - n/2) so both factors stay normal over the whole range (subnormal results
// included). Written with selects only (NaN passes through the clamps and the polynomial), so GCC
// vectorises the loops.
EDGEQUANT_INLINE float exp_lane(float x) {
  float clamped = x < kExpLow ? kExpLow : x;
  clamped = clamped > kExpHigh ? kExpHigh : clamped;
  float t = clamped * 1.44269504088896341f;
  t = t == t ? t : 0.f;  // NaN: converted as 0 (the result stays NaN through r)
  const int32_t whole = static_cast<int32_t>(t + (t >= 0.f ? 0.5f : -0.5f));
  const float p = exp_of_remainder(clamped, static_cast<float>(whole));
  const int32_t half = whole >> 1;
  return p * pow2(half) * pow2(whole - half);
}

// e^x for x <= 0 or NaN (softmax's x − max): exp_lane's polynomial with one power of two (n >= −126) and no
// overflow end. Below ln(FLT_MIN) ≈ −87.34 it is 0 (e^x < 1.2e-38, where exp_lane goes subnormal), the
// difference below any softmax output's resolution. n = round(x / ln 2) comes from adding 1.5·2^23 (the
// sum rounds to an integer, half to even, held in its low mantissa bits), and 2^n from those bits: no
// float–integer conversions, a third fewer instructions than exp_lane's steps (softmax over 6,625
// classes: 94 -> 64 µs for the exponentials). NaN stays NaN through n and the polynomial.
EDGEQUANT_INLINE float exp_nonpositive_lane(float x) {
  constexpr float kLow = -87.33f;  // n below stays >= −126
  constexpr float kRoundingShift = 12582912.f;  // 1.5 · 2^23
  const float clamped = x < kLow ? kLow : x;  // NaN stays NaN
  const float shifted = clamped * 1.44269504088896341f + kRoundingShift;
  const float whole = shifted - kRoundingShift;
  uint32_t bits;  // unsigned: the shift below wraps by definition
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits + 127u) << 23;  // (n + 2^22 + 127) << 23: the 2^22 of the shift leaves through the top
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float p = exp_of_remainder(clamped, whole);
  scale = x < kLow ? 0.f : scale;  // a select of values: GCC if-converts it (not one around the product)
  return p * scale;
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

// erfc(a) for a >= 0 (or NaN), given a² as the caller computes it best: t·e^(−a² + P(t)),
// t = 1 / (1 + a/2), P the degree-9 Chebyshev fit of Numerical Recipes' erfcc (fractional error
// below 1.2e-7 in exact arithmetic). e^x clamps at e^−104: erfc is 0 from a ≈ 10 on, as in float.
EDGEQUANT_INLINE float erfc_of_magnitude(float a, float a_squared) {
  const float t = 1.f / (1.f + 0.5f * a);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_lane(p - a_squared);
}

// erf(x) for |x| < 0.5 by its Maclaurin series to x^13 (truncation below 1e-9 relative): near 0,
// 1 − erfc would lose erf's relative accuracy.
EDGEQUANT_INLINE float erf_near_zero(float x) {
  const float z = x * x;
  float s = 1.f / 9360;
  s = s * z - 1.f / 1320;
  s = s * z + 1.f / 216;
  s = s * z - 1.f / 42;
  s = s * z + 1.f / 10;
  s = s * z - 1.f / 3;
  s = s * z + 1.f;
  return 1.12837916709551257f * x * s;  // 2/sqrt(pi)
}

// erf(x) within a few ulp; NaN stays NaN, ±inf gives ±1.
EDGEQUANT_INLINE float erf_lane(float x) {
  const float a = std::fabs(x);
  const float far = 1.f - erfc_of_magnitude(a, a * a);
  return a < 0.5f ? erf_near_zero(x) : (x < 0 ? -far : far);
}

// GELU, x · Phi(x) = x/2 · (1 + erf(x/sqrt 2)): for x < 0 the factor 1 + erf is erfc(|u|) itself,
// so the negative tail keeps its relative accuracy (no 1 − (1 − small) cancellation); u² is taken
// as x²/2, one rounding instead of two.
EDGEQUANT_INLINE float gelu_lane(float x) {
  const float u = x * 0.70710678118654752f;
  const float a = std::fabs(u);
  const float tail = erfc_of_magnitude(a, 0.5f * (x * x));
  const float factor = a < 0.5f ? 1.f + erf_near_zero(u) : (x < 0 ? tail : 2.f - tail);
  return 0.5f * x * factor;
}

}  // namespace edgequant::engine
