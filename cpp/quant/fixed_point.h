// TFLite's integer requantization, written once: a real multiplier as an int32 fixed-point
// multiplier and a shift (prepared at export time), the integer arithmetic that applies it
// (gemmlowp's rounding conventions, as runtime/c/eq_fixed_point.h and TFLite Micro compute it),
// and the export-time parameters built on them (fused activation clamps, int8 Softmax and Add).
// microcontroller/fixed_point.py is a thin wrapper over the binding of this file.
//
// Rounding.  Multipliers and activation clamps round half away from zero (TFLite's TfLiteRound,
// std::round), unlike the affine quantizers' round-half-to-even (quant/convention.h): these
// numbers must equal the ones TFLite computes, bit for bit. Weights and biases are quantized
// (quant/affine.h, quantize_bias): half to even.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "quant/affine.h"

namespace edgequant::quant {

// real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (or 0 for real == 0).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;  // positive: left
};

// TFLite's QuantizeMultiplier: frexp, the mantissa rounded to 31 bits (ties away from zero), a
// mantissa that rounds up to 2^31 renormalised. A real so small that shift < -31 becomes (0, 0)
// (every product would round to 0). Refuses (InvalidArgument) a negative or non-finite real and a
// shift above max_shift (30: x << shift stays in int32; Softmax's input scaling takes 31).
QuantizedMultiplier quantize_multiplier(double real, int max_shift = 30);

// a * b / 2^31 rounded to nearest with ties toward +Inf (gemmlowp's nudge: 2^30 for a positive
// product, 1 − 2^30 for a negative one, then a division that truncates: −0.5 -> 0, −1.5 -> −1);
// the one overflow (INT32_MIN * INT32_MIN) saturates to INT32_MAX.
int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31].
int32_t rounding_divide_by_pot(int32_t x, int exponent);
// x * real for the real of m: TFLite's double-rounding MultiplyByQuantizedMultiplier (a left
// shift wraps in two's complement as in the C runtime; the caller keeps x << shift in int32).
int32_t multiply_by_quantized_multiplier(int32_t x, QuantizedMultiplier m);

// TFLite's int8 weights: symmetric, zero point 0, narrow range [-127, 127] (TFLite's quantization
// spec; -q is always representable). Fitted and encoded by quant/affine.h like every affine
// format, so its scale is max|w| / 127 under the convention's rules (an all-zero channel gets
// scale 1, no scale below FLT_MIN).
AffineFormat tflite_weight_format();

// TFLite's int32 bias of a conv / fully connected layer: round(bias / (input_scale · weight_scale))
// with the product taken first, rounded half to even (the affine quantizers' rounding,
// quant/convention.h: biases are quantized, not requantized), saturated to int32; NaN -> 0.
int32_t quantize_bias(double bias, double input_scale, double weight_scale);

// `value` as a float32 (round to nearest even; beyond the largest float32 by more than half an
// ulp: ±Inf), without the undefined behaviour of an out-of-range double -> float cast.
float to_float32(double value);

// The int8 clamp a fused activation ("NONE", "RELU", "RELU6", "RELU_N1_TO_1") becomes on an
// output with (scale, zero_point): TFLite's CalculateActivationRangeQuantized. The scale is taken
// as float32 and must be positive and finite.
std::pair<int32_t, int32_t> activation_range(const std::string& activation, double scale, int32_t zero_point);

// The clamp of codes in [qmin, qmax] that keeps real values in [lo, hi] on (scale, zero_point): each
// bound as zero_point + TfLiteRound(bound / scale) (the division in float32), saturated to [qmin,
// qmax]; ±Inf bounds give qmin / qmax. activation_range's rule for any Clip.
std::pair<int32_t, int32_t> clamp_range(float lo, float hi, double scale, int32_t zero_point, int32_t qmin,
                                        int32_t qmax);

// A conv / depthwise layer's multiplier per output channel: TFLite's
// PopulateConvolutionQuantizationParams, the float32 scales multiplied and divided in double.
std::vector<QuantizedMultiplier> per_channel_multipliers(double input_scale, const std::vector<float>& filter_scales,
                                                         double output_scale);

// A fully connected layer's multiplier: TFLite's GetQuantizedConvolutionMultipler, the input and
// filter scales multiplied in float32, then divided by the output scale in double.
QuantizedMultiplier fully_connected_multiplier(double input_scale, double filter_scale, double output_scale);

// int8 Softmax with 5 integer bits: the input multiplier, its left shift and diff_min
// (TFLite's PreprocessSoftmaxScaling and CalculateInputRadius); beta and scale as float32.
struct SoftmaxParameters {
  int32_t input_multiplier;
  int input_left_shift;
  int32_t diff_min;
};
SoftmaxParameters softmax_parameters(double beta, double input_scale);

// int8 Add: both inputs brought to twice the larger scale after a left shift of 20 (TFLite's
// PrepareGeneralSubOp / Add Prepare); scales as float32.
struct AddParameters {
  int left_shift;
  QuantizedMultiplier input1, input2, output;
};
AddParameters add_parameters(double scale1, double scale2, double output_scale);

}  // namespace edgequant::quant
