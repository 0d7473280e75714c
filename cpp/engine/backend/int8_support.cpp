#include "backend/int8_support.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/simd.h"
#include "quant/range.h"

namespace edgequant::engine {

quant::AffineFormat activation_format() { return quant::AffineFormat(8, /*symmetric=*/false, /*signed=*/false); }
quant::AffineFormat weight_format(int bits) {
  require(bits == 8 || bits == 7, "INT8 weights have 8 or 7 bits, not " + std::to_string(bits));
  return quant::AffineFormat(bits, /*symmetric=*/true, /*signed=*/true);
}

quant::AffineParams activation_params(float min, float max) {
  return quant::affine_params_from_range(activation_format(), min, max);
}

void range_of(const float* x, int64_t n, float& min, float& max) {
  const quant::Range range = quant::tensor_range(x, n, /*parallel=*/false);  // the engine runs its own threads
  min = static_cast<float>(std::min(0.0, range.min));
  max = static_cast<float>(std::max(0.0, range.max));
}

double weight_scale(float min, float max, int bits) {
  const double largest = std::max(static_cast<double>(max), -static_cast<double>(min));
  if (!(largest > 0)) return 1.0;  // an all-zero channel: any scale codes it as 0
  return std::max(largest / weight_format(bits).qmax, static_cast<double>(std::numeric_limits<float>::min()));
}

QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel, int bits) {
  // Symmetric per channel (zero point 0), each channel's scale from weight_scale, and the core's encoder.
  const auto format = weight_format(bits);
  std::vector<double> scales(static_cast<size_t>(channels));
  const std::vector<int32_t> zero_points(static_cast<size_t>(channels), 0);
  std::vector<int32_t> codes(static_cast<size_t>(channels * per_channel));
  for (int64_t c = 0; c < channels; ++c) {
    const quant::Range range = quant::tensor_range(weights + c * per_channel, per_channel, /*parallel=*/false);
    scales[c] = weight_scale(static_cast<float>(range.min), static_cast<float>(range.max), bits);  // NaN / Inf skipped
  }
  quant::affine_encode_per_channel(format, scales.data(), zero_points.data(), weights, 1, channels, per_channel,
                                   codes.data());
  QuantizedWeights out;
  out.values.assign(codes.begin(), codes.end());  // s8 codes
  out.scales.assign(scales.begin(), scales.end());
  out.bits = bits;
  return out;
}

QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel,
                                  const std::vector<float>& given_scales, int bits) {
  QuantizedWeights out = quantize_weights(weights, channels, per_channel, bits);
  const auto format = weight_format(bits);
  if (static_cast<int64_t>(given_scales.size()) != channels) return out;
  std::vector<int8_t> codes(static_cast<size_t>(per_channel));
  for (int64_t c = 0; c < channels; ++c) {
    const float s = given_scales[c];
    const float* w = weights + c * per_channel;
    bool exact = std::isfinite(s) && s > 0;
    for (int64_t k = 0; exact && k < per_channel; ++k) {
      const float q = std::nearbyint(w[k] / s);
      // a few ulps apart: weights folded with a BatchNormalization's gain (graph/qdq.h carry_weight_scales)
      exact = q >= format.qmin && q <= format.qmax && std::fabs(q * s - w[k]) <= 1e-5f * std::fabs(w[k]);
      if (exact) codes[k] = static_cast<int8_t>(q);
    }
    if (!exact) continue;
    std::copy(codes.begin(), codes.end(), out.values.begin() + c * per_channel);
    out.scales[c] = s;
  }
  return out;
}

EDGEQUANT_KERNEL void quantize_activations_u8(const float* src, int64_t n, const quant::Affine& a, uint8_t* dst) {
  const float s = static_cast<float>(a.scale), z = static_cast<float>(a.zero_point);
  const float lo = static_cast<float>(a.qmin), hi = static_cast<float>(a.qmax);
  for (int64_t i = 0; i < n; ++i) {
    float t = std::nearbyint(src[i] / s) + z;
    t = t > lo ? t : lo;  // NaN compares false: lo, which is 0 on the u8 grid
    t = t < hi ? t : hi;
    dst[i] = static_cast<uint8_t>(static_cast<int32_t>(t));
  }
}

quant::Affine input_affine(const QuantConfig& q, const float* src, int64_t n) {
  if (q.mode == QuantConfig::Mode::int8_dynamic) {
    float lo, hi;
    range_of(src, n, lo, hi);
    return quant::Affine(activation_format(), activation_params(lo, hi));
  }
  return quant::Affine(activation_format(), quant::AffineParams{q.scale, q.zero_point});
}

}  // namespace edgequant::engine
