// Power-of-two (logarithmic) quantizer, as LogQuant (Miyashita, Lee & Murmann 2016): every level
// is ±xmax·2^-k, so a multiply by a weight is a shift. The convention, written once here:
//
//   Levels.  b bits: one sign bit and b-1 bits for the exponent. With `zero` one code is 0 and
//   K = 2^(b-1) - 1 exponents remain, else K = 2^(b-1). Symbol q in [-K, K] (q != 0 without zero)
//   decodes to x_hat = s(q)·xmax·2^(|q| - K): |q| = K is ±xmax, |q| = 1 is ±xmax·2^(1-K).
//   Symbols grow with |x| (monotone), like every other family's.
//   Rounding.  In the log domain: |q| = K + round(log2(|x| / xmax)), i.e. the boundary between
//   levels xmax·2^(j-K) and xmax·2^(j+1-K) is their geometric mean; evaluated exactly, without a
//   logarithm, as |x| >= B_j with B_j = ldexp(fl(xmax·√2), j - K) in double (√2 and the product
//   each rounded to nearest double once). A tie |x| == B_j goes to the larger level.
//   Under- and overflow.  |x| < B_0 = 2^(-K)·xmax·√2, where the rounded exponent falls below the
//   smallest level, maps to 0 (Miyashita's Clip) or, without zero, to ±the smallest level;
//   |x| >= B_(K-1) maps to ±xmax (clipping). s(±0) = +1.
//   Non-finite input is refused like every family's (counted; NaN encodes as |x| = 0).
// Everything is computed in double from the exact input, so float32 and float64 inputs agree.
#include <array>
#include <cstring>

#include "quant/registry.h"

namespace edgequant::quant {

struct PowerOfTwo {
  static constexpr int kMaxExponents = 128;  // b = 8 without zero
  int64_t exponents;        // K
  int64_t zero;             // 1: symbol 0 is the level 0; 0: no zero level
  double boundary;          // fl(xmax·√2) = B_K, the bins' boundaries are ldexp(boundary, j - K)
  int64_t boundary_exponent;  // biased exponent field of `boundary` (64-bit: see Minifloat's note)
  int64_t boundary_mantissa;  // its mantissa field
  std::array<float, kMaxExponents + 1> levels;  // |x_hat| of |q| = 0 ... K

  PowerOfTwo(int64_t bits, double xmax, bool with_zero) {
    require(bits >= 2 && bits <= 8, "bits must be in [2, 8]");
    require(xmax > 0 && xmax <= std::numeric_limits<float>::max(),
            "xmax must be > 0 and at most the largest float32 (3.4028235e38)");
    zero = with_zero;
    exponents = (int64_t{1} << (bits - 1)) - zero;
    boundary = xmax * std::sqrt(2.0);
    uint64_t bits_of_boundary;
    std::memcpy(&bits_of_boundary, &boundary, sizeof boundary);
    boundary_exponent = static_cast<int64_t>(bits_of_boundary >> 52);
    boundary_mantissa = static_cast<int64_t>(bits_of_boundary & ((uint64_t{1} << 52) - 1));
    levels.fill(0.0f);
    for (int64_t j = 1; j <= exponents; ++j) levels[j] = saturate_to_float(std::ldexp(xmax, static_cast<int>(j - exponents)));
  }

  // Branch-free: floor(log2(|x| / boundary)) from the exponent and mantissa fields (exact: both
  // are normal doubles whenever the result matters), then clamped to the K levels.
  template <class T>
  int32_t encode(T x) const {
    double a = std::abs(static_cast<double>(x));
    a = a == a ? a : 0.0;
    uint64_t bits;
    std::memcpy(&bits, &a, sizeof bits);
    const int64_t mantissa = static_cast<int64_t>(bits & ((uint64_t{1} << 52) - 1));
    const int64_t floor_log2 = static_cast<int64_t>(bits >> 52) - boundary_exponent - (mantissa < boundary_mantissa);
    int64_t magnitude = floor_log2 + exponents + 1;
    magnitude = magnitude < 1 - zero ? 1 - zero : magnitude;
    magnitude = magnitude > exponents ? exponents : magnitude;
    const int32_t negative = -static_cast<int32_t>(x < T(0));
    return (static_cast<int32_t>(magnitude) ^ negative) - negative;
  }
  // The formula: count the boundaries B_0 ... B_(K-1) at or below |x|.
  template <class T>
  int32_t encode_reference(T x) const {
    const double a = std::isnan(x) ? 0.0 : std::abs(static_cast<double>(x));
    int32_t magnitude = 0;
    for (int64_t j = 1; j <= exponents; ++j) {
      if (a >= std::ldexp(boundary, static_cast<int>(j - 1 - exponents))) magnitude = static_cast<int32_t>(j);
    }
    if (!zero && magnitude == 0) magnitude = 1;
    return x < T(0) ? -magnitude : magnitude;
  }
  float decode(int32_t q) const {
    const uint32_t sign = static_cast<uint32_t>(q) >> 31;  // masks, not branches (see mulaw.h)
    uint32_t magnitude = (static_cast<uint32_t>(q) ^ (0u - sign)) + sign;
    magnitude = std::min(magnitude, static_cast<uint32_t>(exponents));  // invalid symbols: counted by valid()
    float value = levels[magnitude];
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    bits |= sign << 31;
    std::memcpy(&value, &bits, sizeof bits);
    return value;
  }
  bool valid(int32_t q) const { return q >= -exponents && q <= exponents && (zero || q != 0); }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(PowerOfTwo)
EDGEQUANT_DEFINE_CHUNK_KERNELS(PowerOfTwo)

const QuantizerFamily& power_of_two_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "power_of_two",
      "logarithmic: levels ±xmax·2^-k (shift-only), rounded in the log domain, optionally 0",
      {{"bits", ParameterKind::integer, "code width b: sign + b-1 exponent bits", 2, 8},
       range_parameter(),
       {"zero", ParameterKind::boolean, "a zero level (tiny |x| -> 0)", 0, 0, false, false, {}, false, "no_zero"}},
      [](const Values& v) {
        return make_kernels_of(PowerOfTwo(integer_value(v, "bits"), real_value(v, "xmax"), boolean_value(v, "zero")),
                               [](const PowerOfTwo& op) {
                                 return std::vector<std::pair<std::string, double>>{
                                     {"max_symbol", static_cast<double>(op.exponents)},
                                     {"smallest_level", op.levels[1]}};
                               });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (int64_t bits = 2; bits <= std::min(8, max_bits); ++bits) {
          grid.push_back({{"bits", bits}, {"xmax", "max"s}, {"zero", true}});
        }
        return grid;
      },
      {{{"bits", int64_t{4}}}, {{"bits", int64_t{8}}, {"xmax", "max"s}}, {{"bits", int64_t{3}}, {"zero", false}}},
      {{{"bits", int64_t{4}}, {"xmax", 1.0}, {"zero", true}},
       {{"bits", int64_t{8}}, {"xmax", 0.5}, {"zero", true}},
       {{"bits", int64_t{8}}, {"xmax", 1.0}, {"zero", false}},
       {{"bits", int64_t{2}}, {"xmax", 3.0}, {"zero", true}},
       {{"bits", int64_t{5}}, {"xmax", 3.4028234663852886e38}, {"zero", false}},
       {{"bits", int64_t{8}}, {"xmax", 1e-30}, {"zero", true}}}};
  return family;
}

}  // namespace edgequant::quant
