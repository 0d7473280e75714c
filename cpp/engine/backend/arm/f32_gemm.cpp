// An 8×8 tile of C in 16 NEON registers; 4 k per step with FMLA by lane (one A vector per row),
// then single k with a broadcast. Rows beyond m repeat the last row and are not stored. With an
// epilogue, bias and activation are applied to the tile in registers (one pass over C fewer), by
// the same vector steps as the separate pass (epilogue.h activate_as): the same values.
//
// Where B has more than one panel and k at least 16, each block of 8 rows is first interleaved into
// one stream (4 k of row 0, 4 k of row 1, ...), once for all of its panels, and each tile's 4-k steps
// run in one assembly loop: 8 A and 8 B vectors by four 4-register loads, 64 FMLAs (70 instructions
// a step; the loop in intrinsics is 80: eight loads of A, four pairs of B, the index's add and compare).
// GCC spilled accumulators when it allocated the same loop from intrinsics (16 accumulators, 8 A and
// 8 B vectors fill the 32 registers). The same FMLAs in the same order: the same values.
//
// A last block of at most 4 rows runs 4 x 8 tiles instead (8 accumulators, intrinsics).
#include "backend/arm/f32_gemm.h"

#include <arm_neon.h>

#include <algorithm>

#include "backend/arm/epilogue.h"
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {
constexpr int kMr = 8, kNr = 8, kShortRows = 4;

template <int kLane, int kRows>
inline void fma_lane(float32x4_t (&acc)[kRows][2], const float32x4_t (&av)[kRows], const float* p) {
  const float32x4_t b0 = vld1q_f32(p), b1 = vld1q_f32(p + 4);
  #pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, av[r], kLane);
    acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, av[r], kLane);
  }
}

// The 4-k steps of a tile from a block packed by pack_rows: acc (8 rows × 8 columns, rows `ld` floats
// apart, stored a row at a time; without kStrided rows 8 floats apart, by four 4-register stores) =
// Σ over `steps` (≥ 1) steps of A's 8 × 4 by the panel's 4 × 8, each accumulator's FMLAs in k order.
// A step: rows 0-3 and 4-7 (4 k each) by two 4-register loads, k 0-1 and 2-3 of the panel's 8 columns
// by two more, then per k (lane) of A each row's lane times the 8 columns.
#define EQ_PACKED8_LOOP                                                                                               \
  ".macro EQ_FMLA_LANE b0, b1, lane\n"                                                                                \
  "fmla v16.4s, \\b0\\().4s, v0.s[\\lane]\n fmla v17.4s, \\b1\\().4s, v0.s[\\lane]\n"                                 \
  "fmla v18.4s, \\b0\\().4s, v1.s[\\lane]\n fmla v19.4s, \\b1\\().4s, v1.s[\\lane]\n"                                 \
  "fmla v20.4s, \\b0\\().4s, v2.s[\\lane]\n fmla v21.4s, \\b1\\().4s, v2.s[\\lane]\n"                                 \
  "fmla v22.4s, \\b0\\().4s, v3.s[\\lane]\n fmla v23.4s, \\b1\\().4s, v3.s[\\lane]\n"                                 \
  "fmla v24.4s, \\b0\\().4s, v4.s[\\lane]\n fmla v25.4s, \\b1\\().4s, v4.s[\\lane]\n"                                 \
  "fmla v26.4s, \\b0\\().4s, v5.s[\\lane]\n fmla v27.4s, \\b1\\().4s, v5.s[\\lane]\n"                                 \
  "fmla v28.4s, \\b0\\().4s, v6.s[\\lane]\n fmla v29.4s, \\b1\\().4s, v6.s[\\lane]\n"                                 \
  "fmla v30.4s, \\b0\\().4s, v7.s[\\lane]\n fmla v31.4s, \\b1\\().4s, v7.s[\\lane]\n"                                 \
  ".endm\n"                                                                                                           \
  "movi v16.4s, #0\n movi v17.4s, #0\n movi v18.4s, #0\n movi v19.4s, #0\n"                                           \
  "movi v20.4s, #0\n movi v21.4s, #0\n movi v22.4s, #0\n movi v23.4s, #0\n"                                           \
  "movi v24.4s, #0\n movi v25.4s, #0\n movi v26.4s, #0\n movi v27.4s, #0\n"                                           \
  "movi v28.4s, #0\n movi v29.4s, #0\n movi v30.4s, #0\n movi v31.4s, #0\n"                                           \
  "1:\n"                                                                                                              \
  "ld1 {v0.4s - v3.4s}, [%[a]], #64\n"                                                                                \
  "ld1 {v4.4s - v7.4s}, [%[a]], #64\n"                                                                                \
  "ld1 {v8.4s - v11.4s}, [%[b]], #64\n"                                                                               \
  "ld1 {v12.4s - v15.4s}, [%[b]], #64\n"                                                                              \
  "EQ_FMLA_LANE v8, v9, 0\n"                                                                                          \
  "EQ_FMLA_LANE v10, v11, 1\n"                                                                                        \
  "EQ_FMLA_LANE v12, v13, 2\n"                                                                                        \
  "EQ_FMLA_LANE v14, v15, 3\n"                                                                                        \
  "subs %[steps], %[steps], #1\n"                                                                                     \
  "b.ne 1b\n"                                                                                                         \
  ".purgem EQ_FMLA_LANE\n"
