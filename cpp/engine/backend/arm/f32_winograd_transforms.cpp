// The F(4x4, 3x3) transforms on 4-channel NEON vectors, each step the portable one's (same operands,
// same order, no contraction) so that the results are bit-identical to winograd_f43.cpp's. A tile's
// 36 vectors are loaded straight from the image (or M), transformed in registers and a stack array,
// and stored once; a tile wholly inside the image skips the per-tap bounds test, one across its edge
// reads each tap through a pointer (the pixel, or zeros).
#include "backend/arm/f32_winograd_transforms.h"

#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backend/arm/epilogue.h"
#include "backend/arm/partial_lanes.h"
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

using winograd::kPositions;
using winograd::kTile;

// r = Bᵀ d along one axis (winograd_f43.cpp input_rows).
inline void input_rows(const float32x4_t* d, float32x4_t* r, int ds, int rs) {
  const float32x4_t d0 = d[0 * ds], d1 = d[1 * ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
  r[0 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(d0, 4.f), vmulq_n_f32(d2, 5.f)), d4);
  r[1 * rs] = vaddq_f32(vaddq_f32(vmulq_n_f32(vaddq_f32(d1, d2), -4.f), d3), d4);
  r[2 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d1, d2), 4.f), d3), d4);
  r[3 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d3, d1), 2.f), d2), d4);
  r[4 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(vsubq_f32(d1, d3), 2.f), d2), d4);
  r[5 * rs] = vaddq_f32(vsubq_f32(vmulq_n_f32(d1, 4.f), vmulq_n_f32(d3, 5.f)), d5);
}

// o = Aᵀ m along one axis: six vectors in, four out (winograd_f43.cpp output_rows).
inline void output_rows(const float32x4_t* m, float32x4_t* o, int ms, int os) {
  const float32x4_t m0 = m[0 * ms], m5 = m[5 * ms];
  const float32x4_t a = vaddq_f32(m[1 * ms], m[2 * ms]), b = vsubq_f32(m[1 * ms], m[2 * ms]);
  const float32x4_t c = vaddq_f32(m[3 * ms], m[4 * ms]), e = vsubq_f32(m[3 * ms], m[4 * ms]);
  o[0 * os] = vaddq_f32(vaddq_f32(m0, a), c);
  o[1 * os] = vaddq_f32(b, vmulq_n_f32(e, 2.f));
  o[2 * os] = vaddq_f32(a, vmulq_n_f32(c, 4.f));
  o[3 * os] = vaddq_f32(vaddq_f32(b, vmulq_n_f32(e, 8.f)), m5);
}

// Bᵀ d B of one tile's 4 channels, tap (i, j) as load(i, j), stored at position q to out + q * q_stride.
template <typename Load>
inline void input_tile(const Load& load, float* out, int64_t q_stride) {
  float32x4_t columns[36];
  #pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float32x4_t taps[6];
    #pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) taps[i] = load(i, j);
    input_rows(taps, columns + j, 1, 6);  // Bᵀ d
  }
  #pragma GCC unroll 6
  for (int i = 0; i < 6; ++i) {
    float32x4_t r[6];
    input_rows(columns + i * 6, r, 1, 1);  // (Bᵀ d) B
    #pragma GCC unroll 6
    for (int j = 0; j < 6; ++j) vst1q_f32(out + (i * 6 + j) * q_stride, r[j]);
  }
}

// The same with tap (i, j) at d + i * row + j * col.
inline void input_tile(const float* d, int64_t row, int64_t col, float* out, int64_t q_stride) {
  input_tile([&](int i, int j) { return vld1q_f32(d + i * row + j * col); }, out, q_stride);
}

// Aᵀ M A of one tile's 4 channels, position q at m + q * q_stride, into o (row-major 4 x 4).
inline void output_tile(const float* m, int64_t q_stride, float32x4_t (&o)[16]) {
  float32x4_t columns[24];
  #pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) {
    float32x4_t products[6];
    #pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) products[i] = vld1q_f32(m + (i * 6 + j) * q_stride);
    output_rows(products, columns + j, 1, 6);  // Aᵀ M: 4 x 6
  }
  #pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) output_rows(columns + i * 6, o + i * 4, 1, 1);  // (Aᵀ M) A: 4 x 4
}

}  // namespace

