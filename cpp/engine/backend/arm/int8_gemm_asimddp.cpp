// INT8 GEMM on the ARMv8.2 dot-product instructions (SDOT; Cortex-A76 / Pi 5, Cortex-A55),
// compiled with -march=armv8.2-a+dotprod and only called where HWCAP_ASIMDDP is set: an 8×8 tile
// of C, 16 k per step, each SDOT adding four 4-element s8 dot products to four int32 lanes (the
// lane-indexed form broadcasts 4 k of one A row against 4 k of 4 output channels). Ends in the
// shared scalar tail.
//
// Where B has more than one panel, each block of 8 A rows is first interleaved into one stream
// (16 k of row 0, 16 k of row 1, ...), so that a step's 64 SDOTs read their 8 A and 8 B vectors
// with four 4-register loads instead of eight loads of A and four pairs of B: a step is ~70
// instructions instead of ~80, and the block is packed once for all of its panels.
#include <arm_neon.h>

#include <algorithm>
#include <vector>

#include "backend/arm/int8_gemm.h"
#include "backend/arm/int8_gemm_tail.h"

namespace edgequant::engine::arm {
namespace {

constexpr int kMr = 8, kNr = 8, kStep = 16;

// Panel layout: for each 16 k, for each group of 4 k, 8 channels × 4 k.
PackedB pack(const int8_t* b, int64_t n, int64_t k) {
  PackedB p;
  p.n = n, p.k = k, p.kmain = k / kStep * kStep;
  p.rows.assign(b, b + n * k);
  const int64_t panels = (n + kNr - 1) / kNr;
  p.packed.assign(static_cast<size_t>(panels * kNr * p.kmain), 0);
  int8_t* dst = p.packed.data();
  for (int64_t panel = 0; panel < panels; ++panel)
    for (int64_t k0 = 0; k0 < p.kmain; k0 += 4)
      #pragma GCC unroll 16
      for (int j = 0; j < kNr; ++j, dst += 4) {
        const int64_t row = panel * kNr + j;
        if (row < n) std::copy(b + row * k + k0, b + row * k + k0 + 4, dst);
      }
  return p;
}

template <int kGroup>
inline void dot_group(int32x4_t (&acc)[kMr][2], const int8x16_t (&av)[kMr], int8x16_t b0, int8x16_t b1) {
  #pragma GCC unroll 16
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = vdotq_laneq_s32(acc[r][0], b0, av[r], kGroup);
    acc[r][1] = vdotq_laneq_s32(acc[r][1], b1, av[r], kGroup);
  }
}

// Rows a[0..8) × the panel's 8 channels, from init[0..8); each row's sums to the sink.
template <class Sink>
void tile(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps, const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr][2];
  #pragma GCC unroll 16
  for (auto& row : acc) row[0] = vld1q_s32(init), row[1] = vld1q_s32(init + 4);
  for_each_step<kMr, kStep, kNr * kStep>(a, taps, panel, [&](const int8_t* const* rows, int64_t k) {
    int8x16_t av[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) av[r] = vld1q_s8(rows[r] + k);
    dot_group<0>(acc, av, vld1q_s8(panel), vld1q_s8(panel + 16));
    dot_group<1>(acc, av, vld1q_s8(panel + 32), vld1q_s8(panel + 48));
    dot_group<2>(acc, av, vld1q_s8(panel + 64), vld1q_s8(panel + 80));
    dot_group<3>(acc, av, vld1q_s8(panel + 96), vld1q_s8(panel + 112));
  });
  sink.store(acc);
}

// 64 bytes into four registers by one post-indexed LD1 that steps p past them (GCC's vld1q_s8_x4 in
// this loop copies the pointer and adds to it apart: four more instructions per 64 SDOTs).
inline int8x16x4_t load64_and_step(const int8_t*& p) {
  int8x16x4_t v;
  asm("ld1 {%S0.16b - %V0.16b}, [%1], #64" : "=w"(v), "+r"(p) : "m"(*reinterpret_cast<const int8_t(*)[64]>(p)));
  return v;
}

