// The portable vectorised float kernels (backend/fast_kernels.h) against double-precision loops
// written from the formulas: every [outer, len, inner] view with sizes around the vector width and
// the 256-column tile, NaN / ±inf / huge inputs, e^x over the whole float range.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/fast_kernels.h"
#include "backend/vector_exp.h"

namespace edgequant::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> softmax_reference(const std::vector<float>& x, int64_t outer, int64_t len, int64_t inner, bool log) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return o * len * inner + k * inner + i; };
      double peak = -INFINITY;
      for (int64_t k = 0; k < len; ++k)
        if (x[at(k)] > peak) peak = x[at(k)];  // NaN skipped here, propagated by the sum
      double total = 0;
      for (int64_t k = 0; k < len; ++k) total += std::exp(x[at(k)] - peak);
      for (int64_t k = 0; k < len; ++k)
        y[at(k)] = static_cast<float>(log ? x[at(k)] - peak - std::log(total) : std::exp(x[at(k)] - peak) / total);
    }
  return y;
}

void expect_close(float got, float want, double rtol, double atol, const std::string& where) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << where << ": want NaN, got " << got;
  } else if (std::isinf(want)) {
    EXPECT_EQ(got, want) << where;
  } else {
    EXPECT_NEAR(got, want, atol + rtol * std::fabs(want)) << where;
  }
}

TEST(FastKernels, SoftmaxMatchesTheFormulaOnEveryView) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 5.f);
  const int64_t sizes[][3] = {{1, 16, 33600}, {2, 3, 1}, {3, 17, 257}, {1, 1000, 1}, {5, 31, 1}, {2, 1, 7}, {1, 4, 300}, {40, 6625, 1}, {3, 70, 1}};
  for (const auto& s : sizes)
    for (bool log : {false, true}) {
      std::vector<float> x(s[0] * s[1] * s[2]);
      for (float& v : x) v = normal(rng);
      std::vector<float> y(x.size());
      softmax_f32(x.data(), y.data(), s[0], s[1], s[2], log);
      const auto want = softmax_reference(x, s[0], s[1], s[2], log);
      for (size_t k = 0; k < x.size(); ++k) {
        expect_close(y[k], want[k], 2e-6, log ? 2e-6 : 1e-9, "view " + std::to_string(s[0]) + "x" +
                                                             std::to_string(s[1]) + "x" + std::to_string(s[2]));
        if (HasFailure()) return;
      }
    }
}

// The row's max is kept in 32 lanes, then the tail: a peak in any lane or the tail is found (a missed one
// would leave e^(x - max) at e^100, past the float range, instead of 1 at the peak and 0 elsewhere).
TEST(FastKernels, SoftmaxFindsThePeakInEveryLaneAndTheTail) {
  for (int64_t len : {int64_t{31}, int64_t{32}, int64_t{70}}) {
    for (int64_t peak = 0; peak < len; ++peak) {
      std::vector<float> x(len, 0.f), y(len);
      x[peak] = 100.f;
      softmax_f32(x.data(), y.data(), 1, len, 1, false);
      for (int64_t k = 0; k < len; ++k) ASSERT_EQ(y[k], k == peak ? 1.f : 0.f) << len << " " << peak << " " << k;
    }
  }
}

TEST(FastKernels, SoftmaxSpecialValues) {
  // columns (inner = 8) over len = 3: NaN, +inf, only -inf, one -inf, huge, zeros, far apart
  const std::vector<float> rows[3] = {{kNaN, kInf, -kInf, -kInf, 3e38f, 0.f, 100.f, 1.f},
                                      {1.f, 1.f, -kInf, 2.f, -3e38f, 0.f, 10.f, 1.f},
                                      {2.f, 2.f, -kInf, 3.f, 0.f, 0.f, -100.f, 1.f}};
  for (int64_t inner : {int64_t{1}, int64_t{8}}) {  // contiguous rows and strided columns
    std::vector<float> x(24);
    for (int64_t c = 0; c < 8; ++c)
      for (int64_t k = 0; k < 3; ++k) x[inner == 1 ? c * 3 + k : k * 8 + c] = rows[k][c];
    const int64_t outer = inner == 1 ? 8 : 1;
    std::vector<float> y(24);
    softmax_f32(x.data(), y.data(), outer, 3, inner, false);
    const auto want = softmax_reference(x, outer, 3, inner, false);
    for (size_t k = 0; k < x.size(); ++k) expect_close(y[k], want[k], 2e-6, 1e-9, "index " + std::to_string(k));
    auto at = [&](int64_t c, int64_t k) { return y[inner == 1 ? c * 3 + k : k * 8 + c]; };
    for (int64_t k = 0; k < 3; ++k) {
      EXPECT_TRUE(std::isnan(at(0, k)) && std::isnan(at(1, k)) && std::isnan(at(2, k)));
      EXPECT_FLOAT_EQ(at(5, k), 1.f / 3);
    }
    EXPECT_EQ(at(3, 0), 0.f);
    EXPECT_EQ(at(4, 0), 1.f);
    EXPECT_EQ(at(4, 1), 0.f);
  }
}

