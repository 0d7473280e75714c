// What every INT8 GEMM ISA file shares: the walk over kMr × kNr tiles of C, where a tile's rows go
// (int32 sums, or s8 codes requantized in registers), and the scalar tail it ends in — the columns
// k ≥ kmain (fewer than one SIMD step) added to a tile of accumulators, and the valid part of the
// tile stored to C.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/arm/fixed_point_neon.h"
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

// In an unnamed namespace: each ISA file, compiled with its own flags, keeps its own copy of what
// follows (one shared instantiation could carry another file's instructions).
namespace {

// The two halves of `codes` to p and p + stride, p then 2·stride further: two lane stores that step
// the pointer themselves (GCC's vst1 of a high half is a move and a store, and each row's address
// an add: ~10 instructions a tile more).
inline void store_two_rows(int8_t*& p, int8x16_t codes, int64_t stride) {
  using Row = uint64_t;  // not a character type: the stores then alias no local of the caller
  asm("st1 {%3.d}[0], [%0], %4\n\tst1 {%3.d}[1], [%0], %4"
      : "+r"(p), "=m"(*reinterpret_cast<Row*>(p)), "=m"(*reinterpret_cast<Row*>(p + stride))
      : "w"(codes), "r"(stride));
}

// A tile's micro-kernel hands its rows, kNr channels each as kNr / 4 vectors of int32 sums, to a
// sink: SumsSink stores them, CodesSink requantizes them to s8 codes in registers. (One call for all
// rows: the sink's constants are copied into locals first, which the byte stores cannot alias. The
// requantizing sinks are always inlined: where GCC called them, the tile's 16 accumulators went
// through the stack and back, ~40 instructions a tile.)
template <int kNr>
struct SumsSink {
  int32_t* c;
  int64_t ld;
  template <int kRows>
  void store(const int32x4_t (&v)[kRows][kNr / 4]) const {
    int32_t* const out = c;
    const int64_t stride = ld;
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r)
      #pragma GCC unroll 4
      for (int j = 0; j < kNr / 4; ++j) vst1q_s32(out + r * stride + 4 * j, v[r][j]);
  }
};

template <int kNr, bool kBiased, int kShift, bool kTable>
struct CodesSink {
  // The requantization's vectors are loaded in store(), after the tile's loop: held from before it,
  // they would be spilled around it (the loop takes all 32 NEON registers).
  CodesSink(const CodesRequantization& r, int64_t n0, int8_t* c, int64_t ld) : r(r), n0(n0), c(c), ld(ld) {}
  template <int kRows>
  [[gnu::always_inline]] void store(const int32x4_t (&v)[kRows][kNr / 4]) const {
    const Requantize4<kBiased, kShift> first(r, n0), second(r, kNr == 8 ? n0 + 4 : n0);
    const int8x8_t low = vdup_n_s8(r.lo), high = vdup_n_s8(r.hi);
    int8_t* const out = c;
    const int64_t stride = ld;
    if constexpr (kTable) {  // the indices, then the codes
      const int8_t* const codes = r.table;
      const int16x8_t last = vdupq_n_s16(r.table_last);
      #pragma GCC unroll 16
      for (int row = 0; row < kRows; ++row) {
        const int16x4_t a = vqmovn_s32(first(v[row][0]));
        if constexpr (kNr == 8) look_up<8>(vqmovn_high_s32(a, second(v[row][1])), last, codes, out + row * stride);
        else look_up<4>(vcombine_s16(a, a), last, codes, out + row * stride);
      }
      return;
    }
    const int16x8_t zero = vdupq_n_s16(static_cast<int16_t>(r.zero));
    if constexpr (kNr == 8 && kRows % 2 == 0) {  // two rows' codes in one register: one clamp for both
      const int8x16_t low2 = vdupq_n_s8(r.lo), high2 = vdupq_n_s8(r.hi);
      int8_t* row_out = out;
      #pragma GCC unroll 16
      for (int row = 0; row < kRows; row += 2) {  // the zero point added to the 8 lanes in int16
        const int16x8_t h0 = vqmovn_high_s32(vqmovn_s32(first.scaled(v[row][0])), second.scaled(v[row][1]));
        const int16x8_t h1 = vqmovn_high_s32(vqmovn_s32(first.scaled(v[row + 1][0])), second.scaled(v[row + 1][1]));
        const int8x16_t codes = vminq_s8(
            vmaxq_s8(vqmovn_high_s16(vqmovn_s16(vqaddq_s16(h0, zero)), vqaddq_s16(h1, zero)), low2), high2);
        store_two_rows(row_out, codes, stride);
      }
      return;
    }
    #pragma GCC unroll 16
    for (int row = 0; row < kRows; ++row) {
      if constexpr (kNr == 8) {  // the zero point added to the 8 lanes in int16
        const int16x8_t h = vqmovn_high_s32(vqmovn_s32(first.scaled(v[row][0])), second.scaled(v[row][1]));
        vst1_s8(out + row * stride, vmin_s8(vmax_s8(vqmovn_s16(vqaddq_s16(h, zero)), low), high));
      } else {
        static_assert(kNr == 4, "tiles are 4 or 8 channels wide");
        const int16x4_t h = vqmovn_s32(first(v[row][0]));
        const int8x8_t codes = vmin_s8(vmax_s8(vqmovn_s16(vcombine_s16(h, h)), low), high);
        const int32_t word = vget_lane_s32(vreinterpret_s32_s8(codes), 0);
        std::memcpy(out + row * stride, &word, sizeof word);
      }
    }
  }
  const CodesRequantization& r;
  int64_t n0;
  int8_t* c;
  int64_t ld;
};

