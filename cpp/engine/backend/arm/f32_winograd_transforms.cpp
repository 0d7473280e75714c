// The F(4x4, 3x3) and F(6x6, 3x3) transforms on 4-channel NEON vectors, each step the portable one's
// (same operands, same order; no contraction in F(4x4, 3x3), FMLA / FMLS where F(6x6, 3x3)'s portable
// steps call std::fma) so that the results are bit-identical to winograd_f43.cpp's and winograd_f63.cpp's.
// A tile's vectors are loaded straight from the image (or M), transformed in registers and a stack
// array, and stored once; a tile wholly inside the image skips the per-tap bounds test, one across its
// edge reads each tap through a pointer (the pixel, or zeros).
#include "backend/arm/f32_winograd_transforms.h"

#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backend/arm/epilogue.h"
#include "backend/arm/f32_gemm.h"
#include "backend/arm/partial_lanes.h"
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

// r = Bᵀ d along one axis (winograd_f43.cpp input_rows).
inline void input_rows43(const float32x4_t* d, float32x4_t* r, int ds, int rs) {
  const float32x4_t d0 = d[0 * ds], d1 = d[1 * ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
  r[0 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(d0, 4.f), vmulq_n_f32(d2, 5.f)), d4);
  r[1 * rs] = vaddq_f32(vaddq_f32(vmulq_n_f32(vaddq_f32(d1, d2), -4.f), d3), d4);
  r[2 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d1, d2), 4.f), d3), d4);
  r[3 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d3, d1), 2.f), d2), d4);
  r[4 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d1, d3), 2.f), d2), d4);
  r[5 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(d1, 4.f), vmulq_n_f32(d3, 5.f)), d5);
}

// o = Aᵀ m along one axis: six vectors in, four out (winograd_f43.cpp output_rows).
inline void output_rows43(const float32x4_t* m, float32x4_t* o, int ms, int os) {
  const float32x4_t m0 = m[0 * ms], m5 = m[5 * ms];
  const float32x4_t a = vaddq_f32(m[1 * ms], m[2 * ms]), b = vsubq_f32(m[1 * ms], m[2 * ms]);
  const float32x4_t c = vaddq_f32(m[3 * ms], m[4 * ms]), e = vsubq_f32(m[3 * ms], m[4 * ms]);
  o[0 * os] = vaddq_f32(vaddq_f32(m0, a), c);
  o[1 * os] = vaddq_f32(b, vmulq_n_f32(e, 2.f));
  o[2 * os] = vaddq_f32(a, vmulq_n_f32(c, 4.f));
  o[3 * os] = vaddq_f32(vaddq_f32(b, vmulq_n_f32(e, 8.f)), m5);
}

// F(6x6, 3x3)'s multipliers as lanes of three vectors: FMLA / FMLS by element take them from two or three
// registers instead of ten (with ten, GCC spilled and copied transform values around them).
alignas(16) constexpr float kInput63[8] = {5.25f, 4.25f, 1.25f, 2.5f, 0.25f, 0.5f, 2.f, 4.f};
alignas(16) constexpr float kOutput63[12] = {2.f, 4.f, 8.f, 16.f, 0.5f, 0.25f, 0.125f, 0.0625f, 32.f, 0.03125f, 0.f, 0.f};

// The multipliers of `table` from index `at`, in a register GCC cannot see into: seeing the
// constants, it turned every by-element FMLA back into one with a duplicated constant register.
inline float32x4_t opaque_lanes(const float* table, int at) {
  float32x4_t k = vld1q_f32(table + at);
  asm("" : "+w"(k));
  return k;
}

