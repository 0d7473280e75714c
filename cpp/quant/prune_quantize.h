// Prune-then-quantize of one layer (SPEC §1 last bullet, paper 002 eqs. 1-4):
//     beta = gamma * std(W)                       (population std, ddof = 0)
//     H    = W where |W| >= beta, else 0
//     step = (max|H| - beta) / (2^(b-1) - 1)
//     C    = step * round(H / step)               (symbols: round(H / step), 0 where pruned)
// Degenerate steps: if max|H| - beta <= 0 the step falls back to max|H| / (2^(b-1) - 1); if
// nothing survives (max|H| = 0) the step is 1 and every symbol is 0. Note that with beta > 0 the
// symbols span more than b bits (|q| up to (2^(b-1) - 1) max|H| / (max|H| - beta)): the paper's
// formula keeps the step, not the symbol width; the entropy is what measures the rate.
#pragma once
#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct PruneQuantize {
  double threshold;  // beta
  double step;
  int32_t max_symbol;

  template <class T>
  int32_t encode(T x) const {
    T t = std::nearbyint(x / static_cast<T>(step));
    t = std::abs(x) >= static_cast<T>(threshold) ? t : T(0);
    return static_cast<int32_t>(clamp_or_zero(t, -static_cast<T>(max_symbol), static_cast<T>(max_symbol)));
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return 0;
    if (!(std::abs(x) >= static_cast<T>(threshold))) return 0;  // pruned
    double q = static_cast<double>(std::nearbyint(x / static_cast<T>(step)));
    return static_cast<int32_t>(std::max<double>(-max_symbol, std::min<double>(max_symbol, q)));
  }
  // "+ 0.0f": the fused loop may fold float(int(t)) into t, and t = -0.0 for small negative x;
  // adding +0 makes that zero +0, as decode(encode(x)) gives (found by the registry-wide test).
  float decode(int32_t q) const { return saturate_to_float(static_cast<float>(step) * static_cast<float>(q)) + 0.0f; }
  bool valid(int32_t q) const { return q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(PruneQuantize)

struct PruneQuantizeFit {
  PruneQuantize op;
  double std;
  double max_abs;
  int64_t non_finite;
};

// Computes beta and the step of one layer from its weights.
template <class T>
PruneQuantizeFit fit_prune_quantize(const T* src, int64_t n, double gamma, int bits);

}  // namespace edgequant::quant