#define EQ_PACKED8_OPERANDS                                                                                    \
  : [a] "+r"(a), [b] "+r"(b), [steps] "+r"(steps), [acc] "+r"(acc)                                              \
  : [row] "r"(row_bytes)                                                                                         \
  : "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", \
    "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", \
    "v31"
template <bool kStrided>
__attribute__((noinline)) void packed_steps(const float* a, const float* b, int64_t steps, float* acc, int64_t ld) {
  const int64_t row_bytes = ld * static_cast<int64_t>(sizeof(float));
  if constexpr (kStrided)
    asm volatile(EQ_PACKED8_LOOP
                 "st1 {v16.4s, v17.4s}, [%[acc]], %[row]\n st1 {v18.4s, v19.4s}, [%[acc]], %[row]\n"
                 "st1 {v20.4s, v21.4s}, [%[acc]], %[row]\n st1 {v22.4s, v23.4s}, [%[acc]], %[row]\n"
                 "st1 {v24.4s, v25.4s}, [%[acc]], %[row]\n st1 {v26.4s, v27.4s}, [%[acc]], %[row]\n"
                 "st1 {v28.4s, v29.4s}, [%[acc]], %[row]\n st1 {v30.4s, v31.4s}, [%[acc]]\n" EQ_PACKED8_OPERANDS);
  else
    asm volatile(EQ_PACKED8_LOOP
                 "st1 {v16.4s - v19.4s}, [%[acc]], #64\n st1 {v20.4s - v23.4s}, [%[acc]], #64\n"
                 "st1 {v24.4s - v27.4s}, [%[acc]], #64\n st1 {v28.4s - v31.4s}, [%[acc]]\n" EQ_PACKED8_OPERANDS);
}

