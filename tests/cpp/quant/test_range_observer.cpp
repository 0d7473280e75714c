// The streaming range observer against the scalar references on the full sorted array:
// minmax exact, percentile within one bin width, entropy within one KL candidate step (and its
// clipping bound exact), mse within 1 % of the reference's squared error; edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/error.h"
#include "quant/range_observer.h"
#include "quant/range_search.h"

using namespace edgequant;
using namespace edgequant::quant;

namespace {

RangeStrategy strategy(RangeMethod method, bool symmetric = false, int64_t levels = 255) {
  RangeStrategy s;
  s.method = method;
  s.symmetric = symmetric;
  s.levels = levels;
  return s;
}

// Observed in batches of growing range (the histogram widens several times).
RangeObserver observe_in_batches(const std::vector<float>& values, int batches = 5) {
  RangeObserver observer;
  const size_t step = (values.size() + batches - 1) / batches;
  for (size_t start = 0; start < values.size(); start += step)
    observer.observe(values.data() + start, static_cast<int64_t>(std::min(step, values.size() - start)));
  return observer;
}

std::vector<double> as_double(const std::vector<float>& values) { return {values.begin(), values.end()}; }

// The exact squared error of quantizing every value on the grid of `range`.
double exact_error(const std::vector<float>& values, const RangeStrategy& s, ClipRange range) {
  const range_search::Grid grid = range_search::grid_for(s, range.lo, range.hi);
  double error = 0;
  for (float v : values)
    if (std::isfinite(v)) error += std::pow(v - range_search::quantize(v, grid), 2);
  return error;
}

struct Distribution {
  const char* name;
  std::vector<float> values;
};

std::vector<Distribution> distributions() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.2f, 1.0f);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<Distribution> out(5);
  out[0].name = "normal, growing scale";
  out[1].name = "relu (half zeros)";
  out[2].name = "laplace tail";
  out[3].name = "negative only";
  out[4].name = "normal + one huge outlier";
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    const float scale = 1.0f + 4.0f * static_cast<float>(i) / n;  // later batches wider
    const float x = normal(rng) * scale;
    out[0].values.push_back(x);
    out[1].values.push_back(std::max(0.0f, x));
    out[2].values.push_back((i % 2 ? 1 : -1) * exponential(rng) * scale);
    out[3].values.push_back(-std::abs(x));
    out[4].values.push_back(x / scale);
  }
  out[4].values[n / 2] = 1e6f;
  return out;
}

}  // namespace

TEST(RangeObserver, MinmaxIsExactAndIncludesZero) {
  for (const Distribution& d : distributions()) {
    const RangeObserver observer = observe_in_batches(d.values);
    for (bool symmetric : {false, true}) {
      const ClipRange streamed = observer.range(strategy(RangeMethod::minmax, symmetric));
      const ClipRange reference = range_reference(as_double(d.values), strategy(RangeMethod::minmax, symmetric));
      EXPECT_EQ(streamed.lo, reference.lo) << d.name;
      EXPECT_EQ(streamed.hi, reference.hi) << d.name;
      EXPECT_LE(streamed.lo, 0.0);
      EXPECT_GE(streamed.hi, 0.0);
    }
  }
}

TEST(RangeObserver, PercentileWithinOneBinWidth) {
  for (const Distribution& d : distributions())
    for (bool symmetric : {false, true})
      for (double p : {50.0, 99.0, 99.99, 100.0}) {
        RangeStrategy s = strategy(RangeMethod::percentile, symmetric);
        s.percentile = p;
        const RangeObserver observer = observe_in_batches(d.values);
        const ClipRange streamed = observer.range(s), reference = range_reference(as_double(d.values), s);
        EXPECT_NEAR(streamed.lo, reference.lo, observer.bin_width()) << d.name << " p=" << p;
        EXPECT_NEAR(streamed.hi, reference.hi, observer.bin_width()) << d.name << " p=" << p;
        if (p == 100.0) EXPECT_EQ(streamed.hi, reference.hi) << "the maximum is exact";
      }
}

