// Range strategies over a streaming histogram: the one place that turns observed values into a
// quantization range, for weights (xmax="max" | "percentile:P" | "mse") and for the engine's
// activation calibration alike. Observing (observe(), batch by batch, nothing kept whole) is
// separate from choosing the range (range(strategy)), as in torch.ao's observers.
//
// The histogram: kBins bins of |x| per sign over [0, R), R a power of two above max|x|. A batch
// with a larger |x| doubles R, merging bin pairs, so counts stay exact (no re-sampling) and the
// resolution stays within 2x of kBins over [0, max|x|]. Bin edges are exact in floating point.
//
// Non-finite values (NaN, ±Inf) are skipped and counted in non_finite(): the caller decides
// (weights: refused; activations: the engine refuses non-finite inputs already).
//
// Every range includes 0 (the zero point is representable), as the engine's activations need.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgequant::quant {

enum class RangeMethod { minmax, percentile, entropy, mse };
// "minmax", "percentile", "entropy", "mse"; InvalidArgument otherwise.
RangeMethod range_method_from_name(const std::string& name);
const char* range_method_name(RangeMethod method);

struct RangeStrategy {
  RangeMethod method = RangeMethod::minmax;
  // percentile: the upper percentile in (0, 100]; the lower one is 100 - percentile.
  double percentile = 99.99;
  // false: a range [lo, hi] of the signed values (activations, u8 affine);
  // true: [-t, t] from the magnitudes |x| (symmetric weights).
  bool symmetric = false;
  // The grid a clipped range is quantized on, for mse and entropy. Asymmetric: the unsigned
  // affine format with qmax = levels (levels = 2^bits - 1), parameters from
  // affine_params_from_range. Symmetric: points k·2t/levels for |k| <= levels/2 (Δ = 2·xmax/L).
  int64_t levels = 255;
};
// InvalidArgument naming the bad field.
void check_strategy(const RangeStrategy& strategy);

// entropy: the largest fraction of the non-zero values its threshold may clip. TensorRT's KL
// search alone picked 12-25 % of a detector head's range, clipping 0.1-0.8 % of its values (the
// rare strong activations that are the detections); the bound keeps the KL choice where the tail
// is negligible, otherwise the smallest range that clips at most this fraction.
constexpr double kEntropyMaxClipped = 1e-4;
// entropy: the KL search runs on this many bins over [0, max|x|] (TensorRT's 2048).
constexpr int kEntropyBins = 2048;
// mse: candidate thresholds t = linspace(max|x|/16, max|x|, kMseCandidates).
constexpr int kMseCandidates = 64;

struct ClipRange {
  double lo = 0;
  double hi = 0;
};

class RangeObserver {
 public:
  static constexpr int kBins = 8192;  // per sign

  // histogram=false keeps only the min/max (enough for minmax; other methods then refuse).
  explicit RangeObserver(bool histogram = true) : histogram_(histogram) {}

  template <class T>
  void observe(const T* src, int64_t n);

  ClipRange range(const RangeStrategy& strategy) const;

  int64_t count() const { return zeros_ + nonzero_; }  // finite values observed
  int64_t zeros() const { return zeros_; }
  int64_t non_finite() const { return non_finite_; }
  double min() const { return min_; }  // of the finite values; 0 when none
  double max() const { return max_; }
  bool has_histogram() const { return histogram_; }
  // The histogram of |x| (bin j: [j·w, (j+1)·w), w = bin_width()), by sign; empty until a
  // non-zero value is observed.
  const std::vector<int64_t>& positive_bins() const { return positive_; }
  const std::vector<int64_t>& negative_bins() const { return negative_; }
  double bin_width() const;

 private:
  void widen_to(double max_abs);

  bool histogram_;
  double min_ = 0, max_ = 0;
  int64_t zeros_ = 0, nonzero_ = 0, non_finite_ = 0;
  int exponent_ = 0;  // R = 2^exponent_
  std::vector<int64_t> positive_, negative_;
};

// The scalar references: each strategy from its formula on the full array of values (sorted
// here), the yardstick the streaming observer is tested against. Non-finite values are skipped.
ClipRange range_reference(std::vector<double> values, const RangeStrategy& strategy);

}  // namespace edgequant::quant