// CodesSink's arithmetic for a layer with a fused residual Add: each row's requantized value plus
// its residual codes (at residual + r·residual_ld, the output's layout), rounded to the output grid.
template <int kNr, bool kBiased, int kShift, bool kTable>
struct ResidualSink {
  ResidualSink(const CodesRequantization& r, int64_t n0, int8_t* c, int64_t ld, const int8_t* residual,
               int64_t residual_ld)
      : r(r), n0(n0), c(c), ld(ld), residual(residual), residual_ld(residual_ld), values(r.values) {}
  template <int kRows>
  [[gnu::always_inline]] void store(const int32x4_t (&v)[kRows][kNr / 4]) const {  // constants loaded here, as CodesSink's
    const Requantize4<kBiased, kShift> first(r, n0), second(r, kNr == 8 ? n0 + 4 : n0);
    const Residual8 sum(r);
    const int8x8_t low = vdup_n_s8(r.lo), high = vdup_n_s8(r.hi);
    int8_t* const out = c;
    const int64_t stride = ld, residual_stride = residual_ld;
    const int8_t* const skip_codes = residual;
    const int32_t* const table = values;
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      int32x4_t value[2] = {sum.clamp_pre(first(v[r][0])), kNr == 8 ? sum.clamp_pre(second(v[r][kNr / 8])) : vdupq_n_s32(0)};
      if constexpr (kTable) {
        value[0] = look_up_values(value[0], table);
        if constexpr (kNr == 8) value[1] = look_up_values(value[1], table);
      }
      int32x4_t skip[2];
      if constexpr (kNr == 8) {
        sum.skip(skip_codes + r * residual_stride, skip[0], skip[1]);
      } else {  // 4 codes: the word widened as 8 (its upper half unused)
        int8_t four[8] = {};
        std::memcpy(four, skip_codes + r * residual_stride, 4);
        sum.skip(four, skip[0], skip[1]);
      }
      const int16x4_t a = vqmovn_s32(sum.output(vqaddq_s32(value[0], skip[0])));
      const int16x8_t h = kNr == 8 ? vqmovn_high_s32(a, sum.output(vqaddq_s32(value[1], skip[1]))) : vcombine_s16(a, a);
      const int8x8_t codes = vmin_s8(vmax_s8(vqmovn_s16(h), low), high);
      if constexpr (kNr == 8) {
        vst1_s8(out + r * stride, codes);
      } else {
        const int32_t word = vget_lane_s32(vreinterpret_s32_s8(codes), 0);
        std::memcpy(out + r * stride, &word, sizeof word);
      }
    }
  }
  const CodesRequantization& r;
  int64_t n0;
  int8_t* c;
  int64_t ld;
  const int8_t* residual;
  int64_t residual_ld;
  const int32_t* values;
};