// packed_steps<true> with the bias added (8 floats at `bias`, a vector pair per row) and the activation of
// kKind — none, relu (FMAXNM against zero) or clip (x < lo ? lo : x, then hi < x ? hi : x, by compare and
// bit insert; NaN stays) — in the registers before the store: as tile()'s epilogue of those kinds without
// its affine step (activate_as: the same operations), without its pass through a stack buffer (~24
// instructions a tile: 1x1 convs of 16-64 channels spent ~10 % there). `bounds`: clip's lo and hi.
template <Activation::Kind kKind>
__attribute__((noinline)) void packed_steps_biased(const float* a, const float* b, int64_t steps, float* acc,
                                                   int64_t ld, const float* bias, const float* bounds) {
  const int64_t row_bytes = ld * static_cast<int64_t>(sizeof(float));
#define EQ_ADD_BIAS                                                                                   \
  "ld1 {v0.4s, v1.4s}, [%[bias]]\n"                                                                   \
  "fadd v16.4s, v16.4s, v0.4s\n fadd v17.4s, v17.4s, v1.4s\n fadd v18.4s, v18.4s, v0.4s\n"           \
  "fadd v19.4s, v19.4s, v1.4s\n fadd v20.4s, v20.4s, v0.4s\n fadd v21.4s, v21.4s, v1.4s\n"           \
  "fadd v22.4s, v22.4s, v0.4s\n fadd v23.4s, v23.4s, v1.4s\n fadd v24.4s, v24.4s, v0.4s\n"           \
  "fadd v25.4s, v25.4s, v1.4s\n fadd v26.4s, v26.4s, v0.4s\n fadd v27.4s, v27.4s, v1.4s\n"           \
  "fadd v28.4s, v28.4s, v0.4s\n fadd v29.4s, v29.4s, v1.4s\n fadd v30.4s, v30.4s, v0.4s\n"           \
  "fadd v31.4s, v31.4s, v1.4s\n"
#define EQ_STORE_STRIDED                                                                              \
  "st1 {v16.4s, v17.4s}, [%[acc]], %[row]\n st1 {v18.4s, v19.4s}, [%[acc]], %[row]\n"                 \
  "st1 {v20.4s, v21.4s}, [%[acc]], %[row]\n st1 {v22.4s, v23.4s}, [%[acc]], %[row]\n"                 \
  "st1 {v24.4s, v25.4s}, [%[acc]], %[row]\n st1 {v26.4s, v27.4s}, [%[acc]], %[row]\n"                 \
  "st1 {v28.4s, v29.4s}, [%[acc]], %[row]\n st1 {v30.4s, v31.4s}, [%[acc]]\n"
#define EQ_BIASED_OPERANDS                                                                                     \
  : [a] "+r"(a), [b] "+r"(b), [steps] "+r"(steps), [acc] "+r"(acc)                                              \
  : [row] "r"(row_bytes), [bias] "r"(bias), [bounds] "r"(bounds)                                               \
  : "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", \
    "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", \
    "v31"
  if constexpr (kKind == Activation::Kind::relu)
    asm volatile(EQ_PACKED8_LOOP EQ_ADD_BIAS
                 "movi v2.4s, #0\n"
                 ".irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31\n"
                 "fmaxnm v\\r\\().4s, v\\r\\().4s, v2.4s\n"
                 ".endr\n" EQ_STORE_STRIDED EQ_BIASED_OPERANDS);
  else if constexpr (kKind == Activation::Kind::clip)
    asm volatile(EQ_PACKED8_LOOP EQ_ADD_BIAS
                 "ld2r {v2.4s, v3.4s}, [%[bounds]]\n"  // lo, hi
                 ".irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31\n"
                 "fcmgt v4.4s, v2.4s, v\\r\\().4s\n bit v\\r\\().16b, v2.16b, v4.16b\n"   // x < lo: lo
                 "fcmgt v4.4s, v\\r\\().4s, v3.4s\n bit v\\r\\().16b, v3.16b, v4.16b\n"   // hi < x: hi
                 ".endr\n" EQ_STORE_STRIDED EQ_BIASED_OPERANDS);
  else
    asm volatile(EQ_PACKED8_LOOP EQ_ADD_BIAS EQ_STORE_STRIDED EQ_BIASED_OPERANDS);
#undef EQ_ADD_BIAS
#undef EQ_STORE_STRIDED
#undef EQ_BIASED_OPERANDS
}
#undef EQ_PACKED8_LOOP
#undef EQ_PACKED8_OPERANDS