// r = Bᵀ d along one axis, eight vectors in and out (winograd_f63.cpp input_rows; vfmaq_laneq_f32(a, b,
// k, l) is std::fma(b, k[l], a), vfmsq_laneq_f32 std::fma(-b, k[l], a)).
inline void input_rows63(const float32x4_t* d, float32x4_t* r, int ds, int rs, float32x4_t k0, float32x4_t k1) {
  const float32x4_t d0 = d[0 * ds], d1 = d[1 * ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds],
                    d6 = d[6 * ds], d7 = d[7 * ds];
  r[0 * rs] = vfmaq_laneq_f32(vsubq_f32(d0, d6), vsubq_f32(d4, d2), k0, 0);  // + 5.25 (d4 - d2)
  r[7 * rs] = vfmaq_laneq_f32(vsubq_f32(d7, d1), vsubq_f32(d3, d5), k0, 0);
  const float32x4_t even1 = vfmsq_laneq_f32(vaddq_f32(d2, d6), d4, k0, 1);  // − 4.25 d4
  const float32x4_t odd1 = vfmsq_laneq_f32(vaddq_f32(d1, d5), d3, k0, 1);
  r[1 * rs] = vaddq_f32(even1, odd1);
  r[2 * rs] = vsubq_f32(even1, odd1);
  const float32x4_t even3 = vfmsq_laneq_f32(vfmaq_laneq_f32(d6, d2, k1, 0), d4, k0, 2);  // d6 + .25 d2 − 1.25 d4
  const float32x4_t odd3 = vfmaq_laneq_f32(vfmsq_laneq_f32(vmulq_laneq_f32(d1, k1, 1), d3, k0, 3), d5, k1, 2);
  r[3 * rs] = vaddq_f32(even3, odd3);
  r[4 * rs] = vsubq_f32(even3, odd3);
  const float32x4_t even5 = vfmaq_laneq_f32(d6, vfmsq_laneq_f32(d2, d4, k0, 2), k1, 3);  // d6 + 4 (d2 − 1.25 d4)
  const float32x4_t odd5 = vfmaq_laneq_f32(vfmsq_laneq_f32(vmulq_laneq_f32(d1, k1, 2), d3, k0, 3), d5, k1, 1);
  r[5 * rs] = vaddq_f32(even5, odd5);
  r[6 * rs] = vsubq_f32(even5, odd5);
}

// o = Aᵀ m along one axis: eight vectors in, six out (winograd_f63.cpp output_rows).
inline void output_rows63(const float32x4_t* m, float32x4_t* o, int ms, int os, float32x4_t k0, float32x4_t k1,
                          float32x4_t k2) {
  const float32x4_t a1 = vaddq_f32(m[1 * ms], m[2 * ms]), b1 = vsubq_f32(m[1 * ms], m[2 * ms]);
  const float32x4_t a2 = vaddq_f32(m[3 * ms], m[4 * ms]), b2 = vsubq_f32(m[3 * ms], m[4 * ms]);
  const float32x4_t a3 = vaddq_f32(m[5 * ms], m[6 * ms]), b3 = vsubq_f32(m[5 * ms], m[6 * ms]);
  o[0 * os] = vaddq_f32(vaddq_f32(vaddq_f32(m[0 * ms], a1), a2), a3);
  o[1 * os] = vfmaq_laneq_f32(vfmaq_laneq_f32(b1, b2, k0, 0), b3, k1, 0);  // b1 + 2 b2 + b3 / 2
  o[2 * os] = vfmaq_laneq_f32(vfmaq_laneq_f32(a1, a2, k0, 1), a3, k1, 1);
  o[3 * os] = vfmaq_laneq_f32(vfmaq_laneq_f32(b1, b2, k0, 2), b3, k1, 2);
  o[4 * os] = vfmaq_laneq_f32(vfmaq_laneq_f32(a1, a2, k0, 3), a3, k1, 3);
  o[5 * os] = vfmaq_laneq_f32(vfmaq_laneq_f32(vaddq_f32(m[7 * ms], b1), b2, k2, 0), b3, k2, 1);
}

