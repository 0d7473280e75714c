// The scalar tail that every INT8 GEMM ISA file ends in: the columns k ≥ kmain (fewer than one
// SIMD step) added to a tile of accumulators, and the valid part of the tile stored to C.
#pragma once
#include <cstdint>

#include "backend/arm/int8_gemm.h"

namespace edgequant::engine::arm {

// tile: [mr][nr] int32 sums over k < kmain for rows a[0..mr) and columns n0..n0+nr; rows ≥ rows
// and columns ≥ b.n are padding and not stored.
inline void int8_tile_tail(const int8_t* const* a, int64_t rows, const PackedB& b, int64_t n0, const int32_t* tile,
                           int nr, int32_t* c, int64_t ldc) {
  const int64_t cols = b.n - n0 < nr ? b.n - n0 : nr;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      const int8_t* w = b.rows.data() + (n0 + j) * b.k;
      int32_t acc = tile[r * nr + j];
      for (int64_t k = b.kmain; k < b.k; ++k) acc += static_cast<int32_t>(a[r][k]) * w[k];
      c[r * ldc + n0 + j] = acc;
    }
}

}  // namespace edgequant::engine::arm