// packed_steps for a block of 4 rows (pack_rows<4>): acc (4 × 8, rows `ld` floats apart), 32 FMLAs a step.
__attribute__((noinline)) void packed_steps4(const float* a, const float* b, int64_t steps, float* acc, int64_t ld) {
  const int64_t row_bytes = ld * static_cast<int64_t>(sizeof(float));
  asm volatile(
      ".macro EQ_FMLA_LANE4 b0, b1, lane\n"
      "fmla v16.4s, \\b0\\().4s, v0.s[\\lane]\n fmla v17.4s, \\b1\\().4s, v0.s[\\lane]\n"
      "fmla v18.4s, \\b0\\().4s, v1.s[\\lane]\n fmla v19.4s, \\b1\\().4s, v1.s[\\lane]\n"
      "fmla v20.4s, \\b0\\().4s, v2.s[\\lane]\n fmla v21.4s, \\b1\\().4s, v2.s[\\lane]\n"
      "fmla v22.4s, \\b0\\().4s, v3.s[\\lane]\n fmla v23.4s, \\b1\\().4s, v3.s[\\lane]\n"
      ".endm\n"
      "movi v16.4s, #0\n movi v17.4s, #0\n movi v18.4s, #0\n movi v19.4s, #0\n"
      "movi v20.4s, #0\n movi v21.4s, #0\n movi v22.4s, #0\n movi v23.4s, #0\n"
      "1:\n"
      "ld1 {v0.4s - v3.4s}, [%[a]], #64\n"   // rows 0-3, 4 k each
      "ld1 {v4.4s - v7.4s}, [%[b]], #64\n"   // k 0 and 1, 8 columns each
      "ld1 {v24.4s - v27.4s}, [%[b]], #64\n" // k 2 and 3
      "EQ_FMLA_LANE4 v4, v5, 0\n"
      "EQ_FMLA_LANE4 v6, v7, 1\n"
      "EQ_FMLA_LANE4 v24, v25, 2\n"
      "EQ_FMLA_LANE4 v26, v27, 3\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      ".purgem EQ_FMLA_LANE4\n"
      "st1 {v16.4s, v17.4s}, [%[acc]], %[row]\n st1 {v18.4s, v19.4s}, [%[acc]], %[row]\n"
      "st1 {v20.4s, v21.4s}, [%[acc]], %[row]\n st1 {v22.4s, v23.4s}, [%[acc]]\n"
      : [a] "+r"(a), [b] "+r"(b), [steps] "+r"(steps), [acc] "+r"(acc)
      : [row] "r"(row_bytes)
      : "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21",
        "v22", "v23", "v24", "v25", "v26", "v27");
}

