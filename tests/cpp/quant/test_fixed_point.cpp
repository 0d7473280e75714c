// quant/fixed_point.h against references written from the formulas (exact 128-bit integer
// arithmetic), and the C runtime's eq_fixed_point.h against both:
// the export-time numbers and the arithmetic the generated C applies to them agree bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "common/error.h"
#include "quant/fixed_point.h"
#include "../../../runtime/c/eq_fixed_point.h"

using namespace edgequant;
using namespace edgequant::quant;

namespace {

constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();

// n / 2^e for e >= 0, rounded to nearest with ties away from zero, from the magnitude.
__int128 divide_pot_reference(__int128 n, int e) {
  const __int128 magnitude = n < 0 ? -n : n;
  const __int128 rounded = e == 0 ? magnitude : (magnitude + (__int128{1} << (e - 1))) >> e;
  return n < 0 ? -rounded : rounded;
}

int32_t saturate(__int128 v) { return static_cast<int32_t>(v > kMax32 ? kMax32 : v < kMin32 ? kMin32 : v); }

// floor(a·b / 2^31 + 1/2) (ties toward +Inf), saturated.
int32_t high_mul_reference(int32_t a, int32_t b) {
  const __int128 sum = __int128{a} * b + (__int128{1} << 30);
  return saturate(sum >= 0 ? sum >> 31 : -((-sum + (__int128{1} << 31) - 1) >> 31));  // floor division
}

// TFLite's double rounding: x·2^left (wrapping in int32), the high mul, then round(/ 2^right).
int32_t multiply_reference(int32_t x, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return static_cast<int32_t>(divide_pot_reference(high_mul_reference(shifted, m), right));
}

std::vector<int32_t> edge_values() {
  return {0, 1, -1, 2, -2, 3, -3, 1 << 30, -(1 << 30), (1 << 30) + 1, kMax32, kMax32 - 1, kMin32, kMin32 + 1,
          0x55555555, -0x55555555, 12345, -12345, 1 << 15, -(1 << 15)};
}

}  // namespace

TEST(FixedPoint, QuantizeMultiplierReconstructsTheReal) {
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<double> exponent(-40.0, 30.0);
  for (int i = 0; i < 20000; ++i) {
    const double real = std::exp2(exponent(rng));
    const QuantizedMultiplier m = quantize_multiplier(real);
    if (m.multiplier == 0) {
      EXPECT_LT(real, std::ldexp(1.0, -32));  // only reals below 2^-32 vanish
      continue;
    }
    EXPECT_GE(m.multiplier, 1 << 30);
    EXPECT_LE(m.shift, 30);
    // |multiplier·2^(shift−31) − real| <= half a unit of the 31-bit mantissa
    EXPECT_LE(std::abs(std::ldexp(m.multiplier, m.shift - 31) - real), std::ldexp(1.0, m.shift - 32)) << real;
  }
}

TEST(FixedPoint, QuantizeMultiplierEdgeCases) {
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(0.0).shift, 0);
  // exact powers of two: multiplier 2^30, the exponent in the shift
  for (int e = -31; e <= 29; ++e) {
    const QuantizedMultiplier m = quantize_multiplier(std::ldexp(1.0, e));
    EXPECT_EQ(m.multiplier, 1 << 30) << e;
    EXPECT_EQ(m.shift, e + 1) << e;
  }
  // a mantissa that rounds up to 1.0 is renormalised: (1 − 2^-40)·2^3 -> 2^30, shift 4
  const QuantizedMultiplier up = quantize_multiplier(std::ldexp(1.0 - std::ldexp(1.0, -40), 3));
  EXPECT_EQ(up.multiplier, 1 << 30);
  EXPECT_EQ(up.shift, 4);
  // a tie in the 31-bit mantissa rounds away from zero: 0.5 + 2^-32 -> 2^30 + 1 (not the even 2^30)
  const QuantizedMultiplier tie = quantize_multiplier(0.5 + std::ldexp(1.0, -32));
  EXPECT_EQ(tie.multiplier, (1 << 30) + 1);
  EXPECT_EQ(tie.shift, 0);
  // tiny: shift < -31 -> (0, 0); the smallest kept real is 2^-32
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -33)).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -32)).shift, -31);
  EXPECT_EQ(quantize_multiplier(std::numeric_limits<double>::denorm_min()).multiplier, 0);
  // huge: shift 31 only where allowed
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, 30), 31).shift, 31);
  EXPECT_THROW(quantize_multiplier(std::ldexp(1.0, 30)), InvalidArgument);
  EXPECT_THROW(quantize_multiplier(1e300), InvalidArgument);
  EXPECT_THROW(quantize_multiplier(-1.0), InvalidArgument);
  EXPECT_THROW(quantize_multiplier(std::nan("")), InvalidArgument);
  EXPECT_THROW(quantize_multiplier(std::numeric_limits<double>::infinity()), InvalidArgument);
}

