// Distortion between a reference tensor and its reconstruction, in one pass, in float64.
#pragma once
#include <cstdint>

namespace edgequant::entropy {

struct Distortion {
  double sum_squared_error = 0;
  double sum_squared_signal = 0;
  double max_abs_error = 0;
  int64_t count = 0;
  int64_t non_finite = 0;  // pairs with a NaN/Inf on either side (excluded from the sums)
};

template <class T, class U>
Distortion distortion(const T* reference, const U* approx, int64_t n);

}  // namespace edgequant::entropy
