#include "quant/range_observer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/range.h"
#include "quant/range_search.h"

namespace edgequant::quant {

namespace {
constexpr int kBinsLog2 = 13;
static_assert(RangeObserver::kBins == 1 << kBinsLog2, "kBins must be 2^kBinsLog2");
}  // namespace

RangeMethod range_method_from_name(const std::string& name) {
  if (name == "minmax") return RangeMethod::minmax;
  if (name == "percentile") return RangeMethod::percentile;
  if (name == "entropy") return RangeMethod::entropy;
  if (name == "mse") return RangeMethod::mse;
  throw InvalidArgument("method must be 'minmax', 'percentile', 'entropy' or 'mse', got '" + name + "'");
}

const char* range_method_name(RangeMethod method) {
  switch (method) {
    case RangeMethod::percentile: return "percentile";
    case RangeMethod::entropy: return "entropy";
    case RangeMethod::mse: return "mse";
    default: return "minmax";
  }
}

void check_strategy(const RangeStrategy& strategy) {
  require(std::isfinite(strategy.percentile) && strategy.percentile > 0 && strategy.percentile <= 100,
          "percentile must be in (0, 100], got " + std::to_string(strategy.percentile));
  require(strategy.levels >= 2 && strategy.levels <= (int64_t{1} << 24),
          "levels must be in [2, 2^24], got " + std::to_string(strategy.levels));
  const int64_t codes = strategy.levels + 1;
  require(strategy.symmetric || ((codes & (codes - 1)) == 0 && codes <= 65536),
          "an asymmetric range's levels must be 2^bits - 1 (bits in [2, 16]), got " + std::to_string(strategy.levels));
}

double RangeObserver::bin_width() const { return std::ldexp(1.0, exponent_ - kBinsLog2); }

// Makes the histogram span [0, 2^e) with 2^e > max_abs: allocated on the first non-zero value,
// later doubled (bin pairs merged) as often as needed.
void RangeObserver::widen_to(double max_abs) {
  int e = 0;
  std::frexp(max_abs, &e);  // max_abs = f·2^e, f in [0.5, 1): max_abs < 2^e
  if (positive_.empty()) {
    positive_.assign(kBins, 0);
    negative_.assign(kBins, 0);
    exponent_ = e;
    return;
  }
  if (e <= exponent_) return;
  const int shift = std::min(e - exponent_, kBinsLog2 + 1);  // beyond: everything in bin 0
  for (std::vector<int64_t>* bins : {&positive_, &negative_})
    for (int j = 1; j < kBins; ++j) {  // j >> shift <= j: the target is already merged
      const int64_t count = (*bins)[j];
      (*bins)[j] = 0;
      (*bins)[j >> shift] += count;
    }
  exponent_ = e;
}

template <class T>
void RangeObserver::observe(const T* src, int64_t n) {
  if (n <= 0) return;
  const Range range = tensor_range(src, n);  // vectorised; NaN/Inf skipped and counted
  non_finite_ += range.non_finite;
  const int64_t finite = n - range.non_finite;
  if (finite == 0) return;
  min_ = std::min(min_, range.min);
  max_ = std::max(max_, range.max);
  if (!histogram_) {
    nonzero_ += finite;  // not told apart without a histogram
    return;
  }
  const double max_abs = std::max(-range.min, range.max);
  if (max_abs == 0) {
    zeros_ += finite;
    return;
  }
  widen_to(max_abs);
  // |x|·2^(kBinsLog2 - exponent) is exact (a power-of-two scale), so bin edges are exact; every
  // |x| < 2^exponent, so the index stays below kBins. Zeros land in positive bin 0, taken out below.
  const double scale = std::ldexp(1.0, kBinsLog2 - exponent_);
  const bool check = range.non_finite > 0;
  std::mutex mutex;
  int64_t zeros = 0;
  parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        std::vector<int64_t> bins(2 * kBins, 0);  // positive, then negative
        int64_t local_zeros = 0;
        for (int64_t i = begin; i < end; ++i) {
          const double x = static_cast<double>(src[i]);
          if (check && !std::isfinite(x)) continue;
          const double m = std::abs(x);
          ++bins[static_cast<int64_t>(m * scale) + (x < 0 ? kBins : 0)];
          local_zeros += m == 0;
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (int j = 0; j < kBins; ++j) {
          positive_[j] += bins[j];
          negative_[j] += bins[kBins + j];
        }
        zeros += local_zeros;
      },
      int64_t{1} << 18);
  positive_[0] -= zeros;
  zeros_ += zeros;
  nonzero_ += finite - zeros;
}

