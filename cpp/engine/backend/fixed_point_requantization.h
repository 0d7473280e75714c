// TFLite's integer requantization for the engine's static INT8 layers (graph/quant_config.h
// FixedPointRequantization): prepared once per plan from a layer's configuration, weight scales,
// bias and post-ops (quant/fixed_point.h), and applied per output value by runtime/c's own
// reference arithmetic (eq_fixed_point.h, the C the microcontroller runs), so that a layer the C
// export writes computes what the engine computed (microcontroller/onnx_frontend.py takes these
// very numbers).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "eq_fixed_point.h"  // runtime/c
#include "quant/fixed_point.h"

namespace edgequant::engine {

// The parameters of a static layer that writes u8 codes (QuantConfig::quantize_output) with
// post-ops `post`; nullptr where it keeps float requantization: a residual sum, an affine step after
// the activation, a multiplier out of TFLite's range, or an activation table whose steps would be
// coarser than a quarter of an output step. `bias`: one per output channel, or null.
std::shared_ptr<const FixedPointRequantization> prepare_fixed_point(const QuantConfig& q,
                                                                    const std::vector<float>& weight_scales,
                                                                    const float* bias, const ConvPostOps& post);

// The u8 code of output channel c from its integer sum Σ (q − z_in)·w; the sum plus the bias
// saturates to int32 (the C export refuses a layer whose sums could leave it).
inline int32_t requantize(const FixedPointRequantization& r, int64_t c, int64_t sum) {
  const int64_t biased = std::clamp<int64_t>(sum + r.bias[c], INT32_MIN, INT32_MAX);
  const int32_t v = eq_multiply_by_quantized_multiplier(static_cast<int32_t>(biased), r.multipliers[c], r.shifts[c]);
  return eq_clamp_i32(v + r.zero_point, r.min, r.max);
}

// The u8 output code of channel c from its sum: requantize(), read through the activation's table
// where the layer has one.
inline int32_t output_code(const FixedPointRequantization& r, int64_t c, int64_t sum) {
  const int32_t q = requantize(r, c, sum);
  return r.table.empty() ? q : r.table[static_cast<size_t>(q)];
}

// The u8 output code of channel c of a layer with a fused residual Add (FixedPointRequantization::
// residual) from its sum and the residual's u8 code.
inline int32_t residual_output_code(const FixedPointRequantization& r, int64_t c, int64_t sum, int32_t residual) {
  const int64_t biased = std::clamp<int64_t>(sum + r.bias[c], INT32_MIN, INT32_MAX);
  const int64_t pre = int64_t{r.zero_point} +
                      eq_multiply_by_quantized_multiplier(static_cast<int32_t>(biased), r.multipliers[c], r.shifts[c]);
  const int32_t clamped = static_cast<int32_t>(std::clamp<int64_t>(pre, r.pre_min, r.pre_max));
  const int32_t value = r.values.empty() ? clamped : r.values[static_cast<size_t>(clamped)];
  const int32_t skip =
      eq_multiply_by_quantized_multiplier(residual - r.residual_zero_point, r.residual_multiplier, r.residual_shift);
  const int32_t total = static_cast<int32_t>(std::clamp<int64_t>(int64_t{value} + skip, INT32_MIN, INT32_MAX));
  const int32_t y = r.output_zero_point + eq_rounding_divide_by_pot(total, kResidualFraction);
  return eq_clamp_i32(y, r.min, r.max);
}

// A quantized model's Add of two u8 tensors on their own grids, written to a third (graph/code_adds.h):
// TFLite's int8 Add (quant/fixed_point.h add_parameters, runtime/c's eq_add_s8), bit for bit, on the
// u8 dialect (q − z is the same number in both). `min`, `max`: the fused activation as a clamp of
// the output codes.
struct CodeAddition {
  int32_t left_shift = 20;
  int32_t zero_a = 0, multiplier_a = 0, shift_a = 0;
  int32_t zero_b = 0, multiplier_b = 0, shift_b = 0;
  int32_t output_zero = 0, output_multiplier = 0, output_shift = 0;
  int32_t min = 0, max = 255;
};
CodeAddition prepare_code_addition(float scale_a, int32_t zero_a, float scale_b, int32_t zero_b, float output_scale,
                                   int32_t output_zero, int32_t min, int32_t max);

// The output code of codes a and b: the plain reference every fast path equals.
inline int32_t add_codes(const CodeAddition& p, int32_t a, int32_t b) {
  const int32_t x = static_cast<int32_t>(static_cast<uint32_t>(a - p.zero_a) << p.left_shift);
  const int32_t y = static_cast<int32_t>(static_cast<uint32_t>(b - p.zero_b) << p.left_shift);
  const int32_t sum = eq_multiply_by_quantized_multiplier(x, p.multiplier_a, p.shift_a) +
                      eq_multiply_by_quantized_multiplier(y, p.multiplier_b, p.shift_b);
  return eq_clamp_i32(eq_multiply_by_quantized_multiplier(sum, p.output_multiplier, p.output_shift) + p.output_zero,
                      p.min, p.max);
}

// Every output code of the Add by its two input codes, table[a << 8 | b] = add_codes(p, a, b) (64 KiB;
// `padding` zero bytes after it for readers that load whole words).
inline std::vector<uint8_t> addition_table(const CodeAddition& p, size_t padding = 0) {
  std::vector<uint8_t> table(256 * 256 + padding, 0);
  for (int32_t a = 0; a < 256; ++a)
    for (int32_t b = 0; b < 256; ++b) table[a << 8 | b] = static_cast<uint8_t>(add_codes(p, a, b));
  return table;
}

// A quantized model's average pool on one grid (graph/code_average_pools.h): the window's codes in the
// file's own type summed, divided by the number of taps, half steps away from zero — TFLite's integer
// AVERAGE_POOL_2D (C++'s division truncates toward zero).
inline int64_t average_codes(int64_t sum, int64_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

// The real value of a u8 code on the layer's output grid (what a float reader sees).
inline float decode_output(const QuantConfig& q, int32_t code) {
  return q.output_scale * static_cast<float>(code - q.output_zero_point);
}

}  // namespace edgequant::engine