// F(6x6, 3x3)'s Bᵀ d B, rows first (winograd_f63.cpp): each row's 8 taps loaded and transformed as
// they come, the columns stored through a running pointer (64 addresses a stride apart were otherwise
// each kept in a register or on the stack: ~2x the arithmetic's instructions).
template <typename Load>
inline void input_tile63(const Load& load, float* out, int64_t q_stride) {
  const float32x4_t k0 = opaque_lanes(kInput63, 0), k1 = opaque_lanes(kInput63, 4);
  float32x4_t rows[64];
  #pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    float32x4_t taps[8];
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) taps[j] = load(i, j);
    input_rows63(taps, rows + i * 8, 1, 1, k0, k1);  // d B
  }
  #pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    float32x4_t r[8];
    input_rows63(rows + j, r, 8, 1, k0, k1);  // Bᵀ (d B)
    float* p = out + j * q_stride;
    #pragma GCC unroll 8
    for (int i = 0; i < 8; ++i, p += 8 * q_stride) vst1q_f32(p, r[i]);
  }
}

// F(4x4, 3x3)'s Bᵀ d B of one tile's 4 channels, tap (i, j) as load(i, j), stored at position q to
// out + q * q_stride.
template <typename Load>
inline void input_tile43(const Load& load, float* out, int64_t q_stride) {
  float32x4_t columns[36];
  #pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float32x4_t taps[6];
    #pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) taps[i] = load(i, j);
    input_rows43(taps, columns + j, 1, 6);  // Bᵀ d
  }
  #pragma GCC unroll 6
  for (int i = 0; i < 6; ++i) {
    float32x4_t r[6];
    input_rows43(columns + i * 6, r, 1, 1);  // (Bᵀ d) B
    #pragma GCC unroll 6
    for (int j = 0; j < 6; ++j) vst1q_f32(out + (i * 6 + j) * q_stride, r[j]);
  }
}

// F(6x6, 3x3)'s Aᵀ M A, rows first (winograd_f63.cpp), the 64 positions read through a running pointer;
// output (i, j) to sink(i, j, value), a column at a time.
template <typename Sink>
inline void output_tile63(const float* m, int64_t q_stride, const Sink& sink) {
  const float32x4_t k0 = opaque_lanes(kOutput63, 0), k1 = opaque_lanes(kOutput63, 4), k2 = opaque_lanes(kOutput63, 8);
  float32x4_t rows[48];
  const float* p = m;
  #pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    float32x4_t products[8];
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j, p += q_stride) products[j] = vld1q_f32(p);
    output_rows63(products, rows + i * 6, 1, 1, k0, k1, k2);  // M A: 8 x 6
  }
  #pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float32x4_t column[6];
    output_rows63(rows + j, column, 6, 1, k0, k1, k2);  // Aᵀ (M A)
    #pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) sink(i, j, column[i]);
  }
}

// F(4x4, 3x3)'s Aᵀ M A of one tile's 4 channels, position q at m + q * q_stride, into o (row-major 4 x 4).
inline void output_tile43(const float* m, int64_t q_stride, float32x4_t (&o)[16]) {
  float32x4_t columns[24];
  #pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float32x4_t products[6];
    #pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) products[i] = vld1q_f32(m + (i * 6 + j) * q_stride);
    output_rows43(products, columns + j, 1, 6);  // Aᵀ M: 4 x 6
  }
  #pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) output_rows43(columns + i * 6, o + i * 4, 1, 1);  // (Aᵀ M) A: 4 x 4
}

// The two variants: output pixels per tile side, input pixels per side, and their tile transforms (a
// tile's taps by a load(i, j), or at d + i * row + j * col).
struct F43 {
  static constexpr int kTile = 4, kSide = 6;
  template <typename Load>
  static void input_tile(const Load& load, float* out, int64_t q_stride) { input_tile43(load, out, q_stride); }
  static void input_tile(const float* d, int64_t row, int64_t col, float* out, int64_t q_stride) {
    input_tile43([&](int i, int j) { return vld1q_f32(d + i * row + j * col); }, out, q_stride);
  }
  static void output_tile(const float* m, int64_t q_stride, float32x4_t (&o)[16]) { output_tile43(m, q_stride, o); }
};
struct F63 {
  static constexpr int kTile = 6, kSide = 8;
  template <typename Load>
  static void input_tile(const Load& load, float* out, int64_t q_stride) { input_tile63(load, out, q_stride); }
  static void input_tile(const float* d, int64_t row, int64_t col, float* out, int64_t q_stride) {
    // A running pointer along each row (the loads come in row order, j = 0..7): GCC then adds `col` once
    // per tap instead of forming each d + i * row + j * col (ResNet-18 FP32: 0.3 M fewer).
    const float* p = d;
    int at = 0;
    input_tile63([&](int i, int j) {
      if (j == 0) p = d + i * row, at = 0;
      for (; at < j; ++at) p += col;
      return vld1q_f32(p);
    }, out, q_stride);
  }
  static void output_tile(const float* m, int64_t q_stride, float32x4_t (&o)[36]) {
    output_tile63(m, q_stride, [&](int i, int j, float32x4_t value) { o[i * 6 + j] = value; });
  }
};

