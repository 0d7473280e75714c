#include "backend/plain_max_pool.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "common/error.h"
#include "common/simd.h"

namespace edgequant::engine {
namespace {

// rows[w] = max(rows[w], row[w]); `a < b ? b : a` keeps rows[w] where row[w] is NaN, and vectorises
// to one max instruction per lane group.
template <class T>
EDGEQUANT_INLINE void max_into(T* rows, const T* row, int64_t n) {
  for (int64_t w = 0; w < n; ++w) rows[w] = rows[w] < row[w] ? row[w] : rows[w];
}

template <class T>
EDGEQUANT_INLINE void pool_planes(const PoolGeometry& g, const T* src, T* dst, T lowest) {
  std::vector<T> rows(static_cast<size_t>(g.iw));
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* in = src + plane * g.ih * g.iw;
    T* out = dst + plane * g.oh * g.ow;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const int64_t top = oh * g.stride_h - g.pad_top;
      const int64_t h0 = std::max<int64_t>(top, 0), h1 = std::min(top + g.kh, g.ih);
      std::fill(rows.begin(), rows.end(), lowest);
      for (int64_t h = h0; h < h1; ++h) max_into(rows.data(), in + h * g.iw, g.iw);
      for (int64_t ow = 0; ow < g.ow; ++ow) {
        const int64_t left = ow * g.stride_w - g.pad_left;
        const int64_t w0 = std::max<int64_t>(left, 0), w1 = std::min(left + g.kw, g.iw);
        T m = lowest;
        for (int64_t w = w0; w < w1; ++w) m = m < rows[w] ? rows[w] : m;
        out[oh * g.ow + ow] = m;
      }
    }
  }
}

EDGEQUANT_KERNEL void pool_f32(const PoolGeometry& g, const float* src, float* dst) {
  pool_planes(g, src, dst, -std::numeric_limits<float>::infinity());
}

EDGEQUANT_KERNEL void pool_u8(const PoolGeometry& g, const uint8_t* src, uint8_t* dst) {
  pool_planes<uint8_t>(g, src, dst, 0);
}

}  // namespace

void max_pool_plain(const PoolGeometry& g, const float* src, float* dst) {
  require(g.kind == PoolGeometry::Kind::max, "max_pool_plain: not a max pool");
  pool_f32(g, src, dst);
}

void max_pool_plain(const PoolGeometry& g, const uint8_t* src, uint8_t* dst) {
  require(g.kind == PoolGeometry::Kind::max && every_window_has_input(g),
          "max_pool_plain: u8 codes need a max pool whose every window holds an input element");
  pool_u8(g, src, dst);
}

}  // namespace edgequant::engine