namespace {

using namespace range_search;

// The observer's histogram as the strategies read it.
class HistogramView {
 public:
  explicit HistogramView(const RangeObserver& o)
      : o_(o), width_(o.bin_width()), count_(o.count()), magnitudes_(RangeObserver::kBins) {
    for (int j = 0; j < RangeObserver::kBins; ++j) magnitudes_[j] = o.positive_bins()[j] + o.negative_bins()[j];
  }

  // The k-th smallest (0-based) signed value: negative bins from the largest magnitude down, the
  // zeros, positive bins up; within a bin of c values spread evenly. Within a bin width.
  double signed_order_statistic(int64_t k) const {
    // the extremes are exact (min() and max() hold 0 too, so only when they are values)
    if (k <= 0 && o_.min() < 0) return o_.min();
    if (k >= count_ - 1 && o_.max() > 0) return o_.max();
    const int bins = RangeObserver::kBins;
    for (int j = bins - 1; j >= 0; --j) {
      const int64_t c = o_.negative_bins()[j];
      if (k < c) return signed_clamp(spread(-(j + 1) * width_, -j * width_, k, c));
      k -= c;
    }
    if (k < o_.zeros()) return 0.0;
    k -= o_.zeros();
    for (int j = 0; j < bins; ++j) {
      const int64_t c = o_.positive_bins()[j];
      if (k < c) return signed_clamp(spread(j * width_, (j + 1) * width_, k, c));
      k -= c;
    }
    return o_.max();
  }

  // The k-th smallest |x| (zeros first).
  double magnitude_order_statistic(int64_t k) const {
    if (k >= count_ - 1) return bound();
    if (k < o_.zeros()) return 0.0;
    k -= o_.zeros();
    for (int j = 0; j < RangeObserver::kBins; ++j) {
      if (k < magnitudes_[j]) return std::min(bound(), spread(j * width_, (j + 1) * width_, k, magnitudes_[j]));
      k -= magnitudes_[j];
    }
    return bound();
  }

  // np.percentile's linear interpolation between the neighbouring order statistics.
  template <class OrderStatistic>
  double percentile(double p, OrderStatistic statistic) const {
    const double h = static_cast<double>(count_ - 1) * p / 100;
    const int64_t i = static_cast<int64_t>(std::floor(h));
    const double below = statistic(i), above = statistic(std::min(i + 1, count_ - 1));
    return below + (h - static_cast<double>(i)) * (above - below);
  }

  // The smallest bin edge with at most `k` non-zero magnitudes above it (exact: edges and bins are).
  double keeping_all_but(int64_t k) const {
    int64_t above = 0;
    for (int j = RangeObserver::kBins - 1; j >= 0; --j) {
      above += magnitudes_[j];
      if (above > k) return std::min(bound(), (j + 1) * width_);
    }
    return 0.0;
  }

  // The non-zero magnitudes on kEntropyBins bins over [0, bound] (np.histogram's): each fine bin
  // (at most half a coarse one wide) goes whole to the coarse bin of its centre, which keeps the
  // counts whole and empty bins empty, as the KL search's "non-empty bins" expect.
  std::vector<double> coarse_histogram() const {
    std::vector<double> coarse(kEntropyBins, 0.0);
    const double b = bound();
    for (int j = 0; j < RangeObserver::kBins; ++j) {
      if (!magnitudes_[j]) continue;
      const double centre = (j * width_ + std::min(b, (j + 1) * width_)) / 2;
      coarse[std::min(kEntropyBins - 1, static_cast<int>(centre / b * kEntropyBins))] += static_cast<double>(magnitudes_[j]);
    }
    return coarse;
  }