TEST(RangeObserver, EntropyNearTheReferenceAndNeverClipsMoreThanItsBound) {
  for (const Distribution& d : distributions()) {
    const RangeObserver observer = observe_in_batches(d.values);
    const RangeStrategy s = strategy(RangeMethod::entropy);
    const ClipRange streamed = observer.range(s), reference = range_reference(as_double(d.values), s);
    const double bound = std::max(-observer.min(), observer.max());
    const double candidate_step = 16 * bound / kEntropyBins;  // the KL search's spacing
    EXPECT_NEAR(streamed.hi, reference.hi, candidate_step) << d.name;
    EXPECT_NEAR(streamed.lo, reference.lo, candidate_step) << d.name;
    int64_t nonzero = 0, clipped = 0;
    for (float v : d.values) {
      nonzero += v != 0;
      clipped += v > streamed.hi || v < streamed.lo;
    }
    EXPECT_LE(clipped, static_cast<int64_t>(nonzero * kEntropyMaxClipped)) << d.name;
  }
}

TEST(RangeObserver, EntropyClipsANegligibleFarOutlier) {
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values;
  for (int i = 0; i < 200000; ++i) values.push_back(std::abs(normal(rng)));
  values.push_back(1000.0f);
  const ClipRange range = observe_in_batches(values).range(strategy(RangeMethod::entropy));
  EXPECT_EQ(range.lo, 0.0);
  EXPECT_GT(range.hi, 3.0);
  EXPECT_LE(range.hi, 0.13 * 1000.0);  // the KL search goes down to 255 of 2048 bins
}

TEST(RangeObserver, MseWithinOnePercentOfTheReferenceError) {
  for (const Distribution& d : distributions())
    for (bool symmetric : {false, true}) {
      const RangeStrategy s = strategy(RangeMethod::mse, symmetric, symmetric ? 15 : 255);
      const ClipRange streamed = observe_in_batches(d.values).range(s);
      const ClipRange reference = range_reference(as_double(d.values), s);
      EXPECT_LE(exact_error(d.values, s, streamed), 1.01 * exact_error(d.values, s, reference))
          << d.name << (symmetric ? " symmetric" : "");
    }
}

TEST(RangeObserver, WideningMergesBinsExactly) {
  std::vector<float> values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::sin(static_cast<float>(i)) * (i < 2500 ? 0.01f : 300.0f));
  RangeObserver batched = observe_in_batches(values, 2), whole;
  whole.observe(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_EQ(batched.bin_width(), whole.bin_width());
  EXPECT_EQ(batched.positive_bins(), whole.positive_bins());
  EXPECT_EQ(batched.negative_bins(), whole.negative_bins());
  EXPECT_EQ(batched.zeros(), whole.zeros());
}

TEST(RangeObserver, EdgeCases) {
  const std::vector<std::vector<float>> cases = {
      {}, {0, 0, 0, 0}, {3.5f}, {-2, -2, -2}, {5, 5, 5, 5, 5, 5}, {1e-42f, -3e-43f, 0}, {3e38f, -1e38f, 1}};
  for (const auto& values : cases)
    for (RangeMethod method : {RangeMethod::minmax, RangeMethod::percentile, RangeMethod::entropy, RangeMethod::mse})
      for (bool symmetric : {false, true}) {
        const RangeStrategy s = strategy(method, symmetric);
        RangeObserver observer;
        observer.observe(values.data(), static_cast<int64_t>(values.size()));
        const ClipRange streamed = observer.range(s), reference = range_reference(as_double(values), s);
        const double tolerance = method == RangeMethod::minmax ? 0.0 : observer.bin_width();
        EXPECT_NEAR(streamed.lo, reference.lo, tolerance) << range_method_name(method) << " n=" << values.size();
        EXPECT_NEAR(streamed.hi, reference.hi, tolerance) << range_method_name(method) << " n=" << values.size();
        EXPECT_TRUE(std::isfinite(streamed.lo) && std::isfinite(streamed.hi));
        EXPECT_LE(streamed.lo, 0.0);
        EXPECT_GE(streamed.hi, 0.0);
      }
  RangeObserver empty;
  EXPECT_EQ(empty.range(strategy(RangeMethod::mse)).hi, 0.0);
  EXPECT_EQ(empty.count(), 0);
}

