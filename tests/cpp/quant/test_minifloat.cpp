// Minifloat: the fast bit-pattern kernel against the frexp/ldexp reference, and every code of the
// small formats decoded and re-encoded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "quant/minifloat.h"

using namespace edgequant::quant;

namespace {

struct Format {
  int exponent_bits, mantissa_bits, bias;
  MinifloatMode mode;
};

Minifloat make(const Format& f) {
  const int bias = f.bias == INT32_MIN ? Minifloat::default_bias(f.exponent_bits, f.mode) : f.bias;
  return Minifloat(f.exponent_bits, f.mantissa_bits, bias, f.mode);
}

constexpr int kDefault = INT32_MIN;

// The paper's Table 3.5 formats, the named ones, and a few edge biases.
const std::vector<Format> kFormats = {
    {4, 7, kDefault, MinifloatMode::paper}, {3, 6, kDefault, MinifloatMode::paper},
    {3, 4, kDefault, MinifloatMode::paper}, {4, 3, kDefault, MinifloatMode::paper},
    {3, 3, kDefault, MinifloatMode::paper}, {2, 4, kDefault, MinifloatMode::paper},
    {2, 3, kDefault, MinifloatMode::paper}, {1, 4, kDefault, MinifloatMode::paper},
    {2, 2, kDefault, MinifloatMode::paper}, {1, 3, kDefault, MinifloatMode::paper},
    {1, 2, kDefault, MinifloatMode::paper}, {0, 3, kDefault, MinifloatMode::paper},
    {5, 10, kDefault, MinifloatMode::paper}, {0, 0, kDefault, MinifloatMode::paper},
    {8, 21, 128, MinifloatMode::paper},     {3, 23, -100, MinifloatMode::paper},
    {5, 10, kDefault, MinifloatMode::ieee}, {8, 7, kDefault, MinifloatMode::ieee},
    {5, 2, kDefault, MinifloatMode::ieee},  {8, 23, kDefault, MinifloatMode::ieee},
    {2, 1, kDefault, MinifloatMode::ieee},  {4, 3, kDefault, MinifloatMode::fn},
    {2, 1, kDefault, MinifloatMode::fn},    {6, 9, 3, MinifloatMode::fn},
};

// Log-uniform magnitudes over and beyond the format's range, every representable value of the
// format (up to 2^16 codes), the midpoints between neighbours and their float neighbours, and
// the special values.
template <class T>
std::vector<T> test_values(const Minifloat& op, int64_t n) {
  std::mt19937_64 rng(7);
  const double low = std::log2(op.min_normal) - op.mantissa_bits - 4, high = std::log2(op.max_value()) + 4;
  std::uniform_real_distribution<double> log_magnitude(low, high);
  std::vector<T> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(static_cast<T>((i % 2 ? -1 : 1) * std::exp2(log_magnitude(rng))));
  const int64_t codes = std::min<int64_t>(int64_t{1} << (op.exponent_bits + op.mantissa_bits), 1 << 16);
  for (int64_t c = 0; c + 1 < codes; ++c) {
    const double v = op.decode(static_cast<int32_t>(c)), next = op.decode(static_cast<int32_t>(c + 1));
    if (!std::isfinite(next)) continue;
    const T mid = static_cast<T>((v + next) / 2);
    for (T t : {static_cast<T>(v), mid, std::nextafter(mid, T(0)), std::nextafter(mid, T(1e30))}) {
      values.push_back(t);
      values.push_back(-t);
    }
  }
  const T inf = std::numeric_limits<T>::infinity();
  for (T v : {T(0), -T(0), inf, -inf, std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::max(),
              std::numeric_limits<T>::denorm_min(), std::numeric_limits<T>::min()})
    values.push_back(v);
  return values;
}

template <class T>
void expect_fast_equals_reference(const Minifloat& op) {
  auto values = test_values<T>(op, 100001);  // odd size: exercises the SIMD tail
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<int32_t> fast(n), reference(n);
  const int64_t non_finite = encode(op, values.data(), n, fast.data());
  EXPECT_EQ(encode_reference(op, values.data(), n, reference.data()), non_finite);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(fast[i], reference[i]) << "e" << op.exponent_bits << "m" << op.mantissa_bits << " bias " << op.bias
                                     << " index " << i << " value " << std::hexfloat << values[i];
  }
  std::vector<float> fused(n), decoded(n);
  quantize(op, values.data(), n, fused.data());
  EXPECT_EQ(decode(op, fast.data(), n, decoded.data()), 0);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(std::memcmp(&fused[i], &decoded[i], sizeof(float)), 0) << "index " << i;
  }
}

}  // namespace

TEST(Minifloat, FastMatchesReference) {
  for (const Format& f : kFormats) {
    const Minifloat op = make(f);
    expect_fast_equals_reference<float>(op);
    expect_fast_equals_reference<double>(op);
  }
}