  // The expected squared error over the observed values, each bin's values spread evenly over
  // [its start, min(its end, the extreme on its side)].
  double squared_error(const Grid& grid) const {
    double error = 0;
    for (int sign = 0; sign < 2; ++sign) {
      const std::vector<int64_t>& bins = sign ? o_.negative_bins() : o_.positive_bins();
      const double extreme = sign ? -o_.min() : o_.max();
      for (int j = 0; j < RangeObserver::kBins; ++j) {
        if (!bins[j]) continue;
        const double c = static_cast<double>(bins[j]);
        const double start = j * width_, end = std::min(extreme, (j + 1) * width_);
        // values x = s·m for m in [start, end]; the grid is not symmetric, so integrate over x
        const double a = sign ? -end : start, b = sign ? -start : end;
        if (b > a) {
          error += c * squared_error_integral(a, b, grid) / (b - a);
        } else {
          const double e = a - quantize(a, grid);
          error += c * e * e;
        }
      }
    }
    return error;
  }

  double bound() const { return std::max(-o_.min(), o_.max()); }

 private:
  static double spread(double start, double end, int64_t k, int64_t c) {
    return start + (static_cast<double>(k) + 0.5) / static_cast<double>(c) * (end - start);
  }
  double signed_clamp(double x) const { return std::min(o_.max(), std::max(o_.min(), x)); }

  const RangeObserver& o_;
  double width_;
  int64_t count_;
  std::vector<int64_t> magnitudes_;
};

}  // namespace

ClipRange RangeObserver::range(const RangeStrategy& strategy) const {
  check_strategy(strategy);
  const double lo = min_, hi = max_, bound = std::max(-lo, hi);  // lo <= 0 <= hi
  if (strategy.method == RangeMethod::minmax || bound == 0)
    return strategy.symmetric ? ClipRange{-bound, bound} : ClipRange{lo, hi};
  require(histogram_, std::string("the ") + range_method_name(strategy.method) +
                          " range needs a histogram: observe with histogram=true");
  const HistogramView view(*this);
  switch (strategy.method) {
    case RangeMethod::percentile: {
      const double p = strategy.percentile;
      if (strategy.symmetric) {
        const double t = view.percentile(p, [&](int64_t k) { return view.magnitude_order_statistic(k); });
        return {-t, t};
      }
      const auto signed_statistic = [&](int64_t k) { return view.signed_order_statistic(k); };
      const double low = lo < 0 ? view.percentile(100 - p, signed_statistic) : 0.0;
      return {std::min(low, 0.0), std::max(view.percentile(p, signed_statistic), 0.0)};
    }
    case RangeMethod::entropy: {
      const int bins = kl_threshold_bins(view.coarse_histogram(), entropy_levels(strategy, lo));
      const int64_t k = static_cast<int64_t>(static_cast<double>(nonzero_) * kEntropyMaxClipped);
      const double t = std::max(bins * bound / kEntropyBins, view.keeping_all_but(k));
      return clipped(strategy, lo, hi, t);
    }
    default: {  // mse
      double best = std::numeric_limits<double>::infinity(), best_t = bound;
      for (double t : mse_candidates(bound)) {
        const ClipRange range = clipped(strategy, lo, hi, t);
        const double error = view.squared_error(grid_for(strategy, range.lo, range.hi));
        if (error < best) {
          best = error;
          best_t = t;
        }
      }
      return clipped(strategy, lo, hi, best_t);
    }
  }
}

template void RangeObserver::observe(const float*, int64_t);
template void RangeObserver::observe(const double*, int64_t);

}  // namespace edgequant::quant