TEST(RangeObserver, NonFiniteValuesAreSkippedAndCounted) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> dirty = {1, nan, -2, inf, 0.5f, -inf, 3}, clean = {1, -2, 0.5f, 3};
  RangeObserver a, b;
  a.observe(dirty.data(), 7);
  b.observe(clean.data(), 4);
  EXPECT_EQ(a.non_finite(), 3);
  EXPECT_EQ(a.count(), 4);
  EXPECT_EQ(a.positive_bins(), b.positive_bins());
  for (RangeMethod method : {RangeMethod::minmax, RangeMethod::percentile, RangeMethod::entropy, RangeMethod::mse}) {
    EXPECT_EQ(a.range(strategy(method)).lo, b.range(strategy(method)).lo);
    EXPECT_EQ(a.range(strategy(method)).hi, b.range(strategy(method)).hi);
  }
  RangeObserver only_nan;
  only_nan.observe(&nan, 1);
  EXPECT_EQ(only_nan.range(strategy(RangeMethod::entropy)).hi, 0.0);
}

TEST(RangeObserver, DoublesAndHugeRanges) {
  const std::vector<double> values = {1e300, -1e-300, 0, 2.5, -7e299};
  RangeObserver observer;
  observer.observe(values.data(), 5);
  EXPECT_EQ(observer.range(strategy(RangeMethod::minmax)).hi, 1e300);
  EXPECT_EQ(observer.range(strategy(RangeMethod::minmax)).lo, -7e299);
  RangeStrategy s = strategy(RangeMethod::percentile);
  s.percentile = 50;
  EXPECT_NEAR(observer.range(s).hi, range_reference(values, s).hi, observer.bin_width());
}

TEST(RangeObserver, BadStrategiesAreRefused) {
  RangeObserver observer, no_histogram(false);
  const float x[] = {1, -1, 2};
  observer.observe(x, 3);
  no_histogram.observe(x, 3);
  RangeStrategy s = strategy(RangeMethod::percentile);
  s.percentile = 0;
  EXPECT_THROW(observer.range(s), InvalidArgument);
  s.percentile = std::nan("");
  EXPECT_THROW(observer.range(s), InvalidArgument);
  EXPECT_THROW(observer.range(strategy(RangeMethod::mse, false, 100)), InvalidArgument);  // not 2^b - 1
  EXPECT_THROW(observer.range(strategy(RangeMethod::mse, true, 1)), InvalidArgument);
  EXPECT_THROW(no_histogram.range(strategy(RangeMethod::entropy)), InvalidArgument);
  EXPECT_EQ(no_histogram.range(strategy(RangeMethod::minmax)).hi, 2.0);
  EXPECT_THROW(range_method_from_name("kl"), InvalidArgument);
  EXPECT_EQ(range_method_from_name("mse"), RangeMethod::mse);
}

TEST(RangeSearch, SquaredErrorIntegralMatchesARiemannSum) {
  using namespace range_search;
  for (const Grid& grid : {grid_for(strategy(RangeMethod::mse), -1.3, 2.0),
                           grid_for(strategy(RangeMethod::mse, true, 7), -1.0, 1.0)}) {
    for (auto [a, b] : {std::pair{-3.0, 4.0}, {0.01, 0.02}, {-0.3, 0.9}, {1.9, 2.6}, {-5.0, -4.0}}) {
      const int steps = 200000;
      double sum = 0;
      for (int i = 0; i < steps; ++i) {
        const double x = a + (i + 0.5) * (b - a) / steps;
        sum += std::pow(x - quantize(x, grid), 2) * (b - a) / steps;
      }
      EXPECT_NEAR(squared_error_integral(a, b, grid), sum, 1e-6 * std::max(1.0, sum)) << a << " " << b;
    }
  }
}