void winograd_input_neon(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count,
                         int64_t block, float* v) {
  const int64_t tiles_w = t.tiles_w(), ic4 = ic / 4 * 4, q_stride = block * ic;
  Scratch<float> zeros;  // what a tap outside the image reads, for every channel (filled on first need)
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile - t.pad_top, x0 = tile % tiles_w * kTile - t.pad_left;
    const bool whole = y0 >= 0 && x0 >= 0 && y0 + 6 <= t.ih && x0 + 6 <= t.iw;
    float* out = v + k * ic;  // position q at out + q * q_stride
    int64_t c = 0;
    if (whole) {  // the taps where they lie
      for (const float* origin = x + (y0 * t.iw + x0) * ic; c < ic4; c += 4)
        input_tile(origin + c, t.iw * ic, ic, out + c, q_stride);
    } else if (ic4 > 0) {
      // Across the image's edge: each tap's pixel, or zeros outside the image, read in place (a
      // zero-padded copy of every tap cost ~20 instructions a tap, a quarter of ResNet-18's tiles).
      if (!zeros.data()) {
        zeros = Scratch<float>(ic4);
        std::fill_n(zeros.data(), ic4, 0.f);
      }
      const float* taps[36];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          const int64_t row = y0 + i, col = x0 + j;
          const bool inside = row >= 0 && row < t.ih && col >= 0 && col < t.iw;
          taps[i * 6 + j] = inside ? x + (row * t.iw + col) * ic : zeros.data();
        }
      for (; c < ic4; c += 4)
        input_tile([&](int i, int j) { return vld1q_f32(taps[i * 6 + j] + c); }, out + c, q_stride);
    }
    for (; c < ic; c += 4) {  // the last channels (fewer than 4): a zero-padded copy
      const int64_t n = ic - c;
      alignas(16) float d[36][4] = {};
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j)
          if (y0 + i >= 0 && y0 + i < t.ih && x0 + j >= 0 && x0 + j < t.iw)
            std::memcpy(d[i * 6 + j], x + ((y0 + i) * t.iw + x0 + j) * ic + c, static_cast<size_t>(n) * sizeof(float));
      alignas(16) float r[36][4];
      input_tile(&d[0][0], 6 * 4, 4, &r[0][0], 4);
      for (int q = 0; q < kPositions; ++q) std::memcpy(out + q * q_stride + c, r[q], static_cast<size_t>(n) * sizeof(float));
    }
  }
}

void winograd_output_neon(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count,
                          int64_t block, const float* bias, const ConvPostOps& post, float* y) {
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
        float32x4_t o[16];
        if (n == 4) {
          output_tile(products + c, q_stride, o);
        } else {  // the last channels: a zero-padded copy
          alignas(16) float a[36][4] = {};
          for (int q = 0; q < kPositions; ++q)
            std::memcpy(a[q], products + q * q_stride + c, static_cast<size_t>(n) * sizeof(float));
          output_tile(&a[0][0], 4, o);
        }
        const float32x4_t b = !bias ? vdupq_n_f32(0.f) : n == 4 ? vld1q_f32(bias + c) : load_lanes(bias + c, n);
        if (n == 4) {
          // 4 channels, unrolled (o stays in registers): the loop below kept o on the stack and reloaded
          // its invariants, ~25 instructions an output vector (squeezenet FP32: 9.0 M of 92 M)
          // a costly activation from memory, a vector at a time (epilogue.h kActivatesFromMemory)
          alignas(16) float staged[16][4];
          if constexpr (kActivatesFromMemory<kKind>) {
            #pragma GCC unroll 16
            for (int q = 0; q < 16; ++q) vst1q_f32(staged[q], vaddq_f32(o[q], b));
            if (act.has_affine()) activate_in_place<kKind, true>(act, &staged[0][0], 4, 16, 1);
            else activate_in_place<kKind, false>(act, &staged[0][0], 4, 16, 1);
          }
          const auto write = [&](auto with_sum) {
            const auto store = [&](float* p, int q) {
              float32x4_t value = kActivatesFromMemory<kKind> ? vld1q_f32(staged[q])
                                                             : activate_as<kKind>(act, vaddq_f32(o[q], b));
              if constexpr (decltype(with_sum)::value) value = activate(post.after_sum, vaddq_f32(value, vld1q_f32(p)));
              vst1q_f32(p, value);
            };
            if (rows == kTile && cols == kTile) {
              #pragma GCC unroll 4
              for (int i = 0; i < kTile; ++i) {
                float* row = origin + i * t.ow * oc + c;
                #pragma GCC unroll 4
                for (int j = 0; j < kTile; ++j) store(row + j * oc, i * 4 + j);
              }
              return;
            }
            #pragma GCC unroll 4
            for (int i = 0; i < kTile; ++i)
              #pragma GCC unroll 4
              for (int j = 0; j < kTile; ++j)
                if (i < rows && j < cols) store(origin + (i * t.ow + j) * oc + c, i * 4 + j);
          };
          // the residual y holds, added after the activation; then the activation after the sum
          if (post.sum) write(std::true_type{});
          else write(std::false_type{});
          continue;
        }
        for (int64_t i = 0; i < rows; ++i)  // the last channels (fewer than 4), the same steps
          for (int64_t j = 0; j < cols; ++j) {
            float* p = origin + (i * t.ow + j) * oc + c;
            float32x4_t value = activate_as<kKind>(act, vaddq_f32(o[i * 4 + j], b));
            if (post.sum) value = activate(post.after_sum, vaddq_f32(value, load_lanes(p, n)));
            store_lanes(p, value, n);
          }
      }
    }
  });
}

}  // namespace edgequant::engine::arm