// packed_steps4 over two adjacent panels at once (b0, b1): acc 4 × 16, the 16 accumulators of an 8-row
// tile; per step A's 4 vectors and the panels' 4 k in two halves, 71 instructions a 64 FMLAs against
// packed_steps4's 74 (Winograd's products on 7x7 maps: 4 tiles, every block short). Each accumulator's
// FMLAs in k order, as packed_steps4's: the same values.
__attribute__((noinline)) void packed_steps4x16(const float* a, const float* b0, const float* b1, int64_t steps,
                                                float* acc, int64_t ld) {
  const int64_t row_bytes = ld * static_cast<int64_t>(sizeof(float));
  asm volatile(
      ".macro EQ_FMLA_LANE16 p0, p1, q0, q1, lane\n"
      "fmla v16.4s, \\p0\\().4s, v0.s[\\lane]\n fmla v17.4s, \\p1\\().4s, v0.s[\\lane]\n"
      "fmla v18.4s, \\q0\\().4s, v0.s[\\lane]\n fmla v19.4s, \\q1\\().4s, v0.s[\\lane]\n"
      "fmla v20.4s, \\p0\\().4s, v1.s[\\lane]\n fmla v21.4s, \\p1\\().4s, v1.s[\\lane]\n"
      "fmla v22.4s, \\q0\\().4s, v1.s[\\lane]\n fmla v23.4s, \\q1\\().4s, v1.s[\\lane]\n"
      "fmla v24.4s, \\p0\\().4s, v2.s[\\lane]\n fmla v25.4s, \\p1\\().4s, v2.s[\\lane]\n"
      "fmla v26.4s, \\q0\\().4s, v2.s[\\lane]\n fmla v27.4s, \\q1\\().4s, v2.s[\\lane]\n"
      "fmla v28.4s, \\p0\\().4s, v3.s[\\lane]\n fmla v29.4s, \\p1\\().4s, v3.s[\\lane]\n"
      "fmla v30.4s, \\q0\\().4s, v3.s[\\lane]\n fmla v31.4s, \\q1\\().4s, v3.s[\\lane]\n"
      ".endm\n"
      "movi v16.4s, #0\n movi v17.4s, #0\n movi v18.4s, #0\n movi v19.4s, #0\n"
      "movi v20.4s, #0\n movi v21.4s, #0\n movi v22.4s, #0\n movi v23.4s, #0\n"
      "movi v24.4s, #0\n movi v25.4s, #0\n movi v26.4s, #0\n movi v27.4s, #0\n"
      "movi v28.4s, #0\n movi v29.4s, #0\n movi v30.4s, #0\n movi v31.4s, #0\n"
      "1:\n"
      "ld1 {v0.4s - v3.4s}, [%[a]], #64\n"    // rows 0-3, 4 k each
      "ld1 {v4.4s - v7.4s}, [%[b0]], #64\n"   // k 0 and 1 of the first panel's 8 columns
      "ld1 {v8.4s - v11.4s}, [%[b1]], #64\n"  // and of the second's
      "EQ_FMLA_LANE16 v4, v5, v8, v9, 0\n"
      "EQ_FMLA_LANE16 v6, v7, v10, v11, 1\n"
      "ld1 {v4.4s - v7.4s}, [%[b0]], #64\n"   // k 2 and 3
      "ld1 {v8.4s - v11.4s}, [%[b1]], #64\n"
      "EQ_FMLA_LANE16 v4, v5, v8, v9, 2\n"
      "EQ_FMLA_LANE16 v6, v7, v10, v11, 3\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      ".purgem EQ_FMLA_LANE16\n"
      "st1 {v16.4s - v19.4s}, [%[acc]], %[row]\n st1 {v20.4s - v23.4s}, [%[acc]], %[row]\n"
      "st1 {v24.4s - v27.4s}, [%[acc]], %[row]\n st1 {v28.4s - v31.4s}, [%[acc]]\n"
      : [a] "+r"(a), [b0] "+r"(b0), [b1] "+r"(b1), [steps] "+r"(steps), [acc] "+r"(acc)
      : [row] "r"(row_bytes)
      : "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17", "v18",
        "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

// One block of A already interleaved (pack_rows; 4 rows where valid_rows <= 4, else 8) times every panel
// of B over the whole k (a multiple of 4), no epilogue, into C's rows from c: whole tiles stored by the
// assembly loops themselves, pairs of whole panels of a 4-row block as one 4 x 16 tile.
void packed_block(const float* block, int64_t valid_rows, const PackedF32& b, float* c, int64_t ldc) {
  const int64_t k = b.k, panels = (b.n + kNr - 1) / kNr;
  const bool short_block = valid_rows <= kShortRows;
  for (int64_t panel = 0; panel < panels; ++panel) {
    const float* packed = b.packed.data() + panel * k * kNr;
    const int64_t n0 = panel * kNr, cols = std::min<int64_t>(kNr, b.n - n0);
    const bool whole = valid_rows == (short_block ? kShortRows : kMr) && cols == kNr;
    if (whole && short_block && n0 + 2 * kNr <= b.n) {
      packed_steps4x16(block, packed, packed + k * kNr, k / 4, c + n0, ldc);
      ++panel;  // two panels
      continue;
    }
    float out[kMr * kNr];
    float* to = whole ? c + n0 : out;
    if (short_block) packed_steps4(block, packed, k / 4, to, whole ? ldc : kNr);
    else packed_steps<true>(block, packed, k / 4, to, whole ? ldc : kNr);
    if (whole) continue;
    for (int64_t r = 0; r < valid_rows; ++r) std::copy_n(out + r * kNr, cols, c + r * ldc + n0);
  }
}

// Rows a[0..kRows)'s first kmain values interleaved: for each 4 k, row 0's four, row 1's, ... the last's.
template <int kRows>
void pack_rows(const float* const* a, int64_t kmain, float* dst) {
  for (int64_t j = 0; j < kmain; j += 4, dst += 4 * kRows) {
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) vst1q_f32(dst + 4 * r, vld1q_f32(a[r] + j));
  }
}

// Rows a[0..kRows) × the panel's 8 columns, stored to out (ld floats per row); with kEpilogue,
// act(value + bias[column]) of kKind, its affine step only with kAffine.
// With `packed` (the block's rows interleaved, kmain of k), the 4-k steps run in packed_steps(4).
template <int kRows, bool kEpilogue, Activation::Kind kKind, bool kAffine>
void tile(const float* const* a, const float* panel, int64_t k, float* out, int64_t ld, const float* bias,
          const Activation& act, const float* packed, int64_t kmain) {
  float32x4_t acc[kRows][2];
  int64_t j = 0;
  if (packed) {
    constexpr bool kInAssembly =
        kKind == Activation::Kind::none || kKind == Activation::Kind::relu || kKind == Activation::Kind::clip;
    if constexpr (kEpilogue && !kAffine && kRows == kMr && kInAssembly) {
      if (kmain == k) {
        if constexpr (kKind != Activation::Kind::clip)
          return packed_steps_biased<kKind>(packed, panel, kmain / 4, out, ld, bias, nullptr);
        const float bounds[2] = {act.lo, act.hi};
        return packed_steps_biased<kKind>(packed, panel, kmain / 4, out, ld, bias, bounds);
      }
    }
    alignas(16) float sums[kRows * kNr];
    if constexpr (kRows == kMr) packed_steps<false>(packed, panel, kmain / 4, sums, kNr);
    else packed_steps4(packed, panel, kmain / 4, sums, kNr);
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) acc[r][0] = vld1q_f32(sums + r * kNr), acc[r][1] = vld1q_f32(sums + r * kNr + 4);
    j = kmain, panel += kmain * kNr;
  } else {
    #pragma GCC unroll 16
    for (auto& row : acc) row[0] = row[1] = vdupq_n_f32(0);
  }
  for (; j + 4 <= k; j += 4, panel += 4 * kNr) {
    float32x4_t av[kRows];
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) av[r] = vld1q_f32(a[r] + j);
    fma_lane<0>(acc, av, panel);
    fma_lane<1>(acc, av, panel + 8);
    fma_lane<2>(acc, av, panel + 16);
    fma_lane<3>(acc, av, panel + 24);
  }
  for (; j < k; ++j, panel += kNr) {
    const float32x4_t b0 = vld1q_f32(panel), b1 = vld1q_f32(panel + 4);
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      acc[r][0] = vfmaq_n_f32(acc[r][0], b0, a[r][j]);
      acc[r][1] = vfmaq_n_f32(acc[r][1], b1, a[r][j]);
    }
  }
  if constexpr (kEpilogue) {
    // without the affine step, no test of it per vector (4 instructions each, 64 a tile)
    const Activation a = kAffine ? act : without_affine(act);
    const float32x4_t b0 = vld1q_f32(bias), b1 = vld1q_f32(bias + 4);
    if constexpr (kActivatesFromMemory<kKind>) {  // the sums + bias stored, then activated from there
      #pragma GCC unroll 16
      for (int r = 0; r < kRows; ++r) {
        vst1q_f32(out + r * ld, vaddq_f32(acc[r][0], b0));
        vst1q_f32(out + r * ld + 4, vaddq_f32(acc[r][1], b1));
      }
      return activate_in_place<kKind, kAffine>(act, out, ld, kRows, 2);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      acc[r][0] = activate_as<kKind>(a, vaddq_f32(acc[r][0], b0));
      acc[r][1] = activate_as<kKind>(a, vaddq_f32(acc[r][1], b1));
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r, out += ld) {  // a running pointer: 8 row offsets were kept on the stack
    vst1q_f32(out, acc[r][0]);
    vst1q_f32(out + 4, acc[r][1]);
  }
}

