#include "entropy/distortion.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "common/parallel.h"
#include "quant/convention.h"

namespace edgequant::entropy {

template <class T, class U>
Distortion distortion(const T* reference, const U* approx, int64_t n) {
  Distortion total;
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    Distortion local;
    double error_sum = 0, signal_sum = 0, max_error = 0;
    int64_t bad = 0;
    // -fopenmp-simd: vectorised float64 sums (order within float64 rounding), no OpenMP runtime.
#pragma omp simd reduction(+ : error_sum, signal_sum, bad) reduction(max : max_error)
    for (int64_t i = begin; i < end; ++i) {
      double r = static_cast<double>(reference[i]), a = static_cast<double>(approx[i]);
      bool finite = quant::is_finite(r) && quant::is_finite(a);
      bad += !finite;
      double e = finite ? r - a : 0.0;
      r = finite ? r : 0.0;
      error_sum += e * e;
      signal_sum += r * r;
      max_error = std::max(max_error, std::abs(e));
    }
    local.sum_squared_error = error_sum;
    local.sum_squared_signal = signal_sum;
    local.max_abs_error = max_error;
    local.non_finite = bad;
    std::lock_guard<std::mutex> lock(mutex);
    total.sum_squared_error += local.sum_squared_error;
    total.sum_squared_signal += local.sum_squared_signal;
    total.max_abs_error = std::max(total.max_abs_error, local.max_abs_error);
    total.non_finite += local.non_finite;
  });
  total.count = n - total.non_finite;
  return total;
}

template Distortion distortion(const float*, const float*, int64_t);
template Distortion distortion(const float*, const double*, int64_t);
template Distortion distortion(const double*, const float*, int64_t);
template Distortion distortion(const double*, const double*, int64_t);

}  // namespace edgequant::entropy
