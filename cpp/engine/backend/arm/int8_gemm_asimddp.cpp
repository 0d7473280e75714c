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
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

constexpr int kMr = 8, kNr = 8, kStep = 16;

// Panel layout: for each 4 k up to kmain (for each 16 k, its 4 groups of 4), 8 channels × 4 k.
PackedB pack_panels(const int8_t* b, int64_t n, int64_t k, int64_t kmain) {
  PackedB p;
  p.n = n, p.k = k, p.kmain = kmain;
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

PackedB pack(const int8_t* b, int64_t n, int64_t k) { return pack_panels(b, n, k, k / kStep * kStep); }

PackedB pack_short_taps(const int8_t* b, int64_t n, int64_t k) {
  PackedB p = pack_panels(b, n, k, k);
  p.short_taps = true;
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

// A tile's sums over a block packed by PackedRows, in assembly: every row's accumulators from
// init[0..8), then the steps (≥ 1), each A's 8 rows × 16 k and the panel's 8 channels × 16 k by four
// 4-register LD1s and the 64 SDOTs. Written with intrinsics, GCC's register allocation of the loop
// swung with the code around it: 70 instructions a step in one build, 72 in the next (two vector
// moves). The accumulators are outputs only: in and out, 16 of them pass GCC's 30 operands.
[[gnu::always_inline]] inline void packed_dot_steps(const int8_t* a, const int8_t* panel, int64_t steps,
                                                    const int32_t* init, int32x4_t (&acc)[kMr][2]) {
  asm volatile(
      ".macro EQ_SDOT_LANE b0, b1, lane\n"  // 4 k (lane `lane` of each row's A vector) × 8 channels
      "sdot %[c00].4s, \\b0\\().16b, v0.4b[\\lane]\n sdot %[c01].4s, \\b1\\().16b, v0.4b[\\lane]\n"
      "sdot %[c10].4s, \\b0\\().16b, v1.4b[\\lane]\n sdot %[c11].4s, \\b1\\().16b, v1.4b[\\lane]\n"
      "sdot %[c20].4s, \\b0\\().16b, v2.4b[\\lane]\n sdot %[c21].4s, \\b1\\().16b, v2.4b[\\lane]\n"
      "sdot %[c30].4s, \\b0\\().16b, v3.4b[\\lane]\n sdot %[c31].4s, \\b1\\().16b, v3.4b[\\lane]\n"
      "sdot %[c40].4s, \\b0\\().16b, v4.4b[\\lane]\n sdot %[c41].4s, \\b1\\().16b, v4.4b[\\lane]\n"
      "sdot %[c50].4s, \\b0\\().16b, v5.4b[\\lane]\n sdot %[c51].4s, \\b1\\().16b, v5.4b[\\lane]\n"
      "sdot %[c60].4s, \\b0\\().16b, v6.4b[\\lane]\n sdot %[c61].4s, \\b1\\().16b, v6.4b[\\lane]\n"
      "sdot %[c70].4s, \\b0\\().16b, v7.4b[\\lane]\n sdot %[c71].4s, \\b1\\().16b, v7.4b[\\lane]\n"
      ".endm\n"
      "ldp %q[c00], %q[c01], [%[init]]\n"
      "mov %[c10].16b, %[c00].16b\n mov %[c11].16b, %[c01].16b\n mov %[c20].16b, %[c00].16b\n"
      "mov %[c21].16b, %[c01].16b\n mov %[c30].16b, %[c00].16b\n mov %[c31].16b, %[c01].16b\n"
      "mov %[c40].16b, %[c00].16b\n mov %[c41].16b, %[c01].16b\n mov %[c50].16b, %[c00].16b\n"
      "mov %[c51].16b, %[c01].16b\n mov %[c60].16b, %[c00].16b\n mov %[c61].16b, %[c01].16b\n"
      "mov %[c70].16b, %[c00].16b\n mov %[c71].16b, %[c01].16b\n"
      "1:\n"
      "ld1 {v0.16b - v3.16b}, [%[a]], #64\n"       // rows 0-3, 16 k each
      "ld1 {v4.16b - v7.16b}, [%[a]], #64\n"       // rows 4-7
      "ld1 {v8.16b - v11.16b}, [%[b]], #64\n"      // k 0-3 and 4-7, 8 channels × 4 k each
      "ld1 {v12.16b - v15.16b}, [%[b]], #64\n"     // k 8-11 and 12-15
      "EQ_SDOT_LANE v8, v9, 0\n"
      "EQ_SDOT_LANE v10, v11, 1\n"
      "EQ_SDOT_LANE v12, v13, 2\n"
      "EQ_SDOT_LANE v14, v15, 3\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      ".purgem EQ_SDOT_LANE\n"
      : [a] "+r"(a), [b] "+r"(panel), [steps] "+r"(steps), [c00] "=&w"(acc[0][0]), [c01] "=&w"(acc[0][1]),
        [c10] "=&w"(acc[1][0]), [c11] "=&w"(acc[1][1]), [c20] "=&w"(acc[2][0]), [c21] "=&w"(acc[2][1]),
        [c30] "=&w"(acc[3][0]), [c31] "=&w"(acc[3][1]), [c40] "=&w"(acc[4][0]), [c41] "=&w"(acc[4][1]),
        [c50] "=&w"(acc[5][0]), [c51] "=&w"(acc[5][1]), [c60] "=&w"(acc[6][0]), [c61] "=&w"(acc[6][1]),
        [c70] "=&w"(acc[7][0]), [c71] "=&w"(acc[7][1])
      : [init] "r"(init)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15");
}

// The same tile from a block of rows interleaved by PackedRows.
// (Inlined into the panel loops of gemm_codes_by_tiles: called, it saved and restored the callee-saved
// NEON registers and reloaded the sink's constants from memory every tile.)
template <class Sink>
[[gnu::always_inline]] inline void tile_packed(const int8_t* a, const int8_t* panel, int64_t kmain,
                                               const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr][2];
  packed_dot_steps(a, panel, kmain / kStep, init, acc);
  sink.store(acc);
}

// One GEMM call's micro-kernel: a block of rows is interleaved when for_each_tile reaches its first
// panel (it visits every block's panels in order from 0) and read by tile_packed for each panel.
class PackedRows {
 public:
  explicit PackedRows(const PackedB& b)
      : first_panel_(b.packed.data()), kmain_(b.kmain), rows_(kMr * b.kmain) {}
  template <class Sink>
  [[gnu::always_inline]] void operator()(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps,
                                         const int32_t* init, const Sink& sink) {
    if (panel == first_panel_) pack(a, taps);
    tile_packed(rows_.data(), panel, kmain_, init, sink);
  }

 private:
  // One 16-k step of the 8 rows (their values at row + k) to the stream, in assembly: 8 loads and
  // two 4-register stores stepping the stream's pointer. Through for_each_step's lambda a step took
  // ~41 instructions (the stream's pointer a reference, the rows reloaded per tap); with intrinsics
  // GCC loaded into other registers and moved 4 of them into line for the second store (17).
  static void pack_step(const int8_t* const (&row)[kMr], int64_t k, int8_t*& dst) {
    asm volatile(  // volatile: its only output, the pointer, is dead after a block's last step
        "ldr q0, [%[r0], %[k]]\n\tldr q1, [%[r1], %[k]]\n\tldr q2, [%[r2], %[k]]\n\tldr q3, [%[r3], %[k]]\n\t"
        "ldr q4, [%[r4], %[k]]\n\tldr q5, [%[r5], %[k]]\n\tldr q6, [%[r6], %[k]]\n\tldr q7, [%[r7], %[k]]\n\t"
        "st1 {v0.16b - v3.16b}, [%[dst]], #64\n\tst1 {v4.16b - v7.16b}, [%[dst]], #64"
        : [dst] "+r"(dst)
        : [r0] "r"(row[0]), [r1] "r"(row[1]), [r2] "r"(row[2]), [r3] "r"(row[3]), [r4] "r"(row[4]),
          [r5] "r"(row[5]), [r6] "r"(row[6]), [r7] "r"(row[7]), [k] "r"(k)
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "memory");
  }
  void pack(const int8_t* const* a, const Int8Taps& taps) {
    int8_t* dst = rows_.data();
    const int8_t* const row[kMr] = {a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]};
    // the taps in locals: pack_step's memory clobber would have them reloaded every step
    const int64_t* const offsets = taps.offsets;
    const int64_t count = taps.count, len = taps.len;
    if (len == kStep) {  // one step a tap (16-channel layers): no inner loop
      for (int64_t t = 0; t < count; ++t) pack_step(row, offsets[t], dst);
      return;
    }
    for (int64_t t = 0; t < count; ++t)
      for (int64_t k = offsets[t], end = k + len; k < end; k += kStep) pack_step(row, k, dst);
  }
  const int8_t* first_panel_;
  int64_t kmain_;  // the taps' count · len
  Scratch<int8_t> rows_;  // written by pack() before tile_packed reads it
};

// Short taps (int8_gemm.h): per tap, each row's 16 bytes by one load, its first kLanes groups of
// 4 k against the panel's 8 channels × 4 k for each (the B vectors of a tap loaded once for the 8
// rows). A 3×3 conv over RGB: 3 taps × (8 loads + 3 B pairs + 48 SDOTs) a tile, where im2col
// rows of 32 took ~25 instructions a row to copy and 2 full steps.
template <int kLane, int kLanes>
[[gnu::always_inline]] inline void dot_lanes(int32x4_t (&acc)[2], const int8x16_t (&b)[4][2], int8x16_t a) {
  if constexpr (kLane < kLanes) {
    acc[0] = vdotq_laneq_s32(acc[0], b[kLane][0], a, kLane);
    acc[1] = vdotq_laneq_s32(acc[1], b[kLane][1], a, kLane);
    dot_lanes<kLane + 1, kLanes>(acc, b, a);
  }
}

template <int kLanes, class Sink>
[[gnu::always_inline]] inline void tile_short(const int8_t* const* a, const int8_t* panel, const Int8Taps& taps,
                                              const int32_t* init, const Sink& sink) {
  int32x4_t acc[kMr][2];
  #pragma GCC unroll 16
  for (auto& row : acc) row[0] = vld1q_s32(init), row[1] = vld1q_s32(init + 4);
  const int8_t* const row[kMr] = {a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]};
  const int64_t* const offsets = taps.offsets;
  const int64_t count = taps.count;
  for (int64_t t = 0; t < count; ++t, panel += kLanes * 32) {
    const int64_t offset = offsets[t];
    int8x16_t b[4][2];
    #pragma GCC unroll 4
    for (int lane = 0; lane < kLanes; ++lane)
      b[lane][0] = vld1q_s8(panel + 32 * lane), b[lane][1] = vld1q_s8(panel + 32 * lane + 16);
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) dot_lanes<0, kLanes>(acc[r], b, vld1q_s8(row[r] + offset));
  }
  sink.store(acc);
}

