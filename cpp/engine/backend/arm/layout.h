// NHWC helpers shared by the ARM backend's FP32 and INT8 convolutions: the engine hands kernels
// NCHW, the kernels work on NHWC rows (one output pixel's receptive field contiguous in k).
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/backend.h"

namespace edgequant::engine::arm {

// A conv that reads its NHWC input rows in place: 1×1, unit strides, no padding, one group.
inline bool is_pointwise(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.groups == 1;
}
// Depthwise with one output channel per input channel.
inline bool is_depthwise(const ConvGeometry& g) { return g.groups > 1 && g.groups == g.ic && g.oc == g.ic; }

// Weights [oc, icg, kh, kw] → [oc, kh, kw, icg], the k order of im2col_rows.
template <class T, class W>
std::vector<T> weights_khwc(const W* w, const ConvGeometry& g) {
  const int64_t icg = g.ic / g.groups;
  std::vector<T> out(static_cast<size_t>(g.oc * icg * g.kh * g.kw));
  for (int64_t oc = 0; oc < g.oc; ++oc)
    for (int64_t c = 0; c < icg; ++c)
      for (int64_t y = 0; y < g.kh; ++y)
        for (int64_t x = 0; x < g.kw; ++x)
          out[((oc * g.kh + y) * g.kw + x) * icg + c] = static_cast<T>(w[((oc * icg + c) * g.kh + y) * g.kw + x]);
  return out;
}

// n bytes from src to dst, inline (a tap of im2col is a few channels: a memmove call per tap would
// cost more than the copy): 16 at a time, a short rest as two overlapping words.
inline void copy_bytes(const uint8_t* src, int64_t n, uint8_t* dst) {
  if (n >= 16) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) vst1q_u8(dst + i, vld1q_u8(src + i));
    if (i < n) vst1q_u8(dst + n - 16, vld1q_u8(src + n - 16));
  } else if (n >= 8) {
    vst1_u8(dst, vld1_u8(src));
    vst1_u8(dst + n - 8, vld1_u8(src + n - 8));
  } else if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, src, 4), std::memcpy(&tail, src + n - 4, 4);
    std::memcpy(dst, &head, 4), std::memcpy(dst + n - 4, &tail, 4);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

template <class T>
inline void copy_channels(const T* src, int64_t n, T* dst) {
  copy_bytes(reinterpret_cast<const uint8_t*>(src), n * static_cast<int64_t>(sizeof(T)), reinterpret_cast<uint8_t*>(dst));
}

// n copies of value, inline for the same reason (GCC makes the byte loop a memset call).
template <class T>
inline void fill_channels(T value, int64_t n, T* dst) {
  if constexpr (sizeof(T) == 1) {
    const uint8x16_t v = vdupq_n_u8(static_cast<uint8_t>(value));
    uint8_t* d = reinterpret_cast<uint8_t*>(dst);
    if (n >= 16) {
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) vst1q_u8(d + i, v);
      if (i < n) vst1q_u8(d + n - 16, v);
    } else if (n >= 8) {
      vst1_u8(d, vget_low_u8(v));
      vst1_u8(d + n - 8, vget_low_u8(v));
    } else if (n >= 4) {
      vst1_lane_u32(reinterpret_cast<uint32_t*>(d), vreinterpret_u32_u8(vget_low_u8(v)), 0);
      vst1_lane_u32(reinterpret_cast<uint32_t*>(d + n - 4), vreinterpret_u32_u8(vget_low_u8(v)), 0);
    } else {  // spelled out: GCC makes a loop of them a memset call
      if (n > 0) d[0] = static_cast<uint8_t>(value);
      if (n > 1) d[1] = static_cast<uint8_t>(value);
      if (n > 2) d[2] = static_cast<uint8_t>(value);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = value;
  }
}

// `run` im2col rows (`stride` apart from dst) of windows lying inside the input, the first at src,
// each `step` further: kh kernel rows of n contiguous values, `rows_apart` apart in x; the columns
// k..stride zeroed. Kept apart from im2col_rows so that its few values stay in registers.
template <class T>
inline void im2col_inside(const T* src, int64_t run, int64_t step, int64_t kh, int64_t n, int64_t rows_apart, int64_t k,
                          int64_t stride, const T* x_end, T* dst) {
  const int64_t last_row = (kh - 1) * rows_apart;
  for (int64_t i = 0; i < run; ++i, src += step, dst += stride) {
    T* d = dst;
    const T* s = src;
    if constexpr (sizeof(T) == 1) {
      // The padding columns first, by one store ending at the row's end (k > 0, stride a multiple
      // of 16 past k): the copies below overwrite what lies before k.
      if (stride > k) vst1q_u8(reinterpret_cast<uint8_t*>(dst + stride - 16), vdupq_n_u8(0));
      if (n <= 16 && s + last_row + 16 <= x_end) {
        // Short kernel rows (few channels: a first layer): one 16-byte load and store each, the
        // bytes past n overwritten by the next row's or lying in the padding columns (zero weights);
        // a 3-row kernel (a 3x3 stem) unrolled.
        auto row = [&](int64_t y) {
          vst1q_u8(reinterpret_cast<uint8_t*>(d + y * n), vld1q_u8(reinterpret_cast<const uint8_t*>(s + y * rows_apart)));
        };
        if (kh == 3) {
          row(0), row(1), row(2);
        } else {
          for (int64_t y = 0; y < kh; ++y) row(y);
        }
        continue;
      }
    } else {
      if (stride > k) fill_channels(T{}, stride - k, dst + k);
    }
    for (int64_t y = 0; y < kh; ++y, s += rows_apart, d += n) copy_channels(s, n, d);  // one copy per kernel row
  }
}

