// What every INT8 GEMM ISA file shares: the walk over kMr × kNr tiles of C, and the scalar tail it
// ends in — the columns k ≥ kmain (fewer than one SIMD step) added to a tile of accumulators, and
// the valid part of the tile stored to C.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

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

// C[m, n] from the row pointers `a` and the packed B (int8_gemm.h), tile by tile: `tile(rows,
// panel, kmain, init, out, ld)` is the ISA's micro-kernel over k < kmain for kMr rows and the kNr
// channels of one panel. In an unnamed namespace: each ISA file, compiled with its own flags, keeps
// its own copy (one shared instantiation could carry another file's instructions).
namespace {
template <int kMr, int kNr, class Tile>
void gemm_by_tiles(const int8_t* const* a, int64_t m, const PackedB& b, const int32_t* init, int32_t* c, int64_t ldc,
                   const Tile& tile) {
  const int64_t panels = (b.n + kNr - 1) / kNr;
  std::vector<int32_t> start(static_cast<size_t>(panels * kNr), 0);  // init, padded to whole panels
  std::copy(init, init + b.n, start.begin());
  for (int64_t m0 = 0; m0 < m; m0 += kMr) {
    const int8_t* rows[kMr];
    for (int r = 0; r < kMr; ++r) rows[r] = a[std::min<int64_t>(m0 + r, m - 1)];  // padding rows repeat the last
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int8_t* packed = b.packed.data() + panel * kNr * b.kmain;
      const int32_t* init_panel = start.data() + panel * kNr;
      if (m0 + kMr <= m && (panel + 1) * kNr <= b.n && b.kmain == b.k) {  // whole tile: straight into C
        tile(rows, packed, b.kmain, init_panel, c + m0 * ldc + panel * kNr, ldc);
        continue;
      }
      int32_t out[kMr * kNr];
      tile(rows, packed, b.kmain, init_panel, out, kNr);
      int8_tile_tail(rows, std::min<int64_t>(kMr, m - m0), b, panel * kNr, out, kNr, c + m0 * ldc, ldc);
    }
  }
}
}  // namespace

}  // namespace edgequant::engine::arm