TEST(FastKernels, ExpOverTheFloatRange) {
  for (float x = -110.f; x < 90.f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    const float got = fast_exp(x);
    if (want > std::numeric_limits<float>::max()) {
      EXPECT_EQ(got, kInf) << x;
    } else if (want >= std::numeric_limits<float>::min()) {
      EXPECT_NEAR(got, want, 4e-7 * want) << x;
    } else {
      EXPECT_NEAR(got, want, 1.5e-45) << x;  // subnormal results: within their spacing
    }
  }
  EXPECT_EQ(fast_exp(0.f), 1.f);
  EXPECT_EQ(fast_exp(-kInf), 0.f);
  EXPECT_EQ(fast_exp(kInf), kInf);
  EXPECT_TRUE(std::isnan(fast_exp(kNaN)));
}

// Softmax's e^(x − max): arguments <= 0 only, 0 below ln(FLT_MIN) (where e^x is below every normal float).
TEST(FastKernels, ExpOfNonPositiveArguments) {
  for (float x = -110.f; x <= 0.f; x += 0.0071f) {
    const double want = std::exp(static_cast<double>(x));
    const float got = exp_nonpositive_lane(x);
    if (x < -87.33f) {
      EXPECT_EQ(got, 0.f) << x;
    } else if (want >= std::numeric_limits<float>::min()) {
      EXPECT_NEAR(got, want, 4e-7 * want) << x;
    } else {
      EXPECT_NEAR(got, want, 1.5e-45) << x;  // the few subnormal results just above the cut
    }
  }
  EXPECT_EQ(exp_nonpositive_lane(0.f), 1.f);
  EXPECT_EQ(exp_nonpositive_lane(-0.f), 1.f);
  EXPECT_EQ(exp_nonpositive_lane(-kInf), 0.f);
  EXPECT_TRUE(std::isnan(exp_nonpositive_lane(kNaN)));
}

// The engine's input check: any NaN or ±inf anywhere (each 4096-element block, the last element, a
// short tail), and none in finite data up to the largest float.
TEST(FastKernels, AllFinite) {
  std::vector<float> x(10000, 1.f);
  x[3] = std::numeric_limits<float>::max(), x[4] = -std::numeric_limits<float>::max(), x[5] = 1e-45f;
  EXPECT_TRUE(all_finite(x.data(), 0));
  EXPECT_TRUE(all_finite(x.data(), static_cast<int64_t>(x.size())));
  for (float bad : {kNaN, kInf, -kInf, -kNaN})
    for (size_t at : {size_t{0}, size_t{4095}, size_t{4096}, size_t{8191}, size_t{9999}}) {
      std::vector<float> y = x;
      y[at] = bad;
      EXPECT_FALSE(all_finite(y.data(), static_cast<int64_t>(y.size()))) << bad << " at " << at;
      EXPECT_TRUE(all_finite(y.data(), static_cast<int64_t>(at))) << "before " << at;
    }
}

TEST(FastKernels, SigmoidAndChannelSum) {
  const std::vector<float> x = {0.f, -0.f, 1.f, -1.f, 20.f, -20.f, 89.f, -89.f, 3e38f, -3e38f, kInf, -kInf, kNaN,
                                1e-30f, 5.f, -5.f, 0.5f};
  std::vector<float> y(x.size());
  sigmoid_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t k = 0; k < x.size(); ++k)
    expect_close(y[k], static_cast<float>(1 / (1 + std::exp(-static_cast<double>(x[k])))), 1e-6, 1e-30,
                 "sigmoid " + std::to_string(x[k]));
  // [batch 2, channels 3, pixels 5]
  std::vector<float> src(30), dst(10);
  for (size_t k = 0; k < src.size(); ++k) src[k] = 0.25f * static_cast<float>(k) - 3.f;
  const float weights[3] = {0.f, 1.f, 2.f};
  channel_sum_f32(src.data(), dst.data(), 2, 3, 5, weights, 0.5f);
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 5; ++p) {
      double want = 0.5;
      for (int c = 0; c < 3; ++c) want += weights[c] * src[(n * 3 + c) * 5 + p];
      EXPECT_NEAR(dst[n * 5 + p], want, 1e-6) << n << "," << p;
    }
}

}  // namespace
}  // namespace edgequant::engine
