// The threshold searches behind the entropy and mse range strategies, shared by the streaming
// observer and the scalar references (range_reference of range_observer.h, written in
// range_search.cpp). Internal to cpp/quant/.
#pragma once
#include <cstdint>
#include <vector>

#include "quant/range_observer.h"

namespace edgequant::quant::range_search {

// The grid values are quantized on once a range is chosen: points k·step for integer k with
// lowest <= k·step <= highest (0 is always one); values beyond the ends clip to them.
struct Grid {
  double step;
  double lowest;
  double highest;
};
// The grid of `strategy` (see RangeStrategy::levels) for the range [lo, hi] (lo <= 0 <= hi).
Grid grid_for(const RangeStrategy& strategy, double lo, double hi);
// x quantized to the grid and back (the formula, for the references).
double quantize(double x, const Grid& grid);
// ∫_a^b (x - quantize(x))² dx, in closed form (a <= b).
double squared_error_integral(double a, double b, const Grid& grid);

// The candidate thresholds of mse: linspace(bound / 16, bound, kMseCandidates).
std::vector<double> mse_candidates(double bound);
// The clipped range of threshold t: [-t, t] (symmetric), else [max(lo, -t), min(hi, t)].
ClipRange clipped(const RangeStrategy& strategy, double lo, double hi, double t);

// TensorRT's entropy calibration on a histogram of the non-zero magnitudes over [0, bound]
// (kEntropyBins bins): the number of bins i (a candidate every 16 from `levels`) whose clipped
// distribution is closest, in KL divergence, to itself merged into `levels` groups. The
// threshold is i · bound / kEntropyBins.
int kl_threshold_bins(const std::vector<double>& hist, int levels);
// The quantized levels of the KL search: all of `levels` for non-negative data, half otherwise.
int entropy_levels(const RangeStrategy& strategy, double min);

}  // namespace edgequant::quant::range_search