// A micro-kernel's walk over k: step(rows, k) for each SIMD step of kStep values, rows[r] + k the
// step's values of row r (tap by tap), `panel` (B's, or a packing's output) advanced kPanelStep
// bytes a step. Plain rows walk apart (the taps' loop in the tiles cost GCC registers there).
template <int kMr, int kStep, int kPanelStep, class Panel, class Step>
inline void for_each_step(const int8_t* const* a, const Int8Taps& taps, Panel*& panel, Step&& step) {
  if (taps.is_plain()) {
    for (int64_t k = 0; k < taps.len; k += kStep, panel += kPanelStep) step(a, k);
    return;
  }
  for (int64_t t = 0; t < taps.count; ++t) {
    const int64_t offset = taps.offsets[t];
    const int8_t* rows[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) rows[r] = a[r] + offset;
    for (int64_t k = 0; k < taps.len; k += kStep, panel += kPanelStep) step(rows, k);
  }
}

// The k values a tile's micro-kernel reads (k < kmain): `taps` as given, or the first kmain of plain rows.
inline Int8Taps main_taps(const Int8Taps& taps, const PackedB& b) {
  return taps.is_plain() ? Int8Taps{taps.offsets, 1, b.kmain} : taps;
}

// The tiles of C[m, n] in order: body(rows, m0, rows_valid, panel, packed, init_panel) with kMr row
// pointers (padding rows repeat the last), each block of rows over its panels from 0 up (the
// dot-product kernel packs a block's rows at its first panel).
template <int kMr, int kNr, class Body>
void for_each_tile(const int8_t* const* a, int64_t m, const PackedB& b, const int32_t* init, Body&& body) {
  const int64_t panels = (b.n + kNr - 1) / kNr;
  std::vector<int32_t> start(static_cast<size_t>(panels * kNr), 0);  // init, padded to whole panels
  std::copy(init, init + b.n, start.begin());
  for (int64_t m0 = 0; m0 < m; m0 += kMr) {
    const int8_t* rows[kMr];
    for (int r = 0; r < kMr; ++r) rows[r] = a[std::min<int64_t>(m0 + r, m - 1)];
    const int64_t valid = std::min<int64_t>(kMr, m - m0);
    for (int64_t panel = 0; panel < panels; ++panel)
      body(rows, m0, valid, panel, b.packed.data() + panel * kNr * b.kmain, start.data() + panel * kNr);
  }
}

// C[m, n] as int32 sums from the row pointers `a` (laid out as `taps`) and the packed B
// (int8_gemm.h): `tile(rows, panel, taps, init, sink)` is the ISA's micro-kernel over k < kmain
// for kMr rows and the kNr channels of one panel.
template <int kMr, int kNr, class Tile>
void gemm_by_tiles(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                   int32_t* c, int64_t ldc, Tile&& tile) {
  const Int8Taps main = main_taps(taps, b);
  for_each_tile<kMr, kNr>(a, m, b, init, [&](const int8_t* const* rows, int64_t m0, int64_t valid, int64_t panel,
                                             const int8_t* packed, const int32_t* start) {
    if (valid == kMr && (panel + 1) * kNr <= b.n && b.kmain == b.k) {  // whole tile: straight into C
      tile(rows, packed, main, start, SumsSink<kNr>{c + m0 * ldc + panel * kNr, ldc});
      return;
    }
    int32_t out[kMr * kNr];
    tile(rows, packed, main, start, SumsSink<kNr>{out, kNr});
    int8_tile_tail(rows, valid, b, panel * kNr, out, kNr, c + m0 * ldc, ldc);
  });
}

