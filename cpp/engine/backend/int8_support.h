// INT8 helpers shared by the backends, all on the affine convention x = s·(q − z) with the
// parameters from quant::affine_params_from_range (cpp/quant/affine.h), never re-derived here.
#pragma once
#include <cstdint>
#include <vector>

#include "quant/affine.h"

namespace edgequant::engine {

// Activations: u8 asymmetric. Weights: s8 symmetric, one scale per output channel.
quant::AffineFormat activation_format();
quant::AffineFormat weight_format();

quant::AffineParams activation_params(float min, float max);
// min/max of n floats (quant::tensor_range: NaN and Inf skipped); the range always includes 0.
void range_of(const float* x, int64_t n, float& min, float& max);

struct QuantizedWeights {
  std::vector<int8_t> values;  // same layout as the float weights
  std::vector<float> scales;   // one per output channel
};
// weights viewed as [channels, per_channel]; quant::affine_fit_per_channel and its encoder (the
// core's definition), non-finite weights ignored by the fit.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel);

}  // namespace edgequant::engine
