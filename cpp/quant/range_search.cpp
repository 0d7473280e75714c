#include "quant/range_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "quant/affine.h"

namespace edgequant::quant {
namespace range_search {
namespace {

double cube(double x) { return x * x * x; }

// ∫_0^x e(u)² du for the unclipped grid's error e(u) = u - step·rint(u/step), a sawtooth of
// period `step` whose every period integrates to step³/12.
double sawtooth_primitive(double x, double step) {
  const double n = std::nearbyint(x / step);
  const double r = x - n * step;
  return n * cube(step) / 12 + cube(r) / 3;
}

}  // namespace

Grid grid_for(const RangeStrategy& strategy, double lo, double hi) {
  if (strategy.symmetric) {
    const double t = std::max(-lo, hi);
    if (!(t > 0)) return {1.0, 0.0, 0.0};
    const double half = std::floor(static_cast<double>(strategy.levels) / 2);
    return {2 * t / static_cast<double>(strategy.levels), -half, half};
  }
  const int bits = static_cast<int>(std::lround(std::log2(static_cast<double>(strategy.levels) + 1)));
  const AffineFormat format(bits, /*symmetric=*/false, /*signed=*/false);
  const AffineParams params = affine_params_from_range(format, lo, hi);
  return {params.scale, static_cast<double>(format.qmin - params.zero_point),
          static_cast<double>(format.qmax - params.zero_point)};
}

double quantize(double x, const Grid& grid) {
  const double k = std::min(grid.highest, std::max(grid.lowest, std::nearbyint(x / grid.step)));
  return k * grid.step;
}

double squared_error_integral(double a, double b, const Grid& grid) {
  const double low = grid.lowest * grid.step, high = grid.highest * grid.step;
  double integral = 0;
  if (a < low) integral += (cube(low - a) - cube(low - std::min(b, low))) / 3;  // clipped below
  if (b > high) integral += (cube(b - high) - cube(std::max(a, high) - high)) / 3;  // clipped above
  const double inner_a = std::min(high, std::max(low, a)), inner_b = std::min(high, std::max(low, b));
  if (inner_b > inner_a)
    integral += sawtooth_primitive(inner_b, grid.step) - sawtooth_primitive(inner_a, grid.step);
  return integral;
}

std::vector<double> mse_candidates(double bound) {
  std::vector<double> candidates(kMseCandidates);
  const double start = bound / 16, delta = (bound - start) / (kMseCandidates - 1);
  for (int i = 0; i < kMseCandidates; ++i) candidates[i] = start + i * delta;
  candidates.back() = bound;
  return candidates;
}

ClipRange clipped(const RangeStrategy& strategy, double lo, double hi, double t) {
  if (strategy.symmetric) return {-t, t};
  return {std::max(lo, -t), std::min(hi, t)};
}

int kl_threshold_bins(const std::vector<double>& hist, int levels) {
  const int n = static_cast<int>(hist.size());
  std::vector<double> suffix(n + 1, 0.0);  // suffix[i] = sum of hist[i:]
  for (int i = n - 1; i >= 0; --i) suffix[i] = suffix[i + 1] + hist[i];
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  std::vector<double> candidate;
  for (int i = levels; i <= n; i += 16) {
    // the first i bins, the rest of the mass added to the last; merged into `levels` groups
    // (the first i % levels one bin larger), each group's mass spread over its non-empty bins
    candidate.assign(i, 0.0);
    const int small = i / levels, larger = i % levels;
    for (int g = 0, start = 0; g < levels; ++g) {
      const int size = small + (g < larger ? 1 : 0);
      double sum = 0;
      int nonzero = 0;
      for (int k = start; k < start + size; ++k) {
        sum += hist[k];
        nonzero += hist[k] > 0;
      }
      if (nonzero)
        for (int k = start; k < start + size; ++k)
          if (hist[k] > 0) candidate[k] = sum / nonzero;
      start += size;
    }
    double q_sum = 0;
    for (double c : candidate) q_sum += c;
    const double p_sum = suffix[0];
    if (q_sum == 0 || p_sum == 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      const double p = (k == i - 1 ? hist[k] + suffix[i] : hist[k]) / p_sum;
      if (p > 0) kl += p * std::log(p / std::max(candidate[k] / q_sum, 1e-12));
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return std::min(best_i, n);
}

int entropy_levels(const RangeStrategy& strategy, double min) {
  const int64_t levels = strategy.symmetric || min < 0 ? (strategy.levels + 1) / 2 : strategy.levels;
  return static_cast<int>(std::min<int64_t>(levels, kEntropyBins));
}

}  // namespace range_search

namespace {

// np.percentile's default (linear) on sorted values.
double percentile_of_sorted(const std::vector<double>& sorted, double p) {
  const double h = static_cast<double>(sorted.size() - 1) * p / 100;
  const size_t i = static_cast<size_t>(std::floor(h));
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (h - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

}  // namespace

ClipRange range_reference(std::vector<double> values, const RangeStrategy& strategy) {
  using namespace range_search;
  check_strategy(strategy);
  values.erase(std::remove_if(values.begin(), values.end(), [](double x) { return !std::isfinite(x); }),
               values.end());
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const double lo = std::min(0.0, values.front()), hi = std::max(0.0, values.back());
  const double bound = std::max(-lo, hi);
  std::vector<double> magnitudes;  // sorted |x| of the non-zero values
  for (double x : values)
    if (x != 0) magnitudes.push_back(std::abs(x));
  std::sort(magnitudes.begin(), magnitudes.end());
  if (strategy.method == RangeMethod::minmax || bound == 0)
    return strategy.symmetric ? ClipRange{-bound, bound} : ClipRange{lo, hi};
  switch (strategy.method) {
    case RangeMethod::percentile: {
      if (strategy.symmetric) {
        std::vector<double> all(values.size() - magnitudes.size(), 0.0);  // the zeros, then |x|
        all.insert(all.end(), magnitudes.begin(), magnitudes.end());
        const double t = percentile_of_sorted(all, strategy.percentile);
        return {-t, t};
      }
      const double low = lo < 0 ? percentile_of_sorted(values, 100 - strategy.percentile) : 0.0;
      return {std::min(low, 0.0), std::max(percentile_of_sorted(values, strategy.percentile), 0.0)};
    }
    case RangeMethod::entropy: {
      std::vector<double> hist(kEntropyBins, 0.0);
      for (double m : magnitudes)
        hist[std::min<size_t>(kEntropyBins - 1, static_cast<size_t>(m / bound * kEntropyBins))] += 1;
      double t = kl_threshold_bins(hist, entropy_levels(strategy, lo)) * bound / kEntropyBins;
      // the (k+1)-th largest magnitude: at most k values above it
      const size_t k = static_cast<size_t>(static_cast<double>(magnitudes.size()) * kEntropyMaxClipped);
      t = std::max(t, magnitudes[magnitudes.size() - 1 - k]);
      return clipped(strategy, lo, hi, t);
    }
    default: {  // mse
      double best = std::numeric_limits<double>::infinity(), best_t = bound;
      for (double t : mse_candidates(bound)) {
        const ClipRange range = clipped(strategy, lo, hi, t);
        const Grid grid = grid_for(strategy, range.lo, range.hi);
        double error = 0;
        for (double x : values) error += (x - quantize(x, grid)) * (x - quantize(x, grid));
        if (error < best) {
          best = error;
          best_t = t;
        }
      }
      return clipped(strategy, lo, hi, best_t);
    }
  }
}

}  // namespace edgequant::quant
