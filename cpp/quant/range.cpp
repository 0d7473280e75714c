#include "quant/range.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "common/parallel.h"
#include "common/simd.h"
#include "quant/convention.h"

namespace edgequant::quant {
namespace {

// Float min/max reductions only vectorise under -ffinite-math-only, which would also let the
// compiler drop our NaN checks. So the reduction runs on integers: IEEE bit patterns mapped to
// an order-preserving signed integer (negative values have their magnitude bits flipped), with
// NaN/Inf detected from the exponent bits and left out.
template <class T>
struct OrderedBits;
template <>
struct OrderedBits<float> {
  using Int = int32_t;
  static constexpr Int kExponent = 0x7f800000;
  static constexpr Int kMagnitude = 0x7fffffff;
};
template <>
struct OrderedBits<double> {
  using Int = int64_t;
  static constexpr Int kExponent = 0x7ff0000000000000;
  static constexpr Int kMagnitude = 0x7fffffffffffffff;
};

template <class T>
EDGEQUANT_INLINE typename OrderedBits<T>::Int to_ordered(typename OrderedBits<T>::Int bits) {
  return bits ^ ((bits >> (8 * sizeof(T) - 1)) & OrderedBits<T>::kMagnitude);
}

template <class T>
EDGEQUANT_INLINE Range range_loop(const T* __restrict src, int64_t n) {
  using Int = typename OrderedBits<T>::Int;
  Int lo = std::numeric_limits<Int>::max(), hi = std::numeric_limits<Int>::min();
  int64_t bad = 0;
  // The non-finite count is kept in lanes of the data's width (a 64-bit counter beside 32-bit
  // lanes stops GCC vectorising), so blocks stay below 2^30 elements.
  for (int64_t start = 0; start < n; start += int64_t{1} << 30) {
    const int64_t end = std::min<int64_t>(n, start + (int64_t{1} << 30));
    Int block_bad = 0;
    for (int64_t i = start; i < end; ++i) {
      Int bits;
      std::memcpy(&bits, &src[i], sizeof(T));
      Int non_finite = (bits & OrderedBits<T>::kExponent) == OrderedBits<T>::kExponent;
      block_bad += non_finite;
      Int ordered = to_ordered<T>(bits);
      Int mask = -non_finite;  // all ones for NaN/Inf; explicit masks vectorise, ?: here does not
      Int for_min = (ordered & ~mask) | (std::numeric_limits<Int>::max() & mask);
      Int for_max = (ordered & ~mask) | (std::numeric_limits<Int>::min() & mask);
      lo = for_min < lo ? for_min : lo;
      hi = for_max > hi ? for_max : hi;
    }
    bad += block_bad;
  }
  Range range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), 0.0, bad};
  if (bad < n) {  // to_ordered is its own inverse
    T lo_value, hi_value;
    Int lo_bits = to_ordered<T>(lo), hi_bits = to_ordered<T>(hi);
    std::memcpy(&lo_value, &lo_bits, sizeof(T));
    std::memcpy(&hi_value, &hi_bits, sizeof(T));
    range.min = static_cast<double>(lo_value);
    range.max = static_cast<double>(hi_value);
  }
  return range;
}

EDGEQUANT_KERNEL Range range_chunk(const float* src, int64_t n) { return range_loop(src, n); }
EDGEQUANT_KERNEL Range range_chunk(const double* src, int64_t n) { return range_loop(src, n); }

void merge(Range& into, const Range& part) {
  into.min = std::min(into.min, part.min);
  into.max = std::max(into.max, part.max);
  into.non_finite += part.non_finite;
}

void finish(Range& range) {
  if (range.min > range.max) range.min = range.max = 0;  // empty or all non-finite
  range.max_abs = std::max(std::abs(range.min), std::abs(range.max));
}

Range empty_range() {
  Range range;
  range.min = std::numeric_limits<double>::infinity();
  range.max = -std::numeric_limits<double>::infinity();
  return range;
}

}  // namespace

template <class T>
Range tensor_range(const T* src, int64_t n, bool parallel) {
  Range total = empty_range();
  if (!parallel) {
    merge(total, range_chunk(src, n));
    finish(total);
    return total;
  }
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    Range part = range_chunk(src + begin, end - begin);
    std::lock_guard<std::mutex> lock(mutex);
    merge(total, part);
  });
  finish(total);
  return total;
}

template <class T>
std::vector<Range> channel_ranges(const T* src, int64_t outer, int64_t channels, int64_t inner) {
  std::vector<Range> ranges(static_cast<size_t>(channels), empty_range());
  parallel_for(
      channels,
      [&](int64_t c_begin, int64_t c_end) {
        for (int64_t c = c_begin; c < c_end; ++c) {
          for (int64_t o = 0; o < outer; ++o) {
            merge(ranges[c], range_chunk(src + (o * channels + c) * inner, inner));
          }
        }
      },
      std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, outer * inner)), 1);
  for (auto& range : ranges) finish(range);
  return ranges;
}

template <class T>
Moments tensor_moments(const T* src, int64_t n) {
  // Two passes (mean, then squared deviations) in float64: stable for weights of any offset.
  // `omp simd reduction` (-fopenmp-simd: no OpenMP runtime) lets the float64 sums vectorise;
  // the summation order changes with the vector width, within float64 rounding.
  std::mutex mutex;
  double sum = 0;
  int64_t bad = 0;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    double local = 0;
    int64_t local_bad = 0;
#pragma omp simd reduction(+ : local, local_bad)
    for (int64_t i = begin; i < end; ++i) {
      double x = static_cast<double>(src[i]);
      bool finite = is_finite(x);
      local_bad += !finite;
      local += finite ? x : 0.0;
    }
    std::lock_guard<std::mutex> lock(mutex);
    sum += local;
    bad += local_bad;
  });
  Moments moments;
  moments.non_finite = bad;
  int64_t count = n - bad;
  if (count <= 0) return moments;
  moments.mean = sum / static_cast<double>(count);
  double squares = 0;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    double local = 0;
#pragma omp simd reduction(+ : local)
    for (int64_t i = begin; i < end; ++i) {
      double d = static_cast<double>(src[i]) - moments.mean;
      local += is_finite(d) ? d * d : 0.0;
    }
    std::lock_guard<std::mutex> lock(mutex);
    squares += local;
  });
  moments.std = std::sqrt(squares / static_cast<double>(count));
  return moments;
}

template Range tensor_range(const float*, int64_t, bool);
template Range tensor_range(const double*, int64_t, bool);
template std::vector<Range> channel_ranges(const float*, int64_t, int64_t, int64_t);
template std::vector<Range> channel_ranges(const double*, int64_t, int64_t, int64_t);
template Moments tensor_moments(const float*, int64_t);
template Moments tensor_moments(const double*, int64_t);

}  // namespace edgequant::quant
