#include "backend/fast_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "backend/vector_exp.h"
#include "common/simd.h"  // EDGEQUANT_KERNEL: one clone per ISA (default, avx2, avx512f)

namespace edgequant::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

EDGEQUANT_INLINE float max_of(float a, float b) { return b > a ? b : a; }  // NaN in b is skipped

// Softmax along `len` with the columns (inner) as the vector lanes, a tile of columns at a time
// so the tile's rows stay in L1 between the three passes.
EDGEQUANT_INLINE void softmax_strided(const float* src, float* dst, int64_t len, int64_t inner, bool log_softmax) {
  constexpr int64_t kTile = 256;
  alignas(64) float peak[kTile];
  alignas(64) float total[kTile];
  for (int64_t begin = 0; begin < inner; begin += kTile) {
    const int64_t width = inner - begin < kTile ? inner - begin : kTile;
    for (int64_t j = 0; j < width; ++j) peak[j] = -kInf;
    for (int64_t k = 0; k < len; ++k) {
      const float* __restrict x = src + k * inner + begin;
      for (int64_t j = 0; j < width; ++j) peak[j] = max_of(peak[j], x[j]);
    }
    for (int64_t j = 0; j < width; ++j) total[j] = 0.f;
    for (int64_t k = 0; k < len; ++k) {
      const float* __restrict x = src + k * inner + begin;
      float* __restrict y = dst + k * inner + begin;
      for (int64_t j = 0; j < width; ++j) y[j] = x[j] - peak[j];
      if (log_softmax) {
        for (int64_t j = 0; j < width; ++j) total[j] += exp_nonpositive_lane(y[j]);
      } else {
        for (int64_t j = 0; j < width; ++j) y[j] = exp_nonpositive_lane(y[j]);
        for (int64_t j = 0; j < width; ++j) total[j] += y[j];
      }
    }
    if (log_softmax) {
      for (int64_t j = 0; j < width; ++j) total[j] = std::log(total[j]);
      for (int64_t k = 0; k < len; ++k) {
        float* __restrict y = dst + k * inner + begin;
        for (int64_t j = 0; j < width; ++j) y[j] -= total[j];
      }
    } else {
      for (int64_t j = 0; j < width; ++j) total[j] = 1.f / total[j];
      for (int64_t k = 0; k < len; ++k) {
        float* __restrict y = dst + k * inner + begin;
        for (int64_t j = 0; j < width; ++j) y[j] *= total[j];
      }
    }
  }
}

// Softmax of one contiguous row: max and sum kept in kLanes partial lanes (a vectorisable
// reduction without reassociating floats behind the compiler's back), folded at the end.
EDGEQUANT_INLINE void softmax_row(const float* __restrict x, float* __restrict y, int64_t len, bool log_softmax) {
  // The max in twice the lanes: two vectors of 16 (four of 8) in flight, where one waited on its
  // compare-and-select each step (6,625 classes x 40 rows: 55 -> 21 µs).
  constexpr int64_t kMaxLanes = 32;
  const int64_t max_body = len / kMaxLanes * kMaxLanes;
  alignas(64) float maxima[kMaxLanes];
  for (int64_t l = 0; l < kMaxLanes; ++l) maxima[l] = -kInf;
  for (int64_t k = 0; k < max_body; k += kMaxLanes)
    for (int64_t l = 0; l < kMaxLanes; ++l) maxima[l] = max_of(maxima[l], x[k + l]);
  float peak = -kInf;
  for (int64_t l = 0; l < kMaxLanes; ++l) peak = max_of(peak, maxima[l]);
  for (int64_t k = max_body; k < len; ++k) peak = max_of(peak, x[k]);
  constexpr int64_t kLanes = 16;
  const int64_t body = len / kLanes * kLanes;
  alignas(64) float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lanes[l] = 0.f;
  float total = 0.f;
  if (log_softmax) {
    for (int64_t k = 0; k < len; ++k) y[k] = x[k] - peak;
    alignas(64) float e[kLanes];
    for (int64_t k = 0; k < body; k += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) e[l] = exp_nonpositive_lane(y[k + l]);
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += e[l];
    }
    for (int64_t k = body; k < len; ++k) total += exp_nonpositive_lane(y[k]);
  } else {  // e^(x − max) and its sum in one pass
    for (int64_t k = 0; k < body; k += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) {
        const float e = exp_nonpositive_lane(x[k + l] - peak);
        y[k + l] = e;
        lanes[l] += e;
      }
    for (int64_t k = body; k < len; ++k) total += y[k] = exp_nonpositive_lane(x[k] - peak);
  }
  for (int64_t l = 0; l < kLanes; ++l) total += lanes[l];
  if (log_softmax) {
    const float offset = std::log(total);
    for (int64_t k = 0; k < len; ++k) y[k] -= offset;
  } else {
    const float scale = 1.f / total;
    for (int64_t k = 0; k < len; ++k) y[k] *= scale;
  }
}

}  // namespace

EDGEQUANT_KERNEL float fast_exp(float x) { return exp_lane(x); }

EDGEQUANT_KERNEL void softmax_f32(const float* src, float* dst, int64_t outer, int64_t len, int64_t inner, bool log_softmax) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* x = src + o * len * inner;
    float* y = dst + o * len * inner;
    if (inner == 1)
      softmax_row(x, y, len, log_softmax);
    else
      softmax_strided(x, y, len, inner, log_softmax);
  }
}

EDGEQUANT_KERNEL void sigmoid_f32(const float* src, float* dst, int64_t count) {
  constexpr int64_t kBlock = 1024;  // e^-x into dst, then 1 / (1 + .) while the block is in L1
  for (int64_t begin = 0; begin < count; begin += kBlock) {
    const int64_t width = std::min(kBlock, count - begin);
    const float* x = src + begin;
    float* y = dst + begin;
    for (int64_t k = 0; k < width; ++k) y[k] = exp_lane(-x[k]);
    for (int64_t k = 0; k < width; ++k) y[k] = 1.f / (1.f + y[k]);
  }
}

EDGEQUANT_KERNEL bool all_finite(const float* x, int64_t n) {
  // Exponent bits all ones: Inf or NaN, i.e. the bits shifted past the sign at least 0xff000000. The
  // largest of them per block of 4096, branch-free so that it vectorises (a shift and an unsigned max
  // per lane); a block with one stops the scan.
  for (int64_t start = 0; start < n; start += 4096) {
    const int64_t stop = std::min<int64_t>(n, start + 4096);
    uint32_t largest = 0;
    for (int64_t k = start; k < stop; ++k) {
      uint32_t bits;
      std::memcpy(&bits, x + k, 4);
      largest = std::max(largest, bits << 1);
    }
    if (largest >= 0xff000000u) return false;
  }
  return true;
}

EDGEQUANT_KERNEL void channel_sum_f32(const float* src, float* dst, int64_t batch, int64_t channels, int64_t pixels,
                                      const float* weights, float bias) {
  for (int64_t n = 0; n < batch; ++n) {
    float* __restrict y = dst + n * pixels;
    for (int64_t p = 0; p < pixels; ++p) y[p] = bias;
    for (int64_t c = 0; c < channels; ++c) {
      const float* __restrict x = src + (n * channels + c) * pixels;
      const float w = weights[c];
      for (int64_t p = 0; p < pixels; ++p) y[p] += w * x[p];
    }
  }
}

}  // namespace edgequant::engine