// With `packed` (ic a multiple of 4), each position's rows in f32_gemm_packed's interleaved form: tile
// k's channels c..c+3 at packed_row(plane, k, count, ic) + c * packed_rows(k, count).
template <class V>
void input(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count, int64_t block,
           float* v, bool packed) {
  constexpr int kTile = V::kTile, kSide = V::kSide, kPositions = kSide * kSide;
  const int64_t tiles_w = t.tiles_w(), ic4 = ic / 4 * 4, q_stride = block * ic;
  Scratch<float> zeros;  // what a tap outside the image reads, for every channel (filled on first need)
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile - t.pad_top, x0 = tile % tiles_w * kTile - t.pad_left;
    const bool whole = y0 >= 0 && x0 >= 0 && y0 + kSide <= t.ih && x0 + kSide <= t.iw;
    // position q of channels c..c+3 at out + c * spread + q * q_stride
    float* out = packed ? packed_row(v, k, count, ic) : v + k * ic;
    const int64_t spread = packed ? packed_rows(k, count) : 1;
    int64_t c = 0;
    if (whole) {  // the taps where they lie
      for (const float* origin = x + (y0 * t.iw + x0) * ic; c < ic4; c += 4)
        V::input_tile(origin + c, t.iw * ic, ic, out + c * spread, q_stride);
    } else if (ic4 > 0) {
      // Across the image's edge: each tap's pixel, or zeros outside the image, read in place (a
      // zero-padded copy of every tap cost ~20 instructions a tap, a quarter of ResNet-18's tiles).
      if (!zeros.data()) {
        zeros = Scratch<float>(ic4);
        std::fill_n(zeros.data(), ic4, 0.f);
      }
      const float* taps[kPositions];
      for (int i = 0; i < kSide; ++i)
        for (int j = 0; j < kSide; ++j) {
          const int64_t row = y0 + i, col = x0 + j;
          const bool inside = row >= 0 && row < t.ih && col >= 0 && col < t.iw;
          taps[i * kSide + j] = inside ? x + (row * t.iw + col) * ic : zeros.data();
        }
      for (; c < ic4; c += 4)
        V::input_tile([&](int i, int j) { return vld1q_f32(taps[i * kSide + j] + c); }, out + c * spread, q_stride);
    }
    for (; c < ic; c += 4) {  // the last channels (fewer than 4): a zero-padded copy
      const int64_t n = ic - c;
      alignas(16) float d[kPositions][4] = {};
      for (int i = 0; i < kSide; ++i)
        for (int j = 0; j < kSide; ++j)
          if (y0 + i >= 0 && y0 + i < t.ih && x0 + j >= 0 && x0 + j < t.iw)
            std::memcpy(d[i * kSide + j], x + ((y0 + i) * t.iw + x0 + j) * ic + c, static_cast<size_t>(n) * sizeof(float));
      alignas(16) float r[kPositions][4];
      V::input_tile(&d[0][0], kSide * 4, 4, &r[0][0], 4);
      for (int q = 0; q < kPositions; ++q) std::memcpy(out + q * q_stride + c, r[q], static_cast<size_t>(n) * sizeof(float));
    }
  }
  const int64_t last = count / 8 * 8;
  if (packed && packed_rows(last, count) == 8)  // a last block of 5-7 tiles: its spare rows zero
    for (int q = 0; q < kPositions; ++q)
      for (int64_t c = 0; c < ic; c += 4)
        for (int64_t row = count; row < last + 8; ++row)
          std::fill_n(packed_row(v + q * q_stride, row, count, ic) + c * 8, 4, 0.f);
}

