#include "quant/fixed_point.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace edgequant::quant {

QuantizedMultiplier quantize_multiplier(double real, int max_shift) {
  require(std::isfinite(real) && real >= 0,
          "a requantization multiplier must be finite and non-negative, got " + std::to_string(real));
  if (real == 0.0) return {};
  int shift = 0;
  const double mantissa = std::frexp(real, &shift);  // in [0.5, 1)
  auto fixed = static_cast<int64_t>(std::round(mantissa * static_cast<double>(int64_t{1} << 31)));
  if (fixed == int64_t{1} << 31) {  // the mantissa rounded up to 1.0
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) return {};  // every product would round to 0
  require(shift <= max_shift,
          "requantization multiplier " + std::to_string(real) + " is too large for int32 fixed point");
  return {static_cast<int32_t>(fixed), shift};
}

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = product >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((product + nudge) / (int64_t{1} << 31));  // division truncates toward 0
}

int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  require(exponent >= 0 && exponent <= 31, "rounding_divide_by_pot: exponent must be in [0, 31]");
  const auto mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  // >> of a negative value: arithmetic on every compiler we build with (defined so from C++20)
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t multiply_by_quantized_multiplier(int32_t x, QuantizedMultiplier m) {
  require(m.shift <= 31 && m.shift >= -31, "multiply_by_quantized_multiplier: shift must be in [-31, 31]");
  const int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.multiplier), right);
}

AffineFormat tflite_weight_format() {
  AffineFormat format(8, /*symmetric=*/true, /*signed=*/true);
  format.qmin = -format.qmax;  // narrow range: s = 2 max|w| / (qmax - qmin) = max|w| / 127
  return format;
}

int32_t quantize_bias(double bias, double input_scale, double weight_scale) {
  const double q = std::nearbyint(bias / (input_scale * weight_scale));
  if (std::isnan(q)) return 0;
  return static_cast<int32_t>(std::clamp(q, -2147483648.0, 2147483647.0));
}

float to_float32(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr double kHalfUlp = kMax / ((int64_t{1} << 24) - 1) / 2;  // 2^103: half the spacing at FLT_MAX
  if (std::isnan(value) || std::abs(value) <= kMax) return static_cast<float>(value);
  const float inf = std::numeric_limits<float>::infinity();
  if (std::abs(value) < kMax + kHalfUlp) return value > 0 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max();
  return value > 0 ? inf : -inf;
}

namespace {

float positive_scale(double scale, const char* what) {
  const float value = to_float32(scale);
  require(std::isfinite(value) && value > 0,
          std::string(what) + " must be a positive finite number, got " + std::to_string(value));
  return value;
}

}  // namespace

namespace {
// TFLite: zero_point + TfLiteRound(value / scale), the division in float32 (saturated to int32: a
// bound that far out is outside int8 either way, and validation refuses it).
int32_t quantize_bound(float value, float s, int32_t zero_point, const std::string& what) {
  const float q = value / s;
  require(std::isfinite(q), "the clamp of " + what + " overflows at scale " + std::to_string(s));
  const double bound = static_cast<double>(zero_point) + std::round(static_cast<double>(q));
  return static_cast<int32_t>(std::clamp(bound, -2147483648.0, 2147483647.0));
}
}  // namespace

std::pair<int32_t, int32_t> clamp_range(float lo, float hi, double scale, int32_t zero_point, int32_t qmin,
                                        int32_t qmax) {
  const float s = positive_scale(scale, "the scale of a clamped output");
  require(!(lo > hi), "a clamp needs lo <= hi");
  // A bound beyond the codes (±Inf, or one whose quotient overflows float32) clamps nothing.
  auto code = [&](float bound, int32_t beyond) {
    return std::isfinite(bound / s) ? quantize_bound(bound, s, zero_point, "a Clip") : beyond;
  };
  const int32_t low = std::max(qmin, code(lo, lo < 0 ? qmin : qmax));
  const int32_t high = std::min(qmax, code(hi, hi < 0 ? qmin : qmax));
  return {std::min(low, qmax), std::max(high, qmin)};
}

std::vector<QuantizedMultiplier> per_channel_multipliers(double input_scale, const std::vector<float>& filter_scales,
                                                         double output_scale) {
  const double in = to_float32(input_scale), out = to_float32(output_scale);
  std::vector<QuantizedMultiplier> multipliers;
  multipliers.reserve(filter_scales.size());
  for (float s : filter_scales) multipliers.push_back(quantize_multiplier(in * static_cast<double>(s) / out));
  return multipliers;
}

std::pair<int32_t, int32_t> activation_range(const std::string& activation, double scale, int32_t zero_point) {
  constexpr int32_t kMin = -128, kMax = 127;
  const float s = positive_scale(scale, "the scale of a fused activation's output");
  auto quantize = [&](float value) { return quantize_bound(value, s, zero_point, "fused activation " + activation); };
  if (activation == "NONE") return {kMin, kMax};
  if (activation == "RELU") return {std::max(kMin, quantize(0.f)), kMax};
  if (activation == "RELU6") return {std::max(kMin, quantize(0.f)), std::min(kMax, quantize(6.f))};
  if (activation == "RELU_N1_TO_1") return {std::max(kMin, quantize(-1.f)), std::min(kMax, quantize(1.f))};
  throw InvalidArgument("fused activation " + activation + " has no int8 form");
}

QuantizedMultiplier fully_connected_multiplier(double input_scale, double filter_scale, double output_scale) {
  const float product = to_float32(input_scale) * to_float32(filter_scale);
  return quantize_multiplier(static_cast<double>(product) / static_cast<double>(to_float32(output_scale)));
}

SoftmaxParameters softmax_parameters(double beta, double input_scale) {
  constexpr int kIntegerBits = 5;
  const double real = std::min(static_cast<double>(to_float32(beta)) * static_cast<double>(to_float32(input_scale)) *
                                   static_cast<double>(int64_t{1} << (31 - kIntegerBits)),
                               static_cast<double>((int64_t{1} << 31) - 1));
  // real >= 2^30 (beta * input scale >= 16): shift 31, as TFLite computes it; then diff_min is 0,
  // so only zero differences (the row's maximum) are ever shifted, and 0 << 31 is 0
  const QuantizedMultiplier m = quantize_multiplier(real, /*max_shift=*/31);
  require(m.shift >= 0, "softmax: beta * input scale " + std::to_string(real / (int64_t{1} << 26)) +
                            " is too small for int8 softmax's left-shifted input (below 2^-27)");
  const double max_input_rescaled = 1.0 * ((1 << kIntegerBits) - 1) *
                                    static_cast<double>(int64_t{1} << (31 - kIntegerBits)) /
                                    static_cast<double>(int64_t{1} << m.shift);
  return {m.multiplier, m.shift, -static_cast<int32_t>(std::floor(max_input_rescaled))};
}

AddParameters add_parameters(double scale1, double scale2, double output_scale) {
  constexpr int kLeftShift = 20;
  const double s1 = to_float32(scale1), s2 = to_float32(scale2), so = to_float32(output_scale);
  const double twice_max = 2 * std::max(s1, s2);
  return {kLeftShift, quantize_multiplier(s1 / twice_max), quantize_multiplier(s2 / twice_max),
          quantize_multiplier(twice_max / (static_cast<double>(int64_t{1} << kLeftShift) * so))};
}

}  // namespace edgequant::quant
