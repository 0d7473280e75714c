// The prune-quantize fit (one read of the weights: std, max|W|, non-finite count) against plain loops
// written from SPEC §1: population std in long double over the finite values, max|x| over them.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quant/prune_quantize.h"

using namespace edgequant::quant;

template <class T>
void expect_fit_matches(const std::vector<T>& values, double gamma, int bits, double rel = 1e-13) {
  long double sum = 0, squares = 0;
  double max_abs = 0;
  int64_t count = 0, bad = 0;
  for (T v : values) {
    if (!std::isfinite(v)) {
      ++bad;
      continue;
    }
    sum += v;
    ++count;
    max_abs = std::max(max_abs, std::abs(static_cast<double>(v)));
  }
  const long double mean = count ? sum / count : 0;
  for (T v : values)
    if (std::isfinite(v)) squares += (v - mean) * (v - mean);
  const double std_ref = count ? static_cast<double>(std::sqrt(squares / count)) : 0.0;
  PruneQuantizeFit fit = fit_prune_quantize(values.data(), static_cast<int64_t>(values.size()), gamma, bits);
  EXPECT_EQ(fit.non_finite, bad);
  EXPECT_EQ(fit.max_abs, max_abs);
  EXPECT_NEAR(fit.std, std_ref, rel * std_ref) << "n = " << values.size();
  EXPECT_NEAR(fit.op.threshold, gamma * std_ref, rel * gamma * std_ref);
  const double top = (1 << (bits - 1)) - 1;
  const double max_kept = max_abs >= gamma * std_ref ? max_abs : 0.0;
  if (max_kept - gamma * std_ref > 0) EXPECT_NEAR(fit.op.step, (max_kept - gamma * std_ref) / top, 1e-12 * max_kept);
}

TEST(PruneQuantizeFit, MatchesPlainLoopsAcrossBlockAndThreadBoundaries) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.02, 0.05);
  for (int64_t n : {1, 2, 2047, 2048, 2049, 6145, 65536 * 3 + 7}) {
    std::vector<float> f(n);
    std::vector<double> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = f[i] = static_cast<float>(normal(rng));
    expect_fit_matches(f, 0.375, 8);
    expect_fit_matches(d, 0.625, 4);
  }
}

TEST(PruneQuantizeFit, SkipsNonFiniteAndHandlesEmptyAndOffsets) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> mixed(5000, 0.5f);
  for (int64_t i = 0; i < 5000; ++i) mixed[i] = static_cast<float>(i % 97) * 0.01f - 0.3f;
  mixed[0] = nan;
  mixed[2048] = inf;
  mixed[4999] = -inf;
  expect_fit_matches(mixed, 0.5, 8);
  PruneQuantizeFit all_bad = fit_prune_quantize(std::vector<float>{nan, inf}.data(), 2, 0.5, 8);
  EXPECT_EQ(all_bad.non_finite, 2);
  EXPECT_EQ(all_bad.std, 0.0);
  EXPECT_EQ(all_bad.max_abs, 0.0);
  PruneQuantizeFit empty = fit_prune_quantize(static_cast<const float*>(nullptr), 0, 0.5, 8);
  EXPECT_EQ(empty.std, 0.0);
  EXPECT_EQ(empty.op.step, 1.0);  // nothing survives: the documented fallback
  // 1e4 + 1e-3 noise: a one-pass sum of squares loses ~1e-2 of the variance to cancellation; the
  // data's own rounding (ulp 1.8e-12 at 1e4) limits any method to ~1e-11 here
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 1e-3);
  std::vector<double> offset(300000);
  for (double& v : offset) v = 1e4 + noise(rng);
  expect_fit_matches(offset, 1.0, 8, 1e-9);
}
