#include "quant/prune_quantize.h"

#include "quant/range.h"
#include "quant/registry.h"

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

// The kernels take the fitted state (fit_prune_quantize computes it from the layer's weights).
const QuantizerFamily& prune_quantize_family() {
  static const QuantizerFamily family{
      "prune_quantize",
      "magnitude pruning at gamma*std(W), then uniform b-bit quantization of the survivors",
      {{"gamma", ParameterKind::real, "pruning threshold in standard deviations", 0.0, kUnbounded},
       {"bits", ParameterKind::integer, "bits b of the step (max|H| - beta)/(2^(b-1) - 1)", 2, 16}},
      [](const Values& v) {
        const double threshold = real_value(v, "threshold"), step = real_value(v, "step");
        const int64_t max_symbol = integer_value(v, "max_symbol");
        require(step > 0 && std::isfinite(step), "step must be finite and > 0");
        require(threshold >= 0 && std::isfinite(threshold), "threshold must be finite and >= 0");
        require(max_symbol >= 0 && max_symbol < (int64_t{1} << 30), "max_symbol must be in [0, 2^30)");
        return make_kernels_of(PruneQuantize{threshold, step, static_cast<int32_t>(max_symbol)},
                               [](const PruneQuantize& op) {
                                 return std::vector<std::pair<std::string, double>>{
                                     {"threshold", op.threshold}, {"step", op.step}, {"max_symbol", op.max_symbol}};
                               });
      },
      [](int) { return std::vector<Values>{}; },  // not in the paper's sweep
      {{{"gamma", 0.25}, {"bits", int64_t{8}}}, {{"gamma", 0.0}, {"bits", int64_t{2}}}},
      {{{"threshold", 0.05}, {"step", 0.01}, {"max_symbol", int64_t{127}}},
       {{"threshold", 0.0}, {"step", 0.5}, {"max_symbol", int64_t{3}}}}};
  return family;
}

}  // namespace edgequant::quant