TEST(FixedPoint, HighMulMatchesTheFormula) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> any(kMin32, kMax32);
  auto check = [](int32_t a, int32_t b) {
    const int32_t want = high_mul_reference(a, b);
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), want) << a << " * " << b;
    ASSERT_EQ(eq_saturating_rounding_doubling_high_mul(a, b), want) << a << " * " << b;
  };
  for (int32_t a : edge_values())
    for (int32_t b : edge_values()) check(a, b);
  for (int i = 0; i < 200000; ++i) check(any(rng), any(rng));
  // the one overflow saturates; ties (a·b = (2k+1)·2^30) round toward +Inf (gemmlowp's nudge
  // 1 − 2^30 for negative products, then a division that truncates)
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin32, kMin32), kMax32);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1), 1);     // 0.5 -> 1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 30), 1), 0);  // -0.5 -> 0
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 30), 3), -1);  // -1.5 -> -1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 30) - 1, 1), -1);  // just below -0.5
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3 << 29, 1), 1);    // 0.75 -> 1
  EXPECT_EQ(saturating_rounding_doubling_high_mul((1 << 29) , 1), 0);  // 0.25 -> 0
}

TEST(FixedPoint, RoundingDivideByPotMatchesTheFormula) {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int32_t> any(kMin32, kMax32);
  for (int e = 0; e <= 31; ++e) {
    auto check = [e](int32_t x) {
      const auto want = static_cast<int32_t>(divide_pot_reference(x, e));
      ASSERT_EQ(rounding_divide_by_pot(x, e), want) << x << " / 2^" << e;
      ASSERT_EQ(eq_rounding_divide_by_pot(x, e), want) << x << " / 2^" << e;
    };
    for (int32_t x : edge_values()) check(x);
    for (int i = 0; i < 5000; ++i) check(any(rng));
  }
  // ties away from zero, both signs
  EXPECT_EQ(rounding_divide_by_pot(3, 1), 2);
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(rounding_divide_by_pot(kMin32, 31), -1);
  EXPECT_THROW(rounding_divide_by_pot(1, 32), InvalidArgument);
  EXPECT_THROW(rounding_divide_by_pot(1, -1), InvalidArgument);
}

TEST(FixedPoint, MultiplyByQuantizedMultiplierMatchesTheFormula) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> any(kMin32, kMax32), small(-(1 << 20), 1 << 20);
  std::uniform_int_distribution<int32_t> mantissa(1 << 30, kMax32);
  std::uniform_int_distribution<int> shifts(-31, 10);
  for (int i = 0; i < 200000; ++i) {
    const int shift = shifts(rng);
    const int32_t m = mantissa(rng), x = shift > 0 ? small(rng) : any(rng);
    const int32_t want = multiply_reference(x, m, shift);
    ASSERT_EQ(multiply_by_quantized_multiplier(x, {m, shift}), want) << x << " " << m << " " << shift;
    ASSERT_EQ(eq_multiply_by_quantized_multiplier(x, m, shift), want) << x << " " << m << " " << shift;
  }
  // multiplier 0 gives 0; an exact power of two is an exact rounded shift
  EXPECT_EQ(multiply_by_quantized_multiplier(123456, {0, 0}), 0);
  const QuantizedMultiplier quarter = quantize_multiplier(0.25);
  EXPECT_EQ(multiply_by_quantized_multiplier(10, quarter), 3);    // 2.5 -> 3
  EXPECT_EQ(multiply_by_quantized_multiplier(-10, quarter), -3);  // -2.5 -> -3
  const QuantizedMultiplier eight = quantize_multiplier(8.0);
  EXPECT_EQ(multiply_by_quantized_multiplier(-7, eight), -56);
  // INT32_MIN with the multiplier closest to 1: the high mul saturates only for INT32_MIN²
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin32, {kMin32, 0}), kMax32);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin32, {kMax32, 0}), kMin32 + 1);
}

TEST(FixedPoint, ActivationRange) {
  using Range = std::pair<int32_t, int32_t>;
  EXPECT_EQ(activation_range("NONE", 0.1, 5), Range(-128, 127));
  EXPECT_EQ(activation_range("RELU", 0.1, -3), Range(-3, 127));
  EXPECT_EQ(activation_range("RELU", 0.1, -200), Range(-128, 127));
  EXPECT_EQ(activation_range("RELU6", 0.05, -128), Range(-128, -8));         // 6 / 0.05 = 120
  EXPECT_EQ(activation_range("RELU_N1_TO_1", 1.0 / 64, 0), Range(-64, 64));
  // the division is in float32 and rounds half away from zero: 6 / 0.48 = 12.5 -> 13
  EXPECT_EQ(activation_range("RELU6", 0.48, 0).second, 13);
  EXPECT_THROW(activation_range("TANH", 0.1, 0), InvalidArgument);
  EXPECT_THROW(activation_range("RELU", 0.0, 0), InvalidArgument);
  EXPECT_THROW(activation_range("RELU", -1.0, 0), InvalidArgument);
  EXPECT_THROW(activation_range("RELU", std::nan(""), 0), InvalidArgument);
  EXPECT_THROW(activation_range("RELU", 1e300, 0), InvalidArgument);  // inf as float32
  EXPECT_THROW(activation_range("RELU6", 1e-45, 0), InvalidArgument);  // 6 / scale overflows float32
}