// C[m, n] as s8 codes (ldc bytes per row), each tile requantized in registers by `r` (whose arrays
// cover whole panels), with r.residual the residual codes (the output's layout) added; k must be
// whole SIMD steps (b.kmain == b.k). A block of kMr rows runs its whole panels in a loop of their
// own, the tiles straight into C (a per-tile body taking every case, as for_each_tile's, cost
// ~50 instructions a tile more on the dot-product kernel: it reloaded its captures and cleared a
// residual buffer); the rest of a tile goes through buffers.
template <int kMr, int kNr, class Tile>
void gemm_codes_by_tiles(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b,
                         const int32_t* init, const CodesRequantization& r, const int8_t* residual, int8_t* c,
                         int64_t ldc, Tile&& tile) {
  const Int8Taps main = main_taps(taps, b);
  with_requantization(r, [&](auto biased, auto shift, auto table) {
    constexpr bool kBiased = decltype(biased)::value, kTable = decltype(table)::value;
    constexpr int kShift = decltype(shift)::value;
    using Codes = CodesSink<kNr, kBiased, kShift, kTable>;
    using Residual = ResidualSink<kNr, kBiased, kShift, kTable>;
    const int64_t panels = (b.n + kNr - 1) / kNr, whole_panels = b.n / kNr, panel_bytes = kNr * b.kmain;
    std::vector<int32_t> start(static_cast<size_t>(panels * kNr), 0);  // init, padded to whole panels
    std::copy(init, init + b.n, start.begin());
    for (int64_t m0 = 0; m0 < m; m0 += kMr) {
      const int8_t* rows[kMr];  // as for_each_tile's (through a helper, GCC allocated the tiles' registers worse)
      for (int i = 0; i < kMr; ++i) rows[i] = a[std::min<int64_t>(m0 + i, m - 1)];
      const int64_t valid = std::min<int64_t>(kMr, m - m0);
      int64_t panel = 0;
      if (valid == kMr) {
        int8_t* const row_out = c + m0 * ldc;
        const int8_t* packed = b.packed.data();
        if (r.residual)
          for (; panel < whole_panels; ++panel, packed += panel_bytes)
            tile(rows, packed, main, start.data() + panel * kNr,
                 Residual(r, panel * kNr, row_out + panel * kNr, ldc, residual + m0 * ldc + panel * kNr, ldc));
        else
          for (; panel < whole_panels; ++panel, packed += panel_bytes)
            tile(rows, packed, main, start.data() + panel * kNr, Codes(r, panel * kNr, row_out + panel * kNr, ldc));
      }
      for (; panel < panels; ++panel) {  // a part of a tile: through buffers, the valid part copied
        const int64_t n0 = panel * kNr, cols = std::min<int64_t>(kNr, b.n - n0);
        int8_t out[kMr * kNr], skip[kMr * kNr] = {};
        const int8_t* packed = b.packed.data() + panel * panel_bytes;
        if (r.residual) {  // the valid part only: the rows and columns past C's are not there to read
          for (int64_t row = 0; row < valid; ++row) std::memcpy(skip + row * kNr, residual + (m0 + row) * ldc + n0, cols);
          tile(rows, packed, main, start.data() + n0, Residual(r, n0, out, kNr, skip, kNr));
        } else {
          tile(rows, packed, main, start.data() + n0, Codes(r, n0, out, kNr));
        }
        for (int64_t row = 0; row < valid; ++row) std::memcpy(c + (m0 + row) * ldc + n0, out + row * kNr, cols);
      }
    }
  });
}

}  // namespace

}  // namespace edgequant::engine::arm
