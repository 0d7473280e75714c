// Fast (vectorised, multi-threaded) uniform kernels against their scalar reference formulas.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "quant/deadzone.h"
#include "quant/midrise.h"
#include "quant/midtread.h"
#include "quant/mulaw.h"

using namespace edgequant::quant;

namespace {

// Laplacian samples, plus edge values: zeros of both signs, exact grid points and midpoints,
// the range ends and values far outside it.
template <class T>
std::vector<T> test_values(double step, int64_t n) {
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> magnitude(8.0);
  std::vector<T> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(static_cast<T>((i % 2 ? -1 : 1) * magnitude(rng)));
  for (int k = -40; k <= 40; ++k) {
    values.push_back(static_cast<T>(k * step));
    values.push_back(static_cast<T>((k + 0.5) * step));
  }
  for (T v : {T(0), -T(0), T(1), T(-1), T(1e30), T(-1e30), std::numeric_limits<T>::denorm_min()}) values.push_back(v);
  return values;
}

template <class Op, class T>
void expect_fast_equals_reference(const Op& op) {
  auto values = test_values<T>(op.step, 300001);  // odd size: exercises the SIMD tail
  std::vector<int32_t> fast(values.size()), reference(values.size());
  encode(op, values.data(), static_cast<int64_t>(values.size()), fast.data());
  encode_reference(op, values.data(), static_cast<int64_t>(values.size()), reference.data());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(fast[i], reference[i]) << "index " << i << " value " << std::hexfloat << values[i];
  }
  std::vector<float> fused(values.size()), decoded(values.size());
  quantize(op, values.data(), static_cast<int64_t>(values.size()), fused.data());
  EXPECT_EQ(decode(op, fast.data(), static_cast<int64_t>(fast.size()), decoded.data()), 0);
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(fused[i], decoded[i]) << "index " << i;
}

}  // namespace

TEST(Uniform, MidtreadFastMatchesReference) {
  expect_fast_equals_reference<Midtread, float>(Midtread(256, 1.0));
  expect_fast_equals_reference<Midtread, double>(Midtread(1 << 24, 0.5));
}

TEST(Uniform, MidriseFastMatchesReference) {
  expect_fast_equals_reference<Midrise, float>(Midrise(256, 1.0));
  expect_fast_equals_reference<Midrise, double>(Midrise(4, 2.0));
}

TEST(Uniform, DeadzoneFastMatchesReference) {
  for (double delta : {0.0, 0.1, 0.25, 0.4, 0.5, 0.7, 0.99}) {
    expect_fast_equals_reference<Deadzone, float>(Deadzone(512, delta, 1.0));
    expect_fast_equals_reference<Deadzone, double>(Deadzone(64, delta, 0.25));
  }
}

TEST(Uniform, MuLawFastMatchesReference) {
  expect_fast_equals_reference<MuLaw, float>(MuLaw(256, 255.0, 1.0));
  expect_fast_equals_reference<MuLaw, double>(MuLaw(1 << 12, 10.0, 0.3));
}

TEST(Uniform, NonFiniteInputsAreCountedAndMapWithoutUndefinedBehaviour) {
  Midtread op(16, 1.0);
  std::vector<float> values = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(), 0.25f};
  std::vector<int32_t> symbols(values.size());
  EXPECT_EQ(encode(op, values.data(), 5, symbols.data()), 3);
  EXPECT_EQ(symbols[1], 0);
  EXPECT_EQ(symbols[2], 8);
  EXPECT_EQ(symbols[3], -8);
}

TEST(Uniform, DecodeCountsSymbolsOutsideTheAlphabet) {
  Midrise op(8, 1.0);
  std::vector<int32_t> symbols = {1, -4, 0, 5, 4};
  std::vector<float> out(symbols.size());
  EXPECT_EQ(decode(op, symbols.data(), 5, out.data()), 2);  // 0 (no zero level) and 5 (> L/2)
}

TEST(Uniform, InvalidParametersThrow) {
  EXPECT_THROW(Midtread(1, 1.0), edgequant::InvalidArgument);
  EXPECT_THROW(Midtread((1 << 24) + 1, 1.0), edgequant::InvalidArgument);
  EXPECT_THROW(Midrise(16, 0.0), edgequant::InvalidArgument);
  EXPECT_THROW(Deadzone(16, 1.0, 1.0), edgequant::InvalidArgument);
  EXPECT_THROW(MuLaw(16, -1.0, 1.0), edgequant::InvalidArgument);
}

TEST(Uniform, MuLawTableDecodesLikeTheFormulaAndClampsInvalidSymbols) {
  MuLaw tabulated(512, 255.0, 0.8);
  ASSERT_NE(tabulated.magnitude_table, nullptr);
  for (int32_t q = -256; q <= 256; ++q) {
    double magnitude = 0.8 / 255.0 * std::expm1(tabulated.step * std::abs(q) / 0.8 * std::log1p(255.0));
    EXPECT_EQ(tabulated.decode(q), static_cast<float>(q < 0 ? -magnitude : magnitude)) << q;
  }
  std::vector<int32_t> invalid = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 257};
  std::vector<float> out(invalid.size());
  EXPECT_EQ(decode(tabulated, invalid.data(), 3, out.data()), 3);
  MuLaw formula(1 << 20, 255.0, 0.8);  // too many levels for a table
  EXPECT_EQ(formula.magnitude_table, nullptr);
  EXPECT_EQ(formula.decode(-7), -formula.expand(7));
}
