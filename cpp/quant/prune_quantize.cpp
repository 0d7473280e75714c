#include "quant/prune_quantize.h"

#include "quant/range.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(PruneQuantize)

template <class T>
PruneQuantizeFit fit_prune_quantize(const T* src, int64_t n, double gamma, int bits) {
  require(gamma >= 0 && std::isfinite(gamma), "gamma must be finite and >= 0");
  require(bits >= 2 && bits <= 16, "bits must be in [2, 16]");
  Moments moments = tensor_moments(src, n);
  Range range = tensor_range(src, n);
  PruneQuantizeFit fit{};
  fit.std = moments.std;
  fit.max_abs = range.max_abs;
  fit.non_finite = moments.non_finite;
  const double threshold = gamma * moments.std;
  const double top = static_cast<double>((1 << (bits - 1)) - 1);
  // max|H| is max|W| when anything survives: the largest weight always clears beta <= max|W|.
  const double max_kept = range.max_abs >= threshold ? range.max_abs : 0.0;
  double step = (max_kept - threshold) / top;
  if (!(step > 0)) step = max_kept > 0 ? max_kept / top : 1.0;
  double max_symbol = std::ceil(max_kept / step) + 1;
  require(max_symbol < double(1 << 30), "gamma too close to the largest weight: the step collapses");
  fit.op = PruneQuantize{threshold, step, static_cast<int32_t>(max_symbol)};
  return fit;
}

template PruneQuantizeFit fit_prune_quantize(const float*, int64_t, double, int);
template PruneQuantizeFit fit_prune_quantize(const double*, int64_t, double, int);

}  // namespace edgequant::quant
