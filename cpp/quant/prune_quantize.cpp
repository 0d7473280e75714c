#include "quant/prune_quantize.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "common/parallel.h"
#include "common/simd.h"
#include "quant/range.h"
#include "quant/registry.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(PruneQuantize)

namespace {

// Count, mean and sum of squared deviations of the finite values, mergeable (Chan et al.), with
// max|x| and the non-finite count: everything the fit needs from one read of the weights.
struct LayerStatistics {
  int64_t count = 0;
  double mean = 0;
  double squares = 0;  // sum of (x - mean)^2
  double max_abs = 0;
  int64_t non_finite = 0;

  void merge(const LayerStatistics& part) {
    if (part.count) {
      const int64_t total = count + part.count;
      const double delta = part.mean - mean;
      const double weight = static_cast<double>(part.count) / static_cast<double>(total);
      squares += part.squares + delta * delta * static_cast<double>(count) * weight;
      mean += delta * weight;
      count = total;
    }
    max_abs = std::max(max_abs, part.max_abs);
    non_finite += part.non_finite;
  }
};

// A block small enough to stay in L1, so the second (deviation) pass over it costs no memory
// traffic: two-pass accuracy at the price of one pass over the layer.
constexpr int64_t kBlock = 2048;

template <class T>
struct MagnitudeBits;
template <>
struct MagnitudeBits<float> {
  using Int = uint32_t;
  static constexpr Int kMagnitude = 0x7fffffffu, kExponent = 0x7f800000u;
};
template <>
struct MagnitudeBits<double> {
  using Int = uint64_t;
  static constexpr Int kMagnitude = 0x7fffffffffffffffu, kExponent = 0x7ff0000000000000u;
};

template <class T>
EDGEQUANT_INLINE LayerStatistics block_statistics(const T* __restrict src, int64_t n) {
  using Int = typename MagnitudeBits<T>::Int;
  double sum = 0;
  Int bad = 0, largest = 0;  // |x| as bits: integer max vectorises and orders like the magnitudes
#pragma omp simd reduction(+ : sum, bad) reduction(max : largest)
  for (int64_t i = 0; i < n; ++i) {
    Int bits;
    std::memcpy(&bits, &src[i], sizeof(T));
    const Int magnitude = bits & MagnitudeBits<T>::kMagnitude;
    const bool finite = magnitude < MagnitudeBits<T>::kExponent;
    bad += !finite;
    largest = std::max<Int>(largest, finite ? magnitude : 0);
    sum += finite ? static_cast<double>(src[i]) : 0.0;
  }
  LayerStatistics stats;
  stats.non_finite = static_cast<int64_t>(bad);
  stats.count = n - stats.non_finite;
  T largest_value;
  std::memcpy(&largest_value, &largest, sizeof(T));
  stats.max_abs = static_cast<double>(largest_value);
  if (!stats.count) return stats;
  stats.mean = sum / static_cast<double>(stats.count);
  const double mean = stats.mean;
  double squares = 0;
#pragma omp simd reduction(+ : squares)
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(src[i]) - mean;
    squares += is_finite(d) ? d * d : 0.0;
  }
  stats.squares = squares;
  return stats;
}

template <class T>
EDGEQUANT_INLINE LayerStatistics chunk_statistics(const T* src, int64_t n) {
  LayerStatistics total;
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    total.merge(block_statistics(src + begin, std::min(kBlock, n - begin)));
  }
  return total;
}

EDGEQUANT_KERNEL LayerStatistics statistics_chunk(const float* src, int64_t n) { return chunk_statistics(src, n); }
EDGEQUANT_KERNEL LayerStatistics statistics_chunk(const double* src, int64_t n) { return chunk_statistics(src, n); }

template <class T>
LayerStatistics layer_statistics(const T* src, int64_t n) {
  // Parts are merged in index order after the parallel loop, so the result does not depend on
  // which thread finishes first.
  std::vector<std::pair<int64_t, LayerStatistics>> parts;
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    LayerStatistics part = statistics_chunk(src + begin, end - begin);
    std::lock_guard<std::mutex> lock(mutex);
    parts.emplace_back(begin, part);
  }, int64_t{1} << 16, kBlock);
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  LayerStatistics total;
  for (const auto& part : parts) total.merge(part.second);
  return total;
}

}  // namespace

template <class T>
PruneQuantizeFit fit_prune_quantize(const T* src, int64_t n, double gamma, int bits) {
  require(gamma >= 0 && std::isfinite(gamma), "gamma must be finite and >= 0");
  require(bits >= 2 && bits <= 16, "bits must be in [2, 16]");
  const LayerStatistics stats = layer_statistics(src, n);
  PruneQuantizeFit fit{};
  fit.std = stats.count ? std::sqrt(stats.squares / static_cast<double>(stats.count)) : 0.0;
  fit.max_abs = stats.max_abs;
  fit.non_finite = stats.non_finite;
  const double threshold = gamma * fit.std;
  const double top = static_cast<double>((1 << (bits - 1)) - 1);
  // max|H| is max|W| when anything survives: the largest weight always clears beta <= max|W|.
  const double max_kept = fit.max_abs >= threshold ? fit.max_abs : 0.0;
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