template <class V>
void output(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count, int64_t block,
            const float* bias, const ConvPostOps& post, float* y) {
  constexpr int kTile = V::kTile, kPositions = V::kSide * V::kSide, kOutputs = kTile * kTile;
  const int64_t tiles_w = t.tiles_w(), q_stride = block * oc;
  with_activation(post.activation, [&](auto kind) {
    constexpr Activation::Kind kKind = decltype(kind)::value;
    const Activation act = post.activation;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t tile = first + k;
      const int64_t y0 = tile / tiles_w * kTile, x0 = tile % tiles_w * kTile;
      const int64_t rows = std::min<int64_t>(kTile, t.oh - y0), cols = std::min<int64_t>(kTile, t.ow - x0);
      const float* products = m + k * oc;  // position q at products + q * q_stride
      float* origin = y + (y0 * t.ow + x0) * oc;
      for (int64_t c = 0; c < oc; c += 4) {
        const int64_t n = std::min<int64_t>(4, oc - c);
        if constexpr (V::kTile == 6 && !kActivatesFromMemory<kKind>) {
          if (n == 4 && rows == kTile && cols == kTile) {
            // a whole F(6x6, 3x3) tile, each output finished and stored as its column is transformed:
            // the 36 outputs held to the end spilled (~15 % of the transform's instructions)
            const float32x4_t b = bias ? vld1q_f32(bias + c) : vdupq_n_f32(0.f);
            const int64_t row_stride = t.ow * oc;
            float* corner = origin + c;
            if (post.sum) {
              output_tile63(products + c, q_stride, [&](int i, int j, float32x4_t value) {
                float* p = corner + i * row_stride + j * oc;
                value = activate_as<kKind>(act, vaddq_f32(value, b));
                vst1q_f32(p, activate(post.after_sum, vaddq_f32(value, vld1q_f32(p))));
              });
            } else {
              output_tile63(products + c, q_stride, [&](int i, int j, float32x4_t value) {
                vst1q_f32(corner + i * row_stride + j * oc, activate_as<kKind>(act, vaddq_f32(value, b)));
              });
            }
            continue;
          }
        }
        float32x4_t o[kOutputs];
        if (n == 4) {
          V::output_tile(products + c, q_stride, o);
        } else {  // the last channels: a zero-padded copy
          alignas(16) float a[kPositions][4] = {};
          for (int q = 0; q < kPositions; ++q)
            std::memcpy(a[q], products + q * q_stride + c, static_cast<size_t>(n) * sizeof(float));
          V::output_tile(&a[0][0], 4, o);
        }
        const float32x4_t b = !bias ? vdupq_n_f32(0.f) : n == 4 ? vld1q_f32(bias + c) : load_lanes(bias + c, n);
        if (n == 4) {
          // 4 channels, unrolled (o stays in registers): the loop below kept o on the stack and reloaded
          // its invariants, ~25 instructions an output vector (squeezenet FP32: 9.0 M of 92 M);
          // a costly activation from memory, a vector at a time (epilogue.h kActivatesFromMemory)
          alignas(16) float staged[kOutputs][4];
          if constexpr (kActivatesFromMemory<kKind>) {
            #pragma GCC unroll 36
            for (int q = 0; q < kOutputs; ++q) vst1q_f32(staged[q], vaddq_f32(o[q], b));
            if (act.has_affine()) activate_in_place<kKind, true>(act, &staged[0][0], 4, kOutputs, 1);
            else activate_in_place<kKind, false>(act, &staged[0][0], 4, kOutputs, 1);
          }
          const auto write = [&](auto with_sum) {
            const auto store = [&](float* p, int q) {
              float32x4_t value = kActivatesFromMemory<kKind> ? vld1q_f32(staged[q])
                                                             : activate_as<kKind>(act, vaddq_f32(o[q], b));
              if constexpr (decltype(with_sum)::value) value = activate(post.after_sum, vaddq_f32(value, vld1q_f32(p)));
              vst1q_f32(p, value);
            };
            if (rows == kTile && cols == kTile) {
              #pragma GCC unroll 6
              for (int i = 0; i < kTile; ++i) {
                float* row = origin + i * t.ow * oc + c;
                #pragma GCC unroll 6
                for (int j = 0; j < kTile; ++j) store(row + j * oc, i * kTile + j);
              }
              return;
            }
            #pragma GCC unroll 6
            for (int i = 0; i < kTile; ++i)
              #pragma GCC unroll 6
              for (int j = 0; j < kTile; ++j)
                if (i < rows && j < cols) store(origin + (i * t.ow + j) * oc + c, i * kTile + j);
          };
          // the residual y holds, added after the activation; then the activation after the sum
          if (post.sum) write(std::true_type{});
          else write(std::false_type{});
          continue;
        }
        for (int64_t i = 0; i < rows; ++i)  // the last channels (fewer than 4), the same steps
          for (int64_t j = 0; j < cols; ++j) {
            float* p = origin + (i * t.ow + j) * oc + c;
            float32x4_t value = activate_as<kKind>(act, vaddq_f32(o[i * kTile + j], b));
            if (post.sum) value = activate(post.after_sum, vaddq_f32(value, load_lanes(p, n)));
            store_lanes(p, value, n);
          }
      }
    }
  });
}

}  // namespace

