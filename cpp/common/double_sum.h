// Σ of float32 values in double, for reductions whose float32 chain would round far from the sum
// where values cancel (ReduceMean / ReduceSum, the oneDNN backend's global average pool): eight
// partial sums (independent chains, which vectorise), added pairwise at the end. NaN and ±inf
// propagate as in one running sum.
#pragma once

#include <cstdint>

#include "common/simd.h"

namespace edgequant {

EDGEQUANT_INLINE double sum_in_double(const float* x, int64_t n) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) part[l] += x[j + l];
  double tail = 0;
  for (; j < n; ++j) tail += x[j];
  return (((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]))) + tail;
}

}  // namespace edgequant
