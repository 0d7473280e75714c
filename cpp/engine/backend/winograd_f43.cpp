#include "backend/winograd_f43.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/winograd_activation.h"
#include "common/simd.h"

namespace edgequant::engine::winograd {
namespace {

constexpr int kLanes = 16;  // channels per step: one AVX-512 vector
using Lanes = float[kLanes];

EDGEQUANT_INLINE void copy_lanes(float* dst, const float* src) { std::memcpy(dst, src, sizeof(Lanes)); }

// r = Bᵀ d along one axis of a 6x6 tile of lane vectors (d[k * ds], r[k * rs]).
EDGEQUANT_INLINE void input_rows(const Lanes* d, Lanes* r, int ds, int rs) {
  for (int l = 0; l < kLanes; ++l) {
    const float d0 = d[0 * ds][l], d1 = d[1 * ds][l], d2 = d[2 * ds][l], d3 = d[3 * ds][l], d4 = d[4 * ds][l],
                d5 = d[5 * ds][l];
    r[0 * rs][l] = 4.f * d0 - 5.f * d2 + d4;
    r[1 * rs][l] = -4.f * (d1 + d2) + d3 + d4;
    r[2 * rs][l] = 4.f * (d1 - d2) - d3 + d4;
    r[3 * rs][l] = 2.f * (d3 - d1) - d2 + d4;
    r[4 * rs][l] = 2.f * (d1 - d3) - d2 + d4;
    r[5 * rs][l] = 4.f * d1 - 5.f * d3 + d5;
  }
}

// o = Aᵀ m along one axis: six lane vectors in, four out.
EDGEQUANT_INLINE void output_rows(const Lanes* m, Lanes* o, int ms, int os) {
  for (int l = 0; l < kLanes; ++l) {
    const float m0 = m[0 * ms][l], m5 = m[5 * ms][l];
    const float a = m[1 * ms][l] + m[2 * ms][l], b = m[1 * ms][l] - m[2 * ms][l];
    const float c = m[3 * ms][l] + m[4 * ms][l], e = m[3 * ms][l] - m[4 * ms][l];
    o[0 * os][l] = m0 + a + c;
    o[1 * os][l] = b + 2.f * e;
    o[2 * os][l] = a + 4.f * c;
    o[3 * os][l] = b + 8.f * e + m5;
  }
}

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;  // |x| bits at or above: Inf or NaN
constexpr int kMantissaBits = 23;
constexpr int64_t kSumBlock = 4096;  // values per block: their exponents' sum fits in 32 bits

float from_bits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

}  // namespace

bool enabled() {
  const char* flag = std::getenv("EDGEQUANT_WINOGRAD");
  return !flag || std::string(flag) != "0";
}

bool forced() {
  const char* flag = std::getenv("EDGEQUANT_WINOGRAD");
  return flag && std::string(flag) == "1";
}

bool shape_fits(const ConvGeometry& g, const QuantConfig& q) {
  return q.mode == QuantConfig::Mode::f32 && g.groups == 1 && g.kh == 3 && g.kw == 3 && g.stride_h == 1 &&
         g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.pad_top <= 2 && g.pad_left <= 2;
}

void InputRange::merge(const InputRange& other) {
  max_abs_bits = std::max(max_abs_bits, other.max_abs_bits);
  exponent_sum += other.exponent_sum;
  normal_count += other.normal_count;
}

// On the bit patterns: integer reductions vectorise without fast math, and the maximum orders NaN
// and Inf above every finite value (a float maximum would drop a NaN).
EDGEQUANT_KERNEL InputRange input_range(const float* x, int64_t n) {
  InputRange range;
  uint32_t top = 0;
  for (int64_t start = 0; start < n; start += kSumBlock) {
    const int64_t end = std::min(n, start + kSumBlock);
    uint32_t exponents = 0, normals = 0;  // a block's: at most 4096 x 255
    for (int64_t i = start; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof(bits));
      bits &= kAbsMask;
      const uint32_t exponent = bits >> kMantissaBits;  // 0: zero or subnormal
      top = std::max(top, bits);
      exponents += exponent;
      normals += exponent != 0;
    }
    range.exponent_sum += exponents;
    range.normal_count += normals;
  }
  range.max_abs_bits = top;
  return range;
}

