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
  QuantizedWeights out;
  out.values.resize(static_cast<size_t>(channels * per_channel));
  out.scales.resize(static_cast<size_t>(channels));
  const auto format = weight_format();
  for (int64_t c = 0; c < channels; ++c) {
    const float* w = weights + c * per_channel;
    float lo, hi;
    range_of(w, per_channel, lo, hi);
    const quant::Affine affine(format, quant::affine_params_from_range(format, lo, hi));
    out.scales[c] = static_cast<float>(affine.scale);
    for (int64_t k = 0; k < per_channel; ++k) out.values[c * per_channel + k] = static_cast<int8_t>(affine.encode(w[k]));
  }
  return out;
}

}  // namespace edgequant::engine
