#include "backend/int8_support.h"

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edgequant::engine {

quant::AffineFormat activation_format() { return quant::AffineFormat(8, /*symmetric=*/false, /*signed=*/false); }
quant::AffineFormat weight_format() { return quant::AffineFormat(8, /*symmetric=*/true, /*signed=*/true); }

quant::AffineParams activation_params(float min, float max) {
  return quant::affine_params_from_range(activation_format(), min, max);
}

void range_of(const float* x, int64_t n, float& min, float& max) {
  float lo = 0, hi = 0;
  int64_t k = 0;
#if defined(__SSE2__)
  // Four lanes x two accumulators; minps / maxps return their second operand (the accumulator)
  // when the element is NaN, so NaN is skipped as in the scalar loop.
  __m128 lo0 = _mm_setzero_ps(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
  for (; k + 8 <= n; k += 8) {
    const __m128 a = _mm_loadu_ps(x + k), b = _mm_loadu_ps(x + k + 4);
    lo0 = _mm_min_ps(a, lo0);
    lo1 = _mm_min_ps(b, lo1);
    hi0 = _mm_max_ps(a, hi0);
    hi1 = _mm_max_ps(b, hi1);
  }
  float l[4], h[4];
  _mm_storeu_ps(l, _mm_min_ps(lo0, lo1));
  _mm_storeu_ps(h, _mm_max_ps(hi0, hi1));
  for (int j = 0; j < 4; ++j) {
    lo = std::min(lo, l[j]);
    hi = std::max(hi, h[j]);
  }
#endif
  for (; k < n; ++k) {
    lo = std::min(lo, x[k]);  // NaN compares false: skipped
    hi = std::max(hi, x[k]);
  }
  min = lo;
  max = hi;
}

QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel) {
  // The core's per-channel fit and encoder: one definition of s8 weight quantization.
  const auto format = weight_format();
  std::vector<double> scales(static_cast<size_t>(channels));
  std::vector<int32_t> zero_points(static_cast<size_t>(channels));
  std::vector<int32_t> codes(static_cast<size_t>(channels * per_channel));
  quant::affine_fit_per_channel(format, weights, 1, channels, per_channel, scales.data(), zero_points.data());
  quant::affine_encode_per_channel(format, scales.data(), zero_points.data(), weights, 1, channels, per_channel,
                                   codes.data());
  QuantizedWeights out;
  out.values.assign(codes.begin(), codes.end());  // s8 codes
  out.scales.assign(scales.begin(), scales.end());
  return out;
}

}  // namespace edgequant::engine
