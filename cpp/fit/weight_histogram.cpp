#include "fit/weight_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "common/error.h"
#include "common/parallel.h"

namespace edgequant::fit {
namespace {

// splitmix64: a fixed, well-mixed index stream, so the sample (and the fit) is reproducible.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <class T>
std::vector<double> quantile_sample(const T* src, int64_t n) {
  if (n <= kQuantileSample) return std::vector<double>(src, src + n);
  std::vector<double> sample(kQuantileSample);
  parallel_for(kQuantileSample, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) sample[i] = static_cast<double>(src[mix(i) % static_cast<uint64_t>(n)]);
  });
  return sample;
}

// The q-quantile of values (reordered in place), with linear interpolation like numpy.
double quantile(std::vector<double>& values, double q) {
  double position = q * static_cast<double>(values.size() - 1);
  auto below = static_cast<size_t>(std::floor(position));
  std::nth_element(values.begin(), values.begin() + below, values.end());
  double low = values[below];
  if (below + 1 >= values.size()) return low;
  double high = *std::min_element(values.begin() + below + 1, values.end());
  return low + (position - below) * (high - low);
}

struct Partial {
  std::vector<int64_t> counts;
  std::vector<double> outside;
  int64_t below = 0, above = 0;
};

// Count, mean, std, min and max in one pass. Sums are taken relative to the first value
// (weights are near 0 anyway), which keeps the one-pass variance free of cancellation.
template <class T>
void summarise(const T* src, int64_t n, DataSummary& s) {
  const double shift = std::isfinite(static_cast<double>(src[0])) ? static_cast<double>(src[0]) : 0.0;
  std::mutex mutex;
  double sum = 0, squares = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  parallel_for(n, [&](int64_t begin, int64_t end) {
    double local_sum = 0, local_squares = 0;
    T lo = std::numeric_limits<T>::infinity(), hi = -std::numeric_limits<T>::infinity();
    int64_t bad = 0;
    for (int64_t i = begin; i < end; ++i) {
      T x = src[i];
      if (!std::isfinite(x)) {
        ++bad;
        continue;
      }
      double d = static_cast<double>(x) - shift;
      local_sum += d;
      local_squares += d * d;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    std::lock_guard<std::mutex> lock(mutex);
    sum += local_sum;
    squares += local_squares;
    s.non_finite += bad;
    s.min = std::min(s.min, static_cast<double>(lo));
    s.max = std::max(s.max, static_cast<double>(hi));
  });
  s.count = n - s.non_finite;
  if (s.count == 0) return;
  const double count = static_cast<double>(s.count), mean_shifted = sum / count;
  s.mean = shift + mean_shifted;
  s.std = std::sqrt(std::max(0.0, squares / count - mean_shifted * mean_shifted));
}

}  // namespace

template <class T>
WeightHistogram build_weight_histogram(const T* src, int64_t n, const HistogramOptions& options) {
  require(n > 0, "x is empty");
  require(options.bins >= 0 && options.bins <= kMaxBins, "bins must be in [1, 100000] (or 0 for Freedman-Diaconis)");
  require(options.mass > 0 && options.mass <= 1, "mass must be in (0, 1]");
  WeightHistogram histogram;
  DataSummary& s = histogram.summary;
  summarise(src, n, s);
  if (s.non_finite > 0) return histogram;
  require(s.max > s.min, "x is constant (standard deviation 0): no distribution can be fitted");

  std::vector<double> sample = quantile_sample(src, n);
  s.median = quantile(sample, 0.5);
  s.q25 = quantile(sample, 0.25);
  s.q75 = quantile(sample, 0.75);
  double deviation_sum = 0;
  for (double x : sample) deviation_sum += std::abs(x - s.median);
  s.mean_abs_deviation = deviation_sum / static_cast<double>(sample.size());
  double iqr = s.q75 - s.q25;
  s.spread = iqr > 0 ? iqr / 1.349 : (s.std > 0 ? s.std : s.max - s.min);

  double lo, hi;
  if (options.center) {
    double radius = std::max(s.max - s.mean, s.mean - s.min);
    if (options.mass < 1) {
      for (double& x : sample) x = std::abs(x - s.mean);
      radius = quantile(sample, options.mass);
    }
    lo = s.mean - radius;
    hi = s.mean + radius;
  } else {
    lo = options.mass < 1 ? quantile(sample, 0.5 * (1 - options.mass)) : s.min;
    hi = options.mass < 1 ? quantile(sample, 0.5 * (1 + options.mass)) : s.max;
  }
  if (!(hi > lo)) {  // more than `mass` of the weights share one value (e.g. pruned to 0)
    lo = s.min;
    hi = s.max;
  }

  int64_t bins = options.bins;
  if (bins == 0) {
    double width = (iqr > 0 ? 2.0 * iqr : 3.49 * s.std) * std::cbrt(1.0 / static_cast<double>(s.count));
    bins = width > 0 ? static_cast<int64_t>(std::ceil((hi - lo) / width)) : 1;
    bins = std::clamp<int64_t>(bins, 10, kMaxBins);
  }
  const int64_t per_bin = std::max<int64_t>(1, (kMinFineBins + bins - 1) / bins);
  const int64_t fine_bins = bins * per_bin;
  const double fine_scale = static_cast<double>(fine_bins) / (hi - lo);

  // One pass: per-chunk fine counts, merged in chunk order (outside values keep input order).
  std::map<int64_t, Partial> partials;
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    Partial part;
    part.counts.assign(fine_bins, 0);
    for (int64_t i = begin; i < end; ++i) {
      double x = static_cast<double>(src[i]);
      if (x < lo || x > hi) {
        part.below += x < lo;
        part.above += x > hi;
        part.outside.push_back(x);
        continue;
      }
      int64_t bin = std::min(static_cast<int64_t>((x - lo) * fine_scale), fine_bins - 1);
      part.counts[bin] += 1;
    }
    std::lock_guard<std::mutex> lock(mutex);
    partials.emplace(begin, std::move(part));
  });

  std::vector<int64_t> fine_counts(fine_bins, 0);
  for (auto& [begin, part] : partials) {
    for (int64_t b = 0; b < fine_bins; ++b) {
      fine_counts[b] += part.counts[b];
    }
    histogram.below += part.below;
    histogram.above += part.above;
    histogram.outside.insert(histogram.outside.end(), part.outside.begin(), part.outside.end());
  }

  histogram.edges.resize(bins + 1);
  for (int64_t i = 0; i <= bins; ++i) histogram.edges[i] = lo + (hi - lo) * static_cast<double>(i) / bins;
  histogram.edges[bins] = hi;
  histogram.counts.assign(bins, 0);
  for (int64_t b = 0; b < fine_bins; ++b) {
    histogram.counts[b / per_bin] += fine_counts[b];
    if (fine_counts[b] == 0) continue;
    histogram.fine_counts.push_back(fine_counts[b]);
    histogram.fine_centers.push_back(lo + (static_cast<double>(b) + 0.5) / fine_scale);
  }
  return histogram;
}

template WeightHistogram build_weight_histogram(const float*, int64_t, const HistogramOptions&);
template WeightHistogram build_weight_histogram(const double*, int64_t, const HistogramOptions&);

}  // namespace edgequant::fit