TEST(Minifloat, EveryFiniteCodeOfSmallFormatsMapsToItself) {
  for (const Format& f : kFormats) {
    const Minifloat op = make(f);
    if (op.exponent_bits + op.mantissa_bits + 1 > 16) continue;
    for (int32_t code = 0; code < (1 << (op.exponent_bits + op.mantissa_bits + 1)); ++code) {
      ASSERT_TRUE(op.valid(code));
      const float value = op.decode(code);
      if (std::isnan(value)) continue;
      ASSERT_EQ(op.encode(value), code) << "e" << op.exponent_bits << "m" << op.mantissa_bits << " code " << code;
      ASSERT_EQ(op.encode(static_cast<double>(value)), code);
      ASSERT_EQ(op.encode_reference(value), code);
    }
  }
}

TEST(Minifloat, PaperFormatHasNoZeroAndSaturates) {
  const Minifloat op(4, 3, Minifloat::default_bias(4, MinifloatMode::paper), MinifloatMode::paper);
  EXPECT_EQ(op.bias, 15);
  EXPECT_EQ(op.max_value(), 1.875);
  EXPECT_EQ(op.decode(op.encode(0.0f)), std::ldexp(1.0f, -15));
  EXPECT_EQ(op.decode(op.encode(-0.0f)), std::ldexp(1.0f, -15));
  EXPECT_EQ(op.decode(op.encode(-1e-30f)), -std::ldexp(1.0f, -15));
  EXPECT_EQ(op.decode(op.encode(-7.0f)), -1.875f);
  EXPECT_EQ(op.decode(op.encode(1.0625f)), 1.0f);    // tie between 1 and 1.125: even mantissa
  EXPECT_EQ(op.decode(op.encode(1.1875f)), 1.25f);   // tie between 1.125 and 1.25: even mantissa
}

TEST(Minifloat, IeeeOverflowAndSpecials) {
  const Minifloat half(5, 10, 15, MinifloatMode::ieee);
  EXPECT_EQ(half.encode(65519.0f), 0x7bff);
  EXPECT_EQ(half.encode(65520.0f), 0x7c00);  // max + ulp/2 rounds to Inf
  EXPECT_EQ(half.encode(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(half.encode(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
  EXPECT_EQ(half.encode(-0.0f), 0x8000);
  EXPECT_EQ(half.encode(std::ldexp(1.0f, -25)), 0);          // tie with 0: even
  EXPECT_EQ(half.encode(std::ldexp(3.0f, -25)), 2);          // tie between 1 and 2 subnormal ulps
  EXPECT_TRUE(std::isinf(half.decode(0x7c00)));
  EXPECT_TRUE(std::isnan(half.decode(0x7c01)));
  const Minifloat e4m3(4, 3, 7, MinifloatMode::fn);
  EXPECT_EQ(e4m3.max_value(), 448.0);
  EXPECT_EQ(e4m3.encode(1e6f), 0x7e);
  EXPECT_EQ(e4m3.encode(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(e4m3.encode(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_TRUE(std::isnan(e4m3.decode(0xff)));
}

TEST(Minifloat, NonFiniteInputsAreCounted) {
  const Minifloat op(3, 3, 7, MinifloatMode::paper);
  std::vector<float> values = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 0.5f};
  std::vector<int32_t> symbols(values.size());
  EXPECT_EQ(encode(op, values.data(), 4, symbols.data()), 2);
  EXPECT_EQ(symbols[1], 0);           // NaN -> symbol 0, defined
  EXPECT_EQ(symbols[2], (1 << 6) - 1);  // +Inf saturates
}

TEST(Minifloat, DecodeCountsSymbolsOutsideTheAlphabet) {
  const Minifloat op(2, 2, 3, MinifloatMode::paper);
  std::vector<int32_t> symbols = {0, 31, 32, -1, 17};
  std::vector<float> out(symbols.size());
  EXPECT_EQ(decode(op, symbols.data(), 5, out.data()), 2);
  const Minifloat single(8, 23, 127, MinifloatMode::ieee);  // 32-bit codes: every int32 is one
  EXPECT_TRUE(single.valid(-1));
}

TEST(Minifloat, InvalidParametersThrow) {
  using edgequant::InvalidArgument;
  EXPECT_THROW(Minifloat(9, 3, 7, MinifloatMode::paper), InvalidArgument);
  EXPECT_THROW(Minifloat(-1, 3, 0, MinifloatMode::paper), InvalidArgument);
  EXPECT_THROW(Minifloat(4, 24, 7, MinifloatMode::paper), InvalidArgument);
  EXPECT_THROW(Minifloat(8, 7, 255, MinifloatMode::paper), InvalidArgument);  // 2^-255 underflows
  EXPECT_THROW(Minifloat(8, 7, 0, MinifloatMode::ieee), InvalidArgument);     // 2^254 overflows
  EXPECT_THROW(Minifloat(1, 3, 0, MinifloatMode::ieee), InvalidArgument);
  EXPECT_THROW(Minifloat(4, 0, 7, MinifloatMode::fn), InvalidArgument);
  EXPECT_NO_THROW(Minifloat(8, 21, 128, MinifloatMode::paper));
  EXPECT_THROW(Minifloat(8, 22, 128, MinifloatMode::paper), InvalidArgument);
}
