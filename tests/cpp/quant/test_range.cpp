// The integer-domain min/max reduction against std::min/std::max over finite values.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "quant/range.h"

using namespace edgequant::quant;

template <class T>
void expect_range_matches(const std::vector<T>& values) {
  T lo = std::numeric_limits<T>::infinity(), hi = -std::numeric_limits<T>::infinity();
  int64_t bad = 0;
  for (T v : values) {
    if (!std::isfinite(v)) {
      ++bad;
      continue;
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  Range range = tensor_range(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_EQ(range.non_finite, bad);
  if (bad < static_cast<int64_t>(values.size())) {
    EXPECT_EQ(range.min, static_cast<double>(lo));
    EXPECT_EQ(range.max, static_cast<double>(hi));
  }
}

TEST(Range, MatchesScalarMinMax) {
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0.3, 2.0);
  for (int64_t n : {1, 7, 64, 1000, 300001}) {
    std::vector<float> f(n);
    std::vector<double> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = f[i] = static_cast<float>(normal(rng));
    expect_range_matches(f);
    expect_range_matches(d);
  }
}

TEST(Range, SkipsNonFiniteAndHandlesSignedZerosAndSubnormals) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  expect_range_matches(std::vector<float>{nan, -0.0f, 0.0f, inf, -inf});
  expect_range_matches(std::vector<float>{std::numeric_limits<float>::denorm_min(), -1e-42f, nan});
  expect_range_matches(std::vector<float>{-3.0f, -5.0f, -1.0f});
  Range all_bad = tensor_range(std::vector<float>{nan, inf}.data(), 2);
  EXPECT_EQ(all_bad.non_finite, 2);
  EXPECT_EQ(all_bad.max_abs, 0.0);
}