TEST(FixedPoint, SoftmaxAndAddParameters) {
  // beta·scale = 1/256: real = 2^18 -> multiplier 2^30, shift 19; diff_min = −floor(31·2^26 / 2^19)
  const SoftmaxParameters s = softmax_parameters(1.0, 1.0 / 256);
  EXPECT_EQ(s.input_multiplier, 1 << 30);
  EXPECT_EQ(s.input_left_shift, 19);
  EXPECT_EQ(s.diff_min, -3968);
  // beta·scale >= 16: shift 31 and diff_min 0 (TFLite's numbers)
  const SoftmaxParameters big = softmax_parameters(1.0, 32.0);
  EXPECT_EQ(big.input_left_shift, 31);
  EXPECT_EQ(big.diff_min, 0);
  EXPECT_THROW(softmax_parameters(1.0, 1e-12), InvalidArgument);  // below 2^-27: no left shift exists
  const AddParameters a = add_parameters(0.5, 0.25, 1.0);
  EXPECT_EQ(a.left_shift, 20);
  EXPECT_EQ(a.input1.multiplier, 1 << 30);  // 0.5 / (2·0.5) = 0.5
  EXPECT_EQ(a.input1.shift, 0);
  EXPECT_EQ(a.input2.shift, -1);           // 0.25
  EXPECT_EQ(a.output.shift, -19);          // 1 / 2^20
  EXPECT_THROW(add_parameters(0.0, 0.0, 1.0), InvalidArgument);
}

TEST(FixedPoint, ToFloat32) {
  EXPECT_EQ(to_float32(0.1), 0.1f);
  EXPECT_EQ(to_float32(3.4028235e38), std::numeric_limits<float>::max());
  const double max = std::numeric_limits<float>::max();
  EXPECT_EQ(to_float32(max + std::ldexp(1.0, 102)), std::numeric_limits<float>::max());  // within half an ulp
  EXPECT_EQ(to_float32(max + std::ldexp(1.0, 103)), std::numeric_limits<float>::infinity());  // the tie: to even
  EXPECT_EQ(to_float32(1e39), std::numeric_limits<float>::infinity());
  EXPECT_EQ(to_float32(-1e39), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(to_float32(std::nan(""))));
}

TEST(FixedPoint, TfliteWeightFormatIsNarrowRange) {
  const AffineFormat format = tflite_weight_format();
  EXPECT_EQ(format.qmin, -127);
  EXPECT_EQ(format.qmax, 127);
  // scale max|w| / 127, bit for bit (2m / 254 is the same correctly rounded quotient)
  for (double m : {1.0, 0.3, 1e-20, 12345.678, 3.0e38}) {
    EXPECT_EQ(affine_params_from_range(format, -m, m / 2).scale, m / 127.0) << m;
    EXPECT_EQ(affine_params_from_range(format, -m, m / 2).zero_point, 0);
  }
  EXPECT_EQ(affine_params_from_range(format, 0.0, 0.0).scale, 1.0);  // an all-zero channel
  const Affine affine(format, affine_params_from_range(format, -1.0, 1.0));
  EXPECT_EQ(affine.encode(-1.0), -127);
  EXPECT_EQ(affine.encode(-2.0), -127);  // never -128
}

TEST(FixedPoint, QuantizeBias) {
  EXPECT_EQ(quantize_bias(0.5, 0.25, 0.5), 4);
  EXPECT_EQ(quantize_bias(-0.3, 0.1, 1.0), -3);
  EXPECT_EQ(quantize_bias(0.25, 0.5, 1.0), 0);   // 0.5: half to even
  EXPECT_EQ(quantize_bias(0.75, 0.5, 1.0), 2);   // 1.5: half to even
  EXPECT_EQ(quantize_bias(-0.25, 0.5, 1.0), 0);  // -0.5
  EXPECT_EQ(quantize_bias(1.0, 1e-12, 1e-12), std::numeric_limits<int32_t>::max());  // saturates
  EXPECT_EQ(quantize_bias(-1.0, 1e-12, 1e-12), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(quantize_bias(std::nan(""), 1.0, 1.0), 0);
}