double weight_gain(const float* u, int64_t oc, int64_t ic, int positions) {
  double gain = 0;
  for (int64_t o = 0; o < oc; ++o) {
    double sum = 0;
    for (int64_t i = 0; i < ic; ++i) {
      double top = 0;
      for (int q = 0; q < positions; ++q) {
        const double value = std::fabs(static_cast<double>(u[(q * ic + i) * oc + o]));
        if (!(value <= DBL_MAX)) return HUGE_VAL;  // Inf or NaN
        top = std::max(top, value);
      }
      sum += top;
    }
    gain = std::max(gain, sum);
  }
  return gain;
}

bool exact_for(const InputRange& range, double gain, double input_gain, double output_gain) {
  if (range.max_abs_bits >= kInfBits) return false;  // Inf or NaN: the transforms spread it over a tile
  if (range.max_abs_bits == 0) return true;           // all zero: every transform exact
  const double max_abs = from_bits(range.max_abs_bits);
  // Input transform x100, the matmul at most x gain, output transform x361 (F(4x4, 3x3)): no partial
  // sum overflows.
  if (max_abs * input_gain * gain * output_gain >= FLT_MAX / 4.0) return false;
  if (max_abs < std::ldexp(1.0, -64) || range.normal_count == 0) return false;
  const double max_exponent = range.max_abs_bits >> kMantissaBits;
  const double mean_exponent = static_cast<double>(range.exponent_sum) / static_cast<double>(range.normal_count);
  return max_exponent - mean_exponent <= kOutlierBits;
}

namespace {

// G of U = G g Gᵀ, and P = (GᵀG)⁻¹ Gᵀ, its left inverse (P G = I), for g = P U Pᵀ.
constexpr double G[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                            {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};

struct LeftInverse {
  double p[3][6];
  LeftInverse() {
    double m[3][3];  // GᵀG
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        m[r][c] = 0;
        for (int k = 0; k < 6; ++k) m[r][c] += G[k][r] * G[k][c];
      }
    double inv[3][3];  // by cofactors
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                       m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        const int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
        inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
      }
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 6; ++k) p[r][k] = inv[r][0] * G[k][0] + inv[r][1] * G[k][1] + inv[r][2] * G[k][2];
  }
};

}  // namespace

void transform_weights(const float* w, int64_t oc, int64_t ic, float* u) {
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i) {
      const float* g = w + (o * ic + i) * 9;
      double t[6][3];  // G g
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 3; ++b) t[a][b] = G[a][0] * g[b] + G[a][1] * g[3 + b] + G[a][2] * g[6 + b];
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b)
          u[((a * 6 + b) * ic + i) * oc + o] =
              static_cast<float>(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
    }
}

void restore_weights(const float* u, int64_t oc, int64_t ic, float* w) {
  static const LeftInverse inverse;
  const auto& p = inverse.p;
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i) {
      double t[3][6];  // P U
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 6; ++b) {
          t[a][b] = 0;
          for (int k = 0; k < 6; ++k) t[a][b] += p[a][k] * u[((k * 6 + b) * ic + i) * oc + o];
        }
      float* g = w + (o * ic + i) * 9;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) {
          double sum = 0;
          for (int k = 0; k < 6; ++k) sum += t[a][k] * p[b][k];
          g[a * 3 + b] = static_cast<float>(sum);
        }
    }
}

