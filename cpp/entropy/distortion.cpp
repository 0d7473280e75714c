#include "entropy/distortion.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "common/parallel.h"

namespace edgequant::entropy {

template <class T, class U>
Distortion distortion(const T* reference, const U* approx, int64_t n) {
  Distortion total;
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    Distortion local;
    for (int64_t i = begin; i < end; ++i) {
      double r = static_cast<double>(reference[i]), a = static_cast<double>(approx[i]);
      double e = r - a;
      bool finite = std::isfinite(r) && std::isfinite(a);
      local.non_finite += !finite;
      e = finite ? e : 0.0;
      r = finite ? r : 0.0;
      local.sum_squared_error += e * e;
      local.sum_squared_signal += r * r;
      local.max_abs_error = std::max(local.max_abs_error, std::abs(e));
    }
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