// f(tile) with the short-tap tile of taps.len / 4 lanes.
template <class F>
void with_short_tile(const Int8Taps& taps, F&& f) {
  switch (taps.len) {
    case 4: return f([](auto&&... args) { tile_short<1>(args...); });
    case 8: return f([](auto&&... args) { tile_short<2>(args...); });
    case 12: return f([](auto&&... args) { tile_short<3>(args...); });
    default: return f([](auto&&... args) { tile_short<4>(args...); });
  }
}

// The GEMMs of a B packed by pack_short_taps: the tile of the taps' length.
void gemm_short_taps(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                     int32_t* c, int64_t ldc) {
  with_short_tile(taps, [&](auto tile) { gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, tile); });
}

void gemm_codes_short_taps(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b,
                           const int32_t* init, const CodesRequantization& r, const int8_t* residual, int8_t* c,
                           int64_t ldc) {
  with_short_tile(taps, [&](auto tile) {
    gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, tile);
  });
}

constexpr auto kTile = [](auto&&... args) { tile(args...); };

// Packing a block of rows costs about as much as one panel's loads of A save: it pays from two panels.
bool packs_rows(const PackedB& b) { return b.n > kNr && b.kmain > 0; }

void gemm(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init, int32_t* c,
          int64_t ldc) {
  if (b.short_taps) return gemm_short_taps(a, taps, m, b, init, c, ldc);
  if (!packs_rows(b)) return gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, kTile);
  PackedRows tile(b);
  gemm_by_tiles<kMr, kNr>(a, taps, m, b, init, c, ldc, tile);
}

void gemm_codes(const int8_t* const* a, const Int8Taps& taps, int64_t m, const PackedB& b, const int32_t* init,
                const CodesRequantization& r, const int8_t* residual, int8_t* c, int64_t ldc) {
  if (b.short_taps) return gemm_codes_short_taps(a, taps, m, b, init, r, residual, c, ldc);
  if (!packs_rows(b)) return gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, kTile);
  PackedRows tile(b);
  gemm_codes_by_tiles<kMr, kNr>(a, taps, m, b, init, r, residual, c, ldc, tile);
}

}  // namespace

const Int8Gemm* int8_gemm_asimddp() {
  static const Int8Gemm g{"asimddp", pack, gemm, gemm_codes, pack_short_taps};
  return &g;
}

}  // namespace edgequant::engine::arm
