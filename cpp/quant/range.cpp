#include "quant/range.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "common/parallel.h"
#include "common/simd.h"
#include "quant/convention.h"

namespace edgequant::quant {
namespace {

template <class T>
inline Range range_loop(const T* src, int64_t n) {
  T lo = std::numeric_limits<T>::infinity(), hi = -std::numeric_limits<T>::infinity();
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    T x = src[i];
    bool finite = is_finite(x);
    bad += !finite;
    T clean = finite ? x : T(0);
    T for_min = finite ? clean : std::numeric_limits<T>::infinity();
    T for_max = finite ? clean : -std::numeric_limits<T>::infinity();
    lo = for_min < lo ? for_min : lo;
    hi = for_max > hi ? for_max : hi;
  }
  return Range{static_cast<double>(lo), static_cast<double>(hi), 0.0, bad};
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
Range tensor_range(const T* src, int64_t n) {
  Range total = empty_range();
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
  std::mutex mutex;
  double sum = 0;
  int64_t bad = 0;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    double local = 0;
    int64_t local_bad = 0;
    for (int64_t i = begin; i < end; ++i) {
      double x = static_cast<double>(src[i]);
      bool finite = std::isfinite(x);
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
    for (int64_t i = begin; i < end; ++i) {
      double d = static_cast<double>(src[i]) - moments.mean;
      local += std::isfinite(d) ? d * d : 0.0;
    }
    std::lock_guard<std::mutex> lock(mutex);
    squares += local;
  });
  moments.std = std::sqrt(squares / static_cast<double>(count));
  return moments;
}

template Range tensor_range(const float*, int64_t);
template Range tensor_range(const double*, int64_t);
template std::vector<Range> channel_ranges(const float*, int64_t, int64_t, int64_t);
template std::vector<Range> channel_ranges(const double*, int64_t, int64_t, int64_t);
template Moments tensor_moments(const float*, int64_t);
template Moments tensor_moments(const double*, int64_t);

}  // namespace edgequant::quant