EDGEQUANT_KERNEL void transform_input(const float* x, int64_t ic, const Tiling& t, int64_t first, int64_t count,
                                      int64_t block, float* v) {
  alignas(64) Lanes d[36], columns[36], r[36];
  const int64_t tiles_w = t.tiles_w();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile - t.pad_top, x0 = tile % tiles_w * kTile - t.pad_left;
    for (int64_t c = 0; c < ic; c += kLanes) {
      const int64_t n = std::min<int64_t>(kLanes, ic - c);
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          const int64_t row = y0 + i, col = x0 + j;
          const bool inside = row >= 0 && row < t.ih && col >= 0 && col < t.iw;
          if (inside && n == kLanes) {
            copy_lanes(d[i * 6 + j], x + (row * t.iw + col) * ic + c);  // the common case: inlined copy
          } else {
            std::memset(d[i * 6 + j], 0, sizeof(Lanes));
            if (inside) std::memcpy(d[i * 6 + j], x + (row * t.iw + col) * ic + c, n * sizeof(float));
          }
        }
      for (int j = 0; j < 6; ++j) input_rows(d + j, columns + j, 6, 6);  // Bᵀ d
      for (int i = 0; i < 6; ++i) input_rows(columns + i * 6, r + i * 6, 1, 1);  // (Bᵀ d) B
      for (int q = 0; q < kPositions; ++q) {
        float* out = v + (q * block + k) * ic + c;
        if (n == kLanes) copy_lanes(out, r[q]);
        else std::memcpy(out, r[q], n * sizeof(float));
      }
    }
  }
}

EDGEQUANT_KERNEL void transform_output(const float* m, int64_t oc, const Tiling& t, int64_t first, int64_t count,
                                       int64_t block, const float* bias, const ConvPostOps& post, float* y) {
  alignas(64) Lanes a[36], columns[24], o[16];
  const int64_t tiles_w = t.tiles_w();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t tile = first + k;
    const int64_t y0 = tile / tiles_w * kTile, x0 = tile % tiles_w * kTile;
    const int64_t rows = std::min<int64_t>(kTile, t.oh - y0), cols = std::min<int64_t>(kTile, t.ow - x0);
    for (int64_t c = 0; c < oc; c += kLanes) {
      const int64_t n = std::min<int64_t>(kLanes, oc - c);
      for (int q = 0; q < kPositions; ++q) {
        const float* p = m + (q * block + k) * oc + c;
        if (n == kLanes) copy_lanes(a[q], p);
        else std::memcpy(a[q], p, n * sizeof(float));
      }
      for (int j = 0; j < 6; ++j) output_rows(a + j, columns + j, 6, 6);  // Aᵀ M: 4 x 6
      for (int i = 0; i < 4; ++i) output_rows(columns + i * 6, o + i * 4, 1, 1);  // (Aᵀ M) A: 4 x 4
      alignas(64) Lanes b = {};
      if (bias) std::memcpy(b, bias + c, n * sizeof(float));
      float* flat = &o[0][0];
      for (int e = 0; e < 16 * kLanes; ++e) flat[e] += b[e % kLanes];
      activate_lanes(flat, 16 * kLanes, post.activation);
      if (post.sum) {  // the residual y holds, added after the activation; then the one after the sum
        alignas(64) Lanes residual[16] = {};
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            std::memcpy(residual[i * 4 + j], y + ((y0 + i) * t.ow + x0 + j) * oc + c, n * sizeof(float));
        const float* r = &residual[0][0];
        for (int e = 0; e < 16 * kLanes; ++e) flat[e] += r[e];
        activate_lanes(flat, 16 * kLanes, post.after_sum);
      }
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          if (n == kLanes) copy_lanes(y + ((y0 + i) * t.ow + x0 + j) * oc + c, o[i * 4 + j]);
          else std::memcpy(y + ((y0 + i) * t.ow + x0 + j) * oc + c, o[i * 4 + j], n * sizeof(float));
    }
  }
}

}  // namespace edgequant::engine::winograd
