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
// 128, q_s8 = q_u8 − 128 and z_s8 = z_u8 − 128 with the same scale, an exact change of dialect,
// not a second derivation. The engine's quantized tensors (graph/tensor.h) are u8 on that grid; the
// ARM backend keeps its own between its INT8 layers as the s8 form, NHWC (backend/arm/nhwc_codes.h),
// and the C export writes the s8 form (microcontroller/onnx_frontend.py: _s8_from_u8).
quant::AffineFormat activation_format();
quant::AffineFormat weight_format(int bits = 8);  // symmetric s8 (7 bits: [-64, 63])

quant::AffineParams activation_params(float min, float max);
// min/max of n floats (quant::tensor_range: NaN and Inf skipped); the range always includes 0.
void range_of(const float* x, int64_t n, float& min, float& max);

// n floats to u8 codes on the activation grid `a`: clamp(rint(x / s) + z, 0, 255), ties to even,
// NaN to 0 — quant::Affine::encode, which the reference backend applies element by element; here
// vectorised for backends that stage their inputs (oneDNN's quantizing reorder multiplies by 1 / s
// and so rounds exact ties toward zero: every pixel of a [-1, 1]-normalised image is one).
void quantize_activations_u8(const float* src, int64_t n, const quant::Affine& a, uint8_t* dst);

// The (scale, zero point) of a kernel's input: fixed by calibration (static), or from the range of
// the whole input (dynamic): what every backend's INT8 kernels quantize their input with.
quant::Affine input_affine(const QuantConfig& q, const float* src, int64_t n);

// weights viewed as [channels, per_channel]; quant::affine_fit_per_channel and its encoder (the
// core's definition), non-finite weights ignored by the fit; `bits`: QuantConfig::weight_bits.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel, int bits = 8);
// The same with the scales a quantized model gives (one per channel, graph.h WeightScales): each
// channel whose weights are s·q (within 1e-5 relative: a folded gain rounds) with codes q on the
// grid of `bits` (−128 included at 8) keeps s and q — the file's integers; any other channel gets
// the fit above.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel,
                                  const std::vector<float>& given_scales, int bits = 8);

}  // namespace edgequant::engine
