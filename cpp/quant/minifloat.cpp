#include "quant/minifloat.h"

#include <string>

#include "quant/registry.h"

namespace edgequant::quant {

int Minifloat::default_bias(int exponent_bits, MinifloatMode mode) {
  require(exponent_bits >= 0 && exponent_bits <= 8, "exponent_bits must be in [0, 8]");
  // paper: the top binade is [1, 2), so the format spans the paper's [-1, 1] weight range.
  if (mode == MinifloatMode::paper) return (1 << exponent_bits) - 1;
  return (1 << std::max(exponent_bits - 1, 0)) - 1;  // IEEE: 15 for fp16, 127 for bfloat16
}

Minifloat::Minifloat(int exponent_bits, int mantissa_bits, int bias, MinifloatMode mode)
    : exponent_bits(exponent_bits), mantissa_bits(mantissa_bits), bias(bias), mode(mode) {
  require(exponent_bits >= 0 && exponent_bits <= 8, "exponent_bits must be in [0, 8], got " + std::to_string(exponent_bits));
  require(mantissa_bits >= 0 && mantissa_bits <= 23, "mantissa_bits must be in [0, 23], got " + std::to_string(mantissa_bits));
  const bool paper = mode == MinifloatMode::paper;
  signed_zero = !paper;
  if (!paper) {
    require(exponent_bits >= 2, "exponent_bits must be >= 2 in ieee/fn mode (normals besides the Inf/NaN exponent)");
    require(mantissa_bits >= 1, "mantissa_bits must be >= 1 in ieee/fn mode (NaN needs a mantissa bit)");
  }
  // Every value must be exact in float32: the top binade at most 2^127 and the lowest mantissa
  // bit at least 2^-149 (float32 subnormals allowed: bfloat16's subnormals live there).
  const int64_t exponent_codes = int64_t{1} << exponent_bits;
  const int64_t top_exponent_code = mode == MinifloatMode::ieee ? exponent_codes - 2 : exponent_codes - 1;
  const int64_t first_normal = paper ? 0 : 1;
  const int64_t top_binade = top_exponent_code - bias;
  const int64_t lowest_bit = first_normal - bias - mantissa_bits;
  require(top_binade <= 127, "bias = " + std::to_string(bias) + " is too small: the largest value overflows float32 (bias must be >= " +
                                 std::to_string(top_exponent_code - 127) + ")");
  require(lowest_bit >= -149, "bias = " + std::to_string(bias) + " is too large: the smallest values underflow float32 (bias must be <= " +
                                  std::to_string(first_normal - mantissa_bits + 149) + ")");

  const uint32_t mantissa_codes = uint32_t{1} << mantissa_bits;
  first_normal_exponent = static_cast<uint32_t>(first_normal);
  min_normal = std::ldexp(1.0, static_cast<int>(first_normal - bias));
  subnormal_scale = paper ? 0.0 : std::ldexp(1.0, mantissa_bits - static_cast<int>(first_normal - bias));
  magnitude_mask = static_cast<uint32_t>((uint64_t{1} << (exponent_bits + mantissa_bits)) - 1);
  code_mask = static_cast<uint32_t>((uint64_t{1} << (1 + exponent_bits + mantissa_bits)) - 1);
  sign_shift = exponent_bits + mantissa_bits;
  rounding_shift = 52 - mantissa_bits;
  double_exponent_offset = (1023 - int64_t{bias}) * mantissa_codes;
  const uint32_t all_ones_exponent = static_cast<uint32_t>(exponent_codes - 1) * mantissa_codes;
  switch (mode) {
    case MinifloatMode::paper:
      max_magnitude = magnitude_mask;
      nan_magnitude = 0;
      first_special = magnitude_mask + 1;  // 2^31 for e + m = 31: still above every magnitude
      inf_magnitude = ~uint32_t{0};
      break;
    case MinifloatMode::ieee:
      max_magnitude = all_ones_exponent;  // overflow rounds to Inf
      nan_magnitude = all_ones_exponent | (mantissa_codes >> 1);
      first_special = all_ones_exponent;
      inf_magnitude = all_ones_exponent;
      break;
    case MinifloatMode::fn:
      max_magnitude = magnitude_mask - 1;  // overflow saturates
      nan_magnitude = magnitude_mask;
      first_special = magnitude_mask;
      inf_magnitude = ~uint32_t{0};
      break;
  }
}

int32_t Minifloat::encode_reference(double x) const {
  const bool paper = mode == MinifloatMode::paper;
  const uint32_t sign_bit = uint32_t{1} << (exponent_bits + mantissa_bits);
  if (std::isnan(x)) return static_cast<int32_t>((!paper && std::signbit(x) ? sign_bit : 0) | static_cast<uint32_t>(nan_magnitude));
  const bool negative = paper ? x < 0 : std::signbit(x);
  const double a = std::fabs(x);
  const int min_binade = std::ilogb(min_normal);
  const double max_finite = max_value();

  // Nearest value with m mantissa bits in a's binade (the quantum stays fixed below min_normal).
  auto round_to_grid = [&](double v) {
    int exponent;
    std::frexp(v, &exponent);  // v = f · 2^exponent, f in [0.5, 1)
    const int binade = std::max(exponent - 1, min_binade);
    return std::ldexp(std::nearbyint(std::ldexp(v, mantissa_bits - binade)), binade - mantissa_bits);
  };

  double value;
  if (paper) {
    value = a < min_normal ? min_normal : a > max_finite ? max_finite : round_to_grid(a);
  } else {
    value = std::isinf(a) ? a : round_to_grid(a);
    if (value > max_finite) value = mode == MinifloatMode::ieee ? HUGE_VAL : max_finite;
  }

  uint32_t magnitude;
  if (std::isinf(value)) {
    magnitude = inf_magnitude;
  } else if (value < min_normal) {  // zero or subnormal: E = 0
    magnitude = static_cast<uint32_t>(std::ldexp(value, mantissa_bits - min_binade));
  } else {
    int exponent;
    std::frexp(value, &exponent);
    const int binade = exponent - 1;
    const uint32_t biased_exponent = static_cast<uint32_t>(binade + bias);
    const uint32_t mantissa = static_cast<uint32_t>(std::ldexp(value, mantissa_bits - binade)) - (uint32_t{1} << mantissa_bits);
    magnitude = (biased_exponent << mantissa_bits) | mantissa;
  }
  return static_cast<int32_t>((negative ? sign_bit : 0) | magnitude);
}

EDGEQUANT_DEFINE_CHUNK_KERNELS(Minifloat)

namespace {

MinifloatMode mode_named(const std::string& name) {
  if (name == "paper") return MinifloatMode::paper;
  if (name == "ieee") return MinifloatMode::ieee;
  if (name == "fn") return MinifloatMode::fn;
  throw InvalidArgument("mode must be paper, ieee or fn, got '" + name + "'");
}

// (exponent bits, mantissa bits) of the paper's Table 3.5, then IEEE half (swept in ieee mode).
constexpr int kPaperFormats[][2] = {{4, 7}, {3, 6}, {3, 4}, {4, 3}, {3, 3}, {2, 4}, {2, 3},
                                    {1, 4}, {2, 2}, {1, 3}, {1, 2}, {0, 3}, {5, 10}};

}  // namespace

const QuantizerFamily& minifloat_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "minifloat",
      "floating point with e exponent and m mantissa bits (paper, ieee or fn semantics)",
      {{"exponent_bits", ParameterKind::integer, "exponent bits e", 0, 8},
       {"mantissa_bits", ParameterKind::integer, "mantissa bits m", 0, 23},
       {"bias", ParameterKind::integer, "exponent bias (default: 2^e - 1 in paper mode, IEEE's otherwise)",
        -2147483648.0, 2147483647.0, false, false, {}, true},
       {"mode", ParameterKind::choice, "paper (normals only), ieee (Inf/NaN) or fn (finite, saturating)", 0, 0,
        false, false, {"paper", "ieee", "fn"}}},
      [](const Values& v) {
        const int exponent_bits = static_cast<int>(integer_value(v, "exponent_bits"));
        const MinifloatMode mode = mode_named(has_value(v, "mode") ? text_value(v, "mode") : "paper"s);
        const int bias = has_value(v, "bias") ? static_cast<int>(integer_value(v, "bias"))
                                              : Minifloat::default_bias(exponent_bits, mode);
        return make_kernels_of(Minifloat(exponent_bits, static_cast<int>(integer_value(v, "mantissa_bits")), bias, mode),
                               [](const Minifloat& op) {
                                 return std::vector<std::pair<std::string, double>>{
                                     {"bias", op.bias}, {"max_value", op.max_value()}, {"min_normal", op.min_normal}};
                               });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (const auto& format : kPaperFormats) {
          const bool ieee_half = format[0] == 5 && format[1] == 10;
          grid.push_back({{"exponent_bits", int64_t{format[0]}}, {"mantissa_bits", int64_t{format[1]}},
                          {"mode", ieee_half ? "ieee"s : "paper"s}});
        }
        return grid;
      },
      {{{"exponent_bits", int64_t{4}}, {"mantissa_bits", int64_t{3}}},
       {{"exponent_bits", int64_t{5}}, {"mantissa_bits", int64_t{2}}, {"mode", "ieee"s}}},
      {{{"exponent_bits", int64_t{4}}, {"mantissa_bits", int64_t{3}}, {"mode", "paper"s}},
       {{"exponent_bits", int64_t{5}}, {"mantissa_bits", int64_t{10}}, {"mode", "ieee"s}},
       {{"exponent_bits", int64_t{4}}, {"mantissa_bits", int64_t{3}}, {"mode", "fn"s}},
       {{"exponent_bits", int64_t{8}}, {"mantissa_bits", int64_t{7}}, {"mode", "ieee"s}},
       {{"exponent_bits", int64_t{0}}, {"mantissa_bits", int64_t{3}}, {"mode", "paper"s}}}};
  return family;
}

}  // namespace edgequant::quant