// One function per variant (f32_gemm picks one; not inlined into it, so each keeps a small body).
template <bool kEpilogue, Activation::Kind kKind, bool kAffine>
__attribute__((noinline)) void gemm(const float* const* a, int64_t m, const PackedF32& b, float* c, int64_t ldc,
                                    const float* bias, const Activation& activation) {
  const Activation act = activation;  // a local: the stores through c cannot alias it (no reloads)
  const int64_t panels = (b.n + kNr - 1) / kNr;
  // Packing a block of rows costs about what it saves one panel: it pays from two panels.
  const int64_t kmain = b.k / 4 * 4;
  const bool packs = panels > 1 && kmain >= 16;
  Scratch<float> block(packs ? kMr * kmain : 0);  // pack_rows writes it in full: not cleared first
  for (int64_t m0 = 0; m0 < m; m0 += kMr) {
    const float* rows[kMr];
    #pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) rows[r] = a[std::min<int64_t>(m0 + r, m - 1)];
    const int64_t valid_rows = std::min<int64_t>(kMr, m - m0);
    // A last block of at most 4 rows runs 4-row tiles: an 8-row tile would spend half its FMLAs on
    // repeated rows (Winograd's per-position products of a few tiles, a 7x7 map's 4).
    const bool short_block = valid_rows <= kShortRows;
    if (packs && short_block) pack_rows<kShortRows>(rows, kmain, block.data());
    else if (packs) pack_rows<kMr>(rows, kmain, block.data());
    const float* packed_rows = packs ? block.data() : nullptr;
    if (!kEpilogue && packs && kmain == b.k) {  // the sums are the tiles (Winograd's products)
      packed_block(packed_rows, valid_rows, b, c + m0 * ldc, ldc);
      continue;
    }
    for (int64_t panel = 0; panel < panels; ++panel) {
      const float* packed = b.packed.data() + panel * b.k * kNr;
      const int64_t n0 = panel * kNr, cols = std::min<int64_t>(kNr, b.n - n0);
      const float* panel_bias = kEpilogue ? bias + n0 : nullptr;
      float out[kMr * kNr];
      if (short_block) {
        const bool whole = valid_rows == kShortRows && cols == kNr;
        tile<kShortRows, kEpilogue, kKind, kAffine>(rows, packed, b.k, whole ? c + m0 * ldc + n0 : out,
                                                    whole ? ldc : kNr, panel_bias, act, packed_rows, kmain);
        if (whole) continue;
      } else if (valid_rows == kMr && cols == kNr) {  // a whole tile: straight into C
        tile<kMr, kEpilogue, kKind, kAffine>(rows, packed, b.k, c + m0 * ldc + n0, ldc, panel_bias, act,
                                             packed_rows, kmain);
        continue;
      } else {
        tile<kMr, kEpilogue, kKind, kAffine>(rows, packed, b.k, out, kNr, panel_bias, act, packed_rows, kmain);
      }
      for (int64_t r = 0; r < valid_rows; ++r) std::copy_n(out + r * kNr, cols, c + (m0 + r) * ldc + n0);
    }
  }
}
}  // namespace

