#include "backend/winograd_f63.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/winograd_activation.h"

namespace edgequant::engine::winograd::f63 {
namespace {

// r = Bᵀ d along one axis, d[k * ds] to r[k * rs]: the rows of Bᵀ paired as ncnn and NNPACK do (r1 / r2,
// r3 / r4 and r5 / r6 share their even and odd halves), each fused step as the NEON one.
void input_rows(const float* d, float* r, int ds, int rs) {
  const float d0 = d[0 * ds], d1 = d[1 * ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds],
              d6 = d[6 * ds], d7 = d[7 * ds];
  r[0 * rs] = std::fma(d4 - d2, 5.25f, d0 - d6);
  r[7 * rs] = std::fma(d3 - d5, 5.25f, d7 - d1);
  const float even1 = std::fma(-d4, 4.25f, d2 + d6), odd1 = std::fma(-d3, 4.25f, d1 + d5);
  r[1 * rs] = even1 + odd1;
  r[2 * rs] = even1 - odd1;
  const float even3 = std::fma(-d4, 1.25f, std::fma(d2, 0.25f, d6));
  const float odd3 = std::fma(d5, 2.f, std::fma(-d3, 2.5f, d1 * 0.5f));
  r[3 * rs] = even3 + odd3;
  r[4 * rs] = even3 - odd3;
  const float even5 = std::fma(std::fma(-d4, 1.25f, d2), 4.f, d6);
  const float odd5 = std::fma(d5, 0.5f, std::fma(-d3, 2.5f, d1 * 2.f));
  r[5 * rs] = even5 + odd5;
  r[6 * rs] = even5 - odd5;
}

// o = Aᵀ m along one axis: eight values in, six out.
void output_rows(const float* m, float* o, int ms, int os) {
  const float a1 = m[1 * ms] + m[2 * ms], b1 = m[1 * ms] - m[2 * ms];
  const float a2 = m[3 * ms] + m[4 * ms], b2 = m[3 * ms] - m[4 * ms];
  const float a3 = m[5 * ms] + m[6 * ms], b3 = m[5 * ms] - m[6 * ms];
  o[0 * os] = m[0 * ms] + a1 + a2 + a3;
  o[1 * os] = std::fma(b3, 0.5f, std::fma(b2, 2.f, b1));
  o[2 * os] = std::fma(a3, 0.25f, std::fma(a2, 4.f, a1));
  o[3 * os] = std::fma(b3, 0.125f, std::fma(b2, 8.f, b1));
  o[4 * os] = std::fma(a3, 0.0625f, std::fma(a2, 16.f, a1));
  o[5 * os] = std::fma(b3, 0.03125f, std::fma(b2, 32.f, m[7 * ms] + b1));
}

// G of U = G g Gᵀ.
constexpr double G[8][3] = {{1, 0, 0},
                            {-2. / 9, -2. / 9, -2. / 9},
                            {-2. / 9, 2. / 9, -2. / 9},
                            {1. / 90, 1. / 45, 2. / 45},
                            {1. / 90, -1. / 45, 2. / 45},
                            {32. / 45, 16. / 45, 8. / 45},
                            {32. / 45, -16. / 45, 8. / 45},
                            {0, 0, 1}};

}  // namespace

Tiling tiling(int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t pad_top, int64_t pad_left) {
  return Tiling{ih, iw, oh, ow, pad_top, pad_left, kTile};
}

bool fewer_products(int64_t oh, int64_t ow) {
  const auto tiles = [](int64_t n, int64_t tile) { return (n + tile - 1) / tile; };
  return kPositions * tiles(oh, kTile) * tiles(ow, kTile) <
         winograd::kPositions * tiles(oh, winograd::kTile) * tiles(ow, winograd::kTile);
}

void transform_weights(const float* w, int64_t oc, int64_t ic, float* u) {
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i) {
      const float* g = w + (o * ic + i) * 9;
      double t[kSide][3];  // G g
      for (int a = 0; a < kSide; ++a)
        for (int b = 0; b < 3; ++b) t[a][b] = G[a][0] * g[b] + G[a][1] * g[3 + b] + G[a][2] * g[6 + b];
      for (int a = 0; a < kSide; ++a)
        for (int b = 0; b < kSide; ++b)
          u[((a * kSide + b) * ic + i) * oc + o] =
              static_cast<float>(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
    }
}

void transform_input(const float* x, int64_t ic, const Tiling& t, int64_t first, int64_t count, int64_t block,
                     float* v) {
  const int64_t tiles_w = t.tiles_w();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile - t.pad_top, x0 = tile % tiles_w * kTile - t.pad_left;
    for (int64_t c = 0; c < ic; ++c) {
      float d[kPositions], columns[kPositions], r[kPositions];
      for (int i = 0; i < kSide; ++i)
        for (int j = 0; j < kSide; ++j) {
          const int64_t row = y0 + i, col = x0 + j;
          const bool inside = row >= 0 && row < t.ih && col >= 0 && col < t.iw;
          d[i * kSide + j] = inside ? x[(row * t.iw + col) * ic + c] : 0.f;
        }
      // rows first, the order the NEON kernel loads a tile in
      for (int i = 0; i < kSide; ++i) input_rows(d + i * kSide, columns + i * kSide, 1, 1);  // d B
      for (int j = 0; j < kSide; ++j) input_rows(columns + j, r + j, kSide, kSide);         // Bᵀ (d B)
      for (int q = 0; q < kPositions; ++q) v[(q * block + k) * ic + c] = r[q];
    }
  }
}

void transform_output(const float* m, int64_t oc, const Tiling& t, int64_t first, int64_t count, int64_t block,
                      const float* bias, const ConvPostOps& post, float* y) {
  const int64_t tiles_w = t.tiles_w();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile, x0 = tile % tiles_w * kTile;
    const int64_t rows = std::min<int64_t>(kTile, t.oh - y0), cols = std::min<int64_t>(kTile, t.ow - x0);
    for (int64_t c = 0; c < oc; ++c) {
      float a[kPositions], columns[kSide * kTile], o[kTile * kTile];
      for (int q = 0; q < kPositions; ++q) a[q] = m[(q * block + k) * oc + c];
      for (int i = 0; i < kSide; ++i) output_rows(a + i * kSide, columns + i * kTile, 1, 1);  // M A: 8 x 6
      for (int j = 0; j < kTile; ++j) output_rows(columns + j, o + j, kTile, kTile);          // Aᵀ (M A)
      for (float& value : o) value += bias ? bias[c] : 0.f;
      activate_lanes(o, kTile * kTile, post.activation);
      if (post.sum) {  // the residual y holds, added after the activation; then the one after the sum
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) o[i * kTile + j] += y[((y0 + i) * t.ow + x0 + j) * oc + c];
        activate_lanes(o, kTile * kTile, post.after_sum);
      }
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) y[((y0 + i) * t.ow + x0 + j) * oc + c] = o[i * kTile + j];
    }
  }
}

}  // namespace edgequant::engine::winograd::f63