// The same tile from a block of rows interleaved by PackedRows: A and B each in two 64-byte loads
// per step.
// (Inlined into the panel loops of gemm_codes_by_tiles: called, it saved and restored the callee-saved
// NEON registers and reloaded the sink's constants from memory every tile.)
template <class Sink>
[[gnu::always_inline]] inline void tile_packed(const int8_t* a, const int8_t* panel, int64_t kmain,
                                               const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr][2];
  #pragma GCC unroll 16
  for (auto& row : acc) row[0] = vld1q_s32(init), row[1] = vld1q_s32(init + 4);
  for (int64_t steps = kmain / kStep; steps > 0; --steps) {
    const int8x16x4_t a0 = load64_and_step(a), a1 = load64_and_step(a);
    const int8x16x4_t b0 = load64_and_step(panel), b1 = load64_and_step(panel);
    const int8x16_t av[kMr] = {a0.val[0], a0.val[1], a0.val[2], a0.val[3], a1.val[0], a1.val[1], a1.val[2], a1.val[3]};
    dot_group<0>(acc, av, b0.val[0], b0.val[1]);
    dot_group<1>(acc, av, b0.val[2], b0.val[3]);
    dot_group<2>(acc, av, b1.val[0], b1.val[1]);
    dot_group<3>(acc, av, b1.val[2], b1.val[3]);
  }
  sink.store(acc);
}

// One GEMM call's micro-kernel: a block of rows is interleaved when for_each_tile reaches its first
// panel (it visits every block's panels in order from 0) and read by tile_packed for each panel.
class PackedRows {
 public:
  explicit PackedRows(const PackedB& b)
      : first_panel_(b.packed.data()), kmain_(b.kmain), rows_(static_cast<size_t>(kMr * b.kmain)) {}
  template <class Sink>
  [[gnu::always_inline]] void operator()(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps,
                                         const int32_t* init, const Sink& sink) {
    if (panel == first_panel_) pack(a, taps);
    tile_packed(rows_.data(), panel, kmain_, init, sink);
  }

 private:
  void pack(const int8_t* const* a, const Int8Taps& taps) {
    int8_t* dst = rows_.data();
    for_each_step<kMr, kStep, kMr * kStep>(a, taps, dst, [&](const int8_t* const* rows, int64_t k) {
      const int8x16x4_t first = {{vld1q_s8(rows[0] + k), vld1q_s8(rows[1] + k), vld1q_s8(rows[2] + k),
                                  vld1q_s8(rows[3] + k)}};
      const int8x16x4_t second = {{vld1q_s8(rows[4] + k), vld1q_s8(rows[5] + k), vld1q_s8(rows[6] + k),
                                   vld1q_s8(rows[7] + k)}};
      vst1q_s8_x4(dst, first);
      vst1q_s8_x4(dst + 64, second);
    });
  }
  const int8_t* first_panel_;
  int64_t kmain_;  // the taps' count · len
  std::vector<int8_t> rows_;
};

constexpr auto kTile = [](auto&&... args) { tile(args...); };

// Packing a block of rows costs about as much as one panel's loads of A save: it pays from two panels.
bool packs_rows(const PackedB& b) { return b.n > kNr && b.kmain > 0; }

void gemm(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init, int32_t* c,
          int64_t ldc) {
  if (!packs_rows(b)) return gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, kTile);
  PackedRows tile(b);
  gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, tile);
}

void gemm_codes(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                const CodesRequantization& r, const int8_t* residual, int8_t* c, int64_t ldc) {
  if (!packs_rows(b)) return gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, kTile);
  PackedRows tile(b);
  gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, tile);
}

}  // namespace

const Int8Gemm* int8_gemm_asimddp() {
  static const Int8Gemm g{"asimddp", pack, gemm, gemm_codes};
  return &g;
}

}  // namespace edgequant::engine::arm
