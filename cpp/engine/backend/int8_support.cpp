#include "backend/int8_support.h"

#include <algorithm>
#include <cmath>

#include "quant/range.h"

namespace edgequant::engine {

quant::AffineFormat activation_format() { return quant::AffineFormat(8, /*symmetric=*/false, /*signed=*/false); }
quant::AffineFormat weight_format() { return quant::AffineFormat(8, /*symmetric=*/true, /*signed=*/true); }

quant::AffineParams activation_params(float min, float max) {
  return quant::affine_params_from_range(activation_format(), min, max);
}

void range_of(const float* x, int64_t n, float& min, float& max) {
  const quant::Range range = quant::tensor_range(x, n, /*parallel=*/false);  // the engine runs its own threads
  min = static_cast<float>(std::min(0.0, range.min));
  max = static_cast<float>(std::max(0.0, range.max));
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

QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel,
                                  const std::vector<float>& given_scales) {
  QuantizedWeights out = quantize_weights(weights, channels, per_channel);
  if (static_cast<int64_t>(given_scales.size()) != channels) return out;
  std::vector<int8_t> codes(static_cast<size_t>(per_channel));
  for (int64_t c = 0; c < channels; ++c) {
    const float s = given_scales[c];
    const float* w = weights + c * per_channel;
    bool exact = std::isfinite(s) && s > 0;
    for (int64_t k = 0; exact && k < per_channel; ++k) {
      const float q = std::nearbyint(w[k] / s);
      exact = q >= -128 && q <= 127 && q * s == w[k];
      if (exact) codes[k] = static_cast<int8_t>(q);
    }
    if (!exact) continue;
    std::copy(codes.begin(), codes.end(), out.values.begin() + c * per_channel);
    out.scales[c] = s;
  }
  return out;
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
