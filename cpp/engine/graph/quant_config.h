// How the graph quantizes: what an op declares to the INT8 planner (Int8Traits), the
// configuration the plan hands each kernel (QuantConfig) and the s8 weights a quantized op keeps
// (QuantizedWeights). They belong to the graph, not to a backend: graph/int8_plan.h decides them
// and every backend (backend/backend.h) receives them. The arithmetic behind the numbers, the
// affine convention x = s·(q − z), lives in quant/affine.h (see backend/int8_support.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace edgequant::engine {

// s8 weights, one symmetric scale per output channel (backend/int8_support.h: quantize_weights).
struct QuantizedWeights {
  std::vector<int8_t> values;  // same layout as the float weights
  std::vector<float> scales;   // one per output channel
  int bits = 8;                // 8: codes in [-128, 127]; 7: [-64, 63] (QuantConfig::weight_bits)
};

// A static layer's requantization in TFLite's integer arithmetic (quant/fixed_point.h), the C
// runtime's: the u8 code of output channel c is
//   clamp(zero_point + MultiplyByQuantizedMultiplier(Σ (q − z_in)·w + bias[c], multipliers[c], shifts[c]), min, max)
// Prepared once per plan (backend/fixed_point_requantization.h) for a layer that writes u8 codes
// for its readers and whose fused activation is a clamp of its output.
// An activation that is not a clamp (swish, hardswish, hardsigmoid; GELU not yet: it stays on float
// requantization) goes through a table instead: the
// same arithmetic puts the sum on a fine grid of the pre-activation x = s_x·(i − zero_point) — its
// index i clamped to [min, max] = [0, table.size() − 1], kActivationTableSize steps over the range
// that can change the output code — and the u8 code is table[i] = encode(activation(x_i)).
struct FixedPointRequantization {
  std::vector<int32_t> bias;         // round(b / (s_in · s_w[c])), half to even, saturated to int32
  std::vector<int32_t> multipliers;  // s_in · s_w[c] / s_out (or / s_x) as a multiplier and a shift
  std::vector<int32_t> shifts;
  int32_t zero_point = 0;           // the output's, u8 (or the table index of x = 0)
  int32_t min = 0, max = 255;       // the activation as a clamp of the u8 codes (or the table's indices)
  std::vector<uint8_t> table;       // empty, or the output code of each index
  // A fused residual Add (post.sum): the layer's value in units of s_out / 2^kResidualFraction — the
  // sum as above with zero_point 0 clamped to [pre_min, pre_max] (the activation's bounds in those
  // units), or the table index read through `values` (the activation in those units) — plus the
  // residual's, (r − residual_zero_point) times residual_multiplier / residual_shift; rounded to the
  // output grid, + output_zero_point, clamped to [min, max] (the activation after the sum).
  bool residual = false;
  int32_t pre_min = INT32_MIN, pre_max = INT32_MAX;
  std::vector<int32_t> values;
  int32_t residual_zero_point = 0, residual_multiplier = 0, residual_shift = 0, output_zero_point = 0;
};
constexpr int32_t kActivationTableSize = 1 << 14;
constexpr int kResidualFraction = 8;

// Precision of a conv / dense kernel. int8: per-output-channel symmetric s8 weights (quantized
// by the kernel from the float weights) and u8 asymmetric activations x = s·(q − z), either fixed
// (static, from calibration) or computed from each input's min/max (dynamic). Outputs are float32.
struct QuantConfig {
  enum class Mode { f32, int8_static, int8_dynamic } mode = Mode::f32;
  float scale = 1;         // static only
  int32_t zero_point = 0;  // static only
  // INT8: the weights already quantized (quantize_weights of the float ones, which may then be
  // null); kept by the op, so kernels rebuilt for a new shape need no float weights.
  std::shared_ptr<const QuantizedWeights> weights;
  // INT8: the weights' grid, 8 bits or 7 (codes in [-64, 63]). 7 where the machine's fastest INT8
  // kernels add u8·s8 products in pairs in saturating 16 bits (x86 without VNNI: vpmaddubsw), so
  // that 255·(|w₀| + |w₁|) ≤ 32,640 never saturates: the sums stay exact (EngineOptions decides,
  // registry.h int8_weight_bits; ONNX Runtime calls the same remedy reduce_range).
  int weight_bits = 8;
  // Static only, convolutions whose readers are all static INT8 convolutions: the output leaves
  // already quantized with its readers' (scale, zero point), in the backend's layout.
  bool quantize_output = false;
  float output_scale = 1;
  int32_t output_zero_point = 0;
  // Static, a Conv with a fused residual Add and a quantized output: the residual's own (scale,
  // zero point); it is added as s·(q − z) by the sum post-op, in u8 in the destination.
  float residual_scale = 1;
  int32_t residual_zero_point = 0;
  // Static, quantize_output, an activation that is a clamp or a table's (swish, hardswish,
  // hardsigmoid, no affine step after it), a residual sum with a clamp after it or none: integer
  // requantization (every backend with integer kernels but oneDNN, which rescales in float); null
  // otherwise.
  std::shared_ptr<const FixedPointRequantization> fixed_point;
};

// What an op declares to the planner (Op::int8_traits).
struct Int8Traits {
  // Runs INT8 kernels: input 0 is quantized to u8 with its group's (scale, zero point), the
  // weights are s8. Its input 0 is a calibration tensor.
  bool quantized = false;
  // Inputs it reads as u8 data when their producer writes u8 (a quantized conv's input 0 and its
  // fused residual; every data input of a pass-through op).
  std::vector<int> u8_inputs;
  // May write output 0 as u8 with that output's group's (scale, zero point), where every reader
  // takes u8.
  bool u8_output = false;
  // An input added to the result (a fused residual Add): needs its group's (scale, zero point),
  // and the output is u8 only where this input holds u8 too.
  int residual_input = -1;
  // A quantized model's dynamic layer (graph/qdq.h fold_dynamic_quantization): dynamic INT8 in the
  // static plan too, its input quantized per run; it neither reads nor writes u8.
  bool dynamic_in_file = false;
  // Moves u8_inputs to its outputs unchanged: they form one quantization group, and the outputs
  // hold u8 exactly when every one of u8_inputs does.
  bool passes_u8 = false;
  // Writes output 0 exactly on its own grid (a quantized model's QuantizeLinear -> DequantizeLinear
  // pair, with passes_u8): it starts a quantization group (its input's may differ), its output may
  // hold u8 even where a reader takes float (it gets the codes dequantized: the same values), and
  // where the plan holds that output as u8 (QuantConfig::quantize_output) it writes the codes from
  // whatever it reads: codes of its grid as they are, other codes or float data quantized.
  bool rounds_to_grid = false;
};

}  // namespace edgequant::engine