// Rows [row0, row1) of one image's im2col matrix for `group`: row = output pixel, k = (kh, kw,
// c); taps outside the input hold `pad`; the taps of a kernel row that lie inside the input are
// copied at once (one group, no dilation along x). x is the image in NHWC. Rows are `stride` ≥ k
// apart, the columns from k to stride zero (they meet zero weights, and a short row's copy may
// write there); `out` has 16 bytes to spare after the last row.
template <class T>
void im2col_rows(const T* x, const ConvGeometry& g, int64_t group, T pad, int64_t row0, int64_t row1, int64_t stride,
                 T* out) {
  const int64_t icg = g.ic / g.groups, k = g.kh * g.kw * icg;
  const bool whole_rows = g.groups == 1 && g.dilation_w == 1;  // a kernel row's taps are contiguous in x
  // The geometry in locals: the int8 stores below may alias g as far as the compiler knows, which
  // then reloaded its fields after every copy.
  const int64_t kh = g.kh, kw = g.kw, ih_end = g.ih, iw_end = g.iw, ic = g.ic, ow_count = g.ow;
  const int64_t stride_h = g.stride_h, stride_w = g.stride_w, pad_top = g.pad_top, pad_left = g.pad_left;
  const int64_t dilation_h = g.dilation_h, dilation_w = g.dilation_w;
  const T* x_end = x + ih_end * iw_end * ic;
  for (int64_t row = row0; row < row1;) {
    const int64_t oh = row / ow_count, ow = row % ow_count;
    T* dst = out + (row - row0) * stride;
    const int64_t ih0 = oh * stride_h - pad_top, iw0 = ow * stride_w - pad_left;
    if (whole_rows && ih0 >= 0 && ih0 + (kh - 1) * dilation_h < ih_end && iw0 >= 0 && iw0 + kw <= iw_end) {
      // A run of windows inside the input along this output row: each kernel row one copy.
      const int64_t run = std::min({row1 - row, ow_count - ow, (iw_end - kw - iw0) / stride_w + 1});
      im2col_inside(x + (ih0 * iw_end + iw0) * ic, run, stride_w * ic, kh, kw * ic, dilation_h * iw_end * ic, k,
                    stride, x_end, dst);
      row += run;
      continue;
    }
    if (stride > k) fill_channels(T{}, stride - k, dst + k);
    for (int64_t y = 0; y < kh; ++y) {
      const int64_t ih = ih0 + y * dilation_h;
      if (ih < 0 || ih >= ih_end) {  // a kernel row above or below the input: all pad
        fill_channels(pad, kw * icg, dst);
        dst += kw * icg;
        continue;
      }
      if (whole_rows) {  // a kernel row across the left or right edge: pad, one copy of the taps inside, pad
        const int64_t left = std::clamp<int64_t>(-iw0, 0, kw);
        const int64_t right = std::clamp<int64_t>(iw0 + kw - iw_end, 0, kw - left);
        fill_channels(pad, left * icg, dst);
        copy_channels(x + (ih * iw_end + iw0 + left) * ic, (kw - left - right) * icg, dst + left * icg);
        fill_channels(pad, right * icg, dst + (kw - right) * icg);
        dst += kw * icg;
        continue;
      }
      for (int64_t xk = 0; xk < kw; ++xk, dst += icg) {
        const int64_t iw = iw0 + xk * dilation_w;
        if (ih < 0 || ih >= ih_end || iw < 0 || iw >= iw_end) fill_channels(pad, icg, dst);
        else copy_channels(x + (ih * iw_end + iw) * ic + group * icg, icg, dst);
      }
    }
    ++row;
  }
}

// NCHW → NHWC of n float images: 4 pixels of one channel per load, stored c apart.
inline void to_nhwc(const float* src, int64_t n, int64_t c, int64_t hw, float* dst) {
  const int64_t hw4 = hw / 4 * 4;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* s = src + (i * c + ch) * hw;
      float* d = dst + i * hw * c + ch;
      for (int64_t p = 0; p < hw4; p += 4) {
        const float32x4_t v = vld1q_f32(s + p);
        float* o = d + p * c;
        vst1q_lane_f32(o, v, 0), vst1q_lane_f32(o + c, v, 1), vst1q_lane_f32(o + 2 * c, v, 2);
        vst1q_lane_f32(o + 3 * c, v, 3);
      }
      for (int64_t p = hw4; p < hw; ++p) d[p * c] = s[p];
    }
}

// NHWC → NCHW of n float images: 4 pixels of one channel gathered c apart, stored as one vector.
inline void to_nchw(const float* src, int64_t n, int64_t c, int64_t hw, float* dst) {
  const int64_t hw4 = hw / 4 * 4;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* s = src + i * hw * c + ch;
      float* d = dst + (i * c + ch) * hw;
      for (int64_t p = 0; p < hw4; p += 4) {
        float32x4_t v = vld1q_dup_f32(s + p * c);
        v = vld1q_lane_f32(s + (p + 1) * c, v, 1), v = vld1q_lane_f32(s + (p + 2) * c, v, 2);
        vst1q_f32(d + p, vld1q_lane_f32(s + (p + 3) * c, v, 3));
      }
      for (int64_t p = hw4; p < hw; ++p) d[p] = s[p * c];
    }
}

}  // namespace edgequant::engine::arm