winograd::InputRange input_range_neon(const float* x, int64_t n) {
  // Per lane: |x| bits (AND), their maximum (UMAX), the exponent summed by one shift-and-accumulate
  // (USRA) and the values at or above the smallest normal counted by compare and subtract: 5
  // instructions a vector, where GCC's vectorisation of the portable loop took ~9.
  constexpr int64_t kBlock = 16384;  // values per block: a lane's exponent sum (<= 4096 x 255) fits 32 bits
  const uint32x4_t abs_mask = vdupq_n_u32(0x7fffffffu), smallest_normal = vdupq_n_u32(0x00800000u);
  uint32x4_t top = vdupq_n_u32(0);
  winograd::InputRange range;
  int64_t i = 0;
  for (; i + 16 <= n;) {
    const int64_t end = std::min(n / 16 * 16, i + kBlock);
    uint32x4_t exponents = vdupq_n_u32(0), normals = vdupq_n_u32(0);
    for (; i < end; i += 16) {
      const uint32x4x4_t bits = vld1q_u32_x4(reinterpret_cast<const uint32_t*>(x + i));
      #pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const uint32x4_t magnitude = vandq_u32(bits.val[k], abs_mask);
        top = vmaxq_u32(top, magnitude);
        exponents = vsraq_n_u32(exponents, magnitude, 23);
        normals = vsubq_u32(normals, vcgeq_u32(magnitude, smallest_normal));  // the mask is −1
      }
    }
    range.exponent_sum += vaddlvq_u32(exponents);
    range.normal_count += vaddlvq_u32(normals);
  }
  winograd::InputRange tail = winograd::input_range(x + i, n - i);
  tail.max_abs_bits = std::max(tail.max_abs_bits, vmaxvq_u32(top));
  range.merge(tail);
  return range;
}

void winograd_input_neon(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count,
                         int64_t block, float* v, bool packed) {
  input<F43>(x, ic, t, first, count, block, v, packed);
}

void winograd_output_neon(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count,
                          int64_t block, const float* bias, const ConvPostOps& post, float* y) {
  output<F43>(m, oc, t, first, count, block, bias, post, y);
}

void winograd63_input_neon(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count,
                           int64_t block, float* v, bool packed) {
  input<F63>(x, ic, t, first, count, block, v, packed);
}

void winograd63_output_neon(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count,
                            int64_t block, const float* bias, const ConvPostOps& post, float* y) {
  output<F63>(m, oc, t, first, count, block, bias, post, y);
}

}  // namespace edgequant::engine::arm
