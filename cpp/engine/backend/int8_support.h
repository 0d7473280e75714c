// INT8 helpers shared by the backends, all on the affine convention x = s·(q − z) with the
// parameters from quant::affine_params_from_range (cpp/quant/affine.h), never re-derived here.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/quant_config.h"
#include "quant/affine.h"

namespace edgequant::engine {

// Activations: u8 asymmetric. Weights: s8 symmetric, one scale per output channel.
// Why u8: x86's VNNI dot product (vpdpbusd, oneDNN's INT8 convolutions) multiplies u8 by s8.
// ARM's sdot and TFLite (the C export, runtime/c) take s8 activations: the same grid moved by
// 128, q_s8 = q_u8 − 128 and z_s8 = z_u8 − 128 with the same scale, an exact change of dialect
// (microcontroller/onnx_frontend.py: _int8_params and _engine_params), not a second derivation.
quant::AffineFormat activation_format();
quant::AffineFormat weight_format();

quant::AffineParams activation_params(float min, float max);
// min/max of n floats (quant::tensor_range: NaN and Inf skipped); the range always includes 0.
void range_of(const float* x, int64_t n, float& min, float& max);

// The (scale, zero point) of a kernel's input: fixed by calibration (static), or from the range of
// the whole input (dynamic): what every backend's INT8 kernels quantize their input with.
quant::Affine input_affine(const QuantConfig& q, const float* src, int64_t n);

// weights viewed as [channels, per_channel]; quant::affine_fit_per_channel and its encoder (the
// core's definition), non-finite weights ignored by the fit.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel);
// The same with the scales a quantized model gives (one per channel, graph.h WeightScales): each
// channel whose weights are exactly s·q with s8 codes q (−128 included) keeps s and q — the file's
// integers; any other channel gets the fit above.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel,
                                  const std::vector<float>& given_scales);

}  // namespace edgequant::engine