void f32_gemm_packed(const float* a, int64_t m, const PackedF32& b, float* c, int64_t ldc) {
  for (int64_t m0 = 0; m0 < m; m0 += kMr)
    packed_block(a + m0 * b.k, std::min<int64_t>(kMr, m - m0), b, c + m0 * ldc, ldc);
}

PackedF32 pack_f32(const float* b, int64_t n, int64_t k) {
  PackedF32 p;
  p.n = n, p.k = k;
  const int64_t panels = (n + kNr - 1) / kNr;
  p.packed.assign(static_cast<size_t>(panels * k * kNr), 0.f);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t j = 0; j < k; ++j) p.packed[((row / kNr) * k + j) * kNr + row % kNr] = b[row * k + j];
  return p;
}

void f32_gemm(const float* const* a, int64_t m, const PackedF32& b, float* c, int64_t ldc,
              const F32Epilogue* epilogue) {
  if (!epilogue) return gemm<false, Activation::Kind::none, false>(a, m, b, c, ldc, nullptr, Activation{});
  with_activation_and_affine(epilogue->act, [&](auto kind, auto affine) {
    gemm<true, decltype(kind)::value, decltype(affine)::value>(a, m, b, c, ldc, epilogue->bias, epilogue->act);
  });
}

}  // namespace edgequant::engine::arm
