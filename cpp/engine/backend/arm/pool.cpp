// The ARM backend's max / average pooling: NCHW with window bounds clipped once per output instead
// of a test per tap, outputs whose window lies inside the row (stride 1 or 2) four at a time on
// NEON; NHWC values (an ARM FP32 conv's) and codes (an INT8 conv's) channel vectors at a time.
// Bit-identical to the reference backend: max by the same comparison in the same tap order
// (which keeps the first of −0 / +0 and skips NaN alike), average summed in double in its order.
#include <arm_neon.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/arm/nhwc_float.h"

namespace edgequant::engine::arm {
namespace {

class ArmPool : public PoolKernel {
 public:
  ArmPool(const PoolGeometry& g, ThreadCount threads) : g_(g), threads_(threads) {
    // Outputs [inside_begin_, inside_end_) read only columns inside the input.
    inside_begin_ = std::min(g.ow, (g.pad_left + g.stride_w - 1) / g.stride_w);
    inside_end_ = inside_begin_;
    const int64_t extra = g.stride_w == 2 ? 1 : 0;  // vld2q reads one column past lane 3's last
    while (inside_end_ < g.ow && inside_end_ * g.stride_w - g.pad_left + g.kw + extra <= g.iw) ++inside_end_;
    if (g.stride_w > 2) inside_end_ = inside_begin_;  // no vector loads for wider strides
    inside_end_ = inside_begin_ + (inside_end_ - inside_begin_) / 4 * 4;
    // A whole NHWC window's taps from its first, in the reference's order (g.c channels a pixel).
    for (int64_t y = 0; y < g.kh; ++y)
      for (int64_t x = 0; x < g.kw; ++x) window_offsets_.push_back((y * g.iw + x) * g.c);
  }

  void run(const float* src, float* dst) override {
    parallel_chunks(threads_, g_.n * g_.c, 1, [&](int64_t nc0, int64_t nc1) {
      for (int64_t nc = nc0; nc < nc1; ++nc)
        for (int64_t oh = 0; oh < g_.oh; ++oh) {
          const int64_t h_start = oh * g_.stride_h - g_.pad_top;
          const int64_t h0 = std::max<int64_t>(h_start, 0), h1 = std::min(h_start + g_.kh, g_.ih);
          const int64_t h_padded = std::min(h_start + g_.kh, g_.ih + g_.pad_bottom) - h_start;
          const float* plane = src + nc * g_.ih * g_.iw;
          float* out = dst + (nc * g_.oh + oh) * g_.ow;
          for (int64_t ow = 0; ow < inside_begin_; ++ow) out[ow] = scalar(plane, h0, h1, h_padded, ow);
          for (int64_t ow = inside_begin_; ow < inside_end_; ow += 4) vector4(plane, h0, h1, h_padded, ow, out + ow);
          for (int64_t ow = inside_end_; ow < g_.ow; ++ow) out[ow] = scalar(plane, h0, h1, h_padded, ow);
        }
    });
  }

  // An ARM FP32 conv's NHWC values pool in NHWC, 4 channels per vector, and stay NHWC. Max pooling
  // of an INT8 conv's NHWC codes: the max of the codes is the code of the max (the grid is
  // increasing), so the output is NHWC codes on the same grid, 16 channels per vector.
  void run(const Tensor& x, Tensor& y, const Shape& shape) override {
    if (const NhwcFloat* values = nhwc_float(x)) {
      auto out = std::make_shared<NhwcFloat>(shape);
      parallel_chunks(threads_, g_.n * g_.oh, 1, [&](int64_t r0, int64_t r1) { nhwc_rows(*values, r0, r1, *out); });
      y = nhwc_tensor(shape, std::move(out));
      return;
    }
    const NhwcCodes* codes = g_.kind == PoolGeometry::Kind::max ? nhwc_codes(x) : nullptr;
    if (!codes || !every_window_has_input(g_)) {
      PoolKernel::run(x, y, shape);
      return;
    }
    auto out = std::make_shared<NhwcCodes>(shape, codes->scale, codes->zero_point);
    const int64_t c = g_.c, c16 = c / 16 * 16, taps = g_.kh * g_.kw;
    const std::vector<int64_t>& offsets = window_offsets_;
    parallel_chunks(threads_, g_.n * g_.oh, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g_.oh, oh = r % g_.oh;
        const int64_t h_start = oh * g_.stride_h - g_.pad_top;
        const int64_t h0 = std::max<int64_t>(h_start, 0), h1 = std::min(h_start + g_.kh, g_.ih);
        const int8_t* image = codes->data() + n * g_.ih * g_.iw * c;
        for (int64_t ow = 0; ow < g_.ow; ++ow) {
          const int64_t w_start = ow * g_.stride_w - g_.pad_left;
          const int64_t w0 = std::max<int64_t>(w_start, 0), w1 = std::min(w_start + g_.kw, g_.iw);
          int8_t* dst = out->data() + ((n * g_.oh + oh) * g_.ow + ow) * c;
          const int8_t* first = image + (h0 * g_.iw + w0) * c;
          if (h1 - h0 == g_.kh && w1 - w0 == g_.kw) {  // a whole window: its taps at fixed offsets
            int64_t ch = 0;
            for (; ch < c16; ch += 16) {
              int8x16_t m = vld1q_s8(first + ch);
              for (int64_t t = 1; t < taps; ++t) m = vmaxq_s8(m, vld1q_s8(first + offsets[t] + ch));
              vst1q_s8(dst + ch, m);
            }
            for (; ch < c; ++ch) {
              int8_t m = first[ch];
              for (int64_t t = 1; t < taps; ++t) m = std::max(m, first[offsets[t] + ch]);
              dst[ch] = m;
            }
            continue;
          }
          for (int64_t ch = 0; ch < c16; ch += 16) {
            int8x16_t m = vld1q_s8(first + ch);
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) m = vmaxq_s8(m, vld1q_s8(image + (h * g_.iw + w) * c + ch));
            vst1q_s8(dst + ch, m);
          }
          for (int64_t ch = c16; ch < c; ++ch) {
            int8_t m = first[ch];
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) m = std::max(m, image[(h * g_.iw + w) * c + ch]);
            dst[ch] = m;
          }
        }
      }
    });
    y = codes_tensor(shape, std::move(out));
  }

 private:
  // Output rows [r0, r1) (image × output row) of NHWC values, each window's taps in the reference's
  // order: max by the same comparison (NaN skipped, −inf where a window holds no input), average
  // summed in double and divided once, with the same count.
  void nhwc_rows(const NhwcFloat& x, int64_t r0, int64_t r1, NhwcFloat& y) const {
    const int64_t c = g_.c, c4 = c / 4 * 4;
    const bool is_max = g_.kind == PoolGeometry::Kind::max;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g_.oh, oh = r % g_.oh;
      const int64_t h_start = oh * g_.stride_h - g_.pad_top;
      const int64_t h0 = std::max<int64_t>(h_start, 0), h1 = std::min(h_start + g_.kh, g_.ih);
      const int64_t h_padded = std::min(h_start + g_.kh, g_.ih + g_.pad_bottom) - h_start;
      const float* image = x.data() + n * g_.ih * g_.iw * c;
      for (int64_t ow = 0; ow < g_.ow; ++ow) {
        const int64_t w_start = ow * g_.stride_w - g_.pad_left;
        const int64_t w0 = std::max<int64_t>(w_start, 0), w1 = std::min(w_start + g_.kw, g_.iw);
        const int64_t w_padded = std::min(w_start + g_.kw, g_.iw + g_.pad_right) - w_start;
        const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
        const int64_t count = g_.count_include_pad ? h_padded * w_padded : inside;
        float* out = y.data() + ((n * g_.oh + oh) * g_.ow + ow) * c;
        if (is_max && h1 - h0 == g_.kh && w1 - w0 == g_.kw) {  // a whole window: its taps at fixed offsets
          max_window(image + (h0 * g_.iw + w0) * c, out);
          continue;
        }
        if (is_max) {
          for (int64_t ch = 0; ch < c4; ch += 4) {
            float32x4_t m = vdupq_n_f32(-std::numeric_limits<float>::infinity());
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) {
                const float32x4_t v = vld1q_f32(image + (h * g_.iw + w) * c + ch);
                m = vbslq_f32(vcltq_f32(m, v), v, m);  // std::max(m, v)
              }
            vst1q_f32(out + ch, m);
          }
        } else {
          const float64x2_t divisor = vdupq_n_f64(static_cast<double>(count));
          for (int64_t ch = 0; ch < c4; ch += 4) {
            float64x2_t lo = vdupq_n_f64(0), hi = vdupq_n_f64(0);
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) {
                const float32x4_t v = vld1q_f32(image + (h * g_.iw + w) * c + ch);
                lo = vaddq_f64(lo, vcvt_f64_f32(vget_low_f32(v)));
                hi = vaddq_f64(hi, vcvt_high_f64_f32(v));
              }
            const float32x4_t mean = count ? vcvt_high_f32_f64(vcvt_f32_f64(vdivq_f64(lo, divisor)), vdivq_f64(hi, divisor))
                                           : vdupq_n_f32(0);
            vst1q_f32(out + ch, mean);
          }
        }
        for (int64_t ch = c4; ch < c; ++ch) {
          double acc = is_max ? -std::numeric_limits<double>::infinity() : 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              const double v = image[(h * g_.iw + w) * c + ch];
              acc = is_max ? std::max(acc, v) : acc + v;
            }
          out[ch] = static_cast<float>(is_max ? acc : (count ? acc / count : 0));
        }
      }
    }
  }

  // The max of a whole window of NHWC values (taps at first + window_offsets_) into out: 16 channels
  // per step in four vectors (one address per tap), then 4, then one; each lane as the reference's
  // std::max from −inf in tap order.
  void max_window(const float* first, float* out) const {
    const int64_t c = g_.c, taps = static_cast<int64_t>(window_offsets_.size());
    const int64_t* offsets = window_offsets_.data();
    const float32x4_t lowest = vdupq_n_f32(-std::numeric_limits<float>::infinity());
    auto take = [](float32x4_t m, float32x4_t v) { return vbslq_f32(vcltq_f32(m, v), v, m); };  // std::max(m, v)
    int64_t ch = 0;
    for (; ch + 16 <= c; ch += 16) {
      float32x4_t m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
      for (int64_t t = 0; t < taps; ++t) {
        const float* p = first + offsets[t] + ch;
        m0 = take(m0, vld1q_f32(p));
        m1 = take(m1, vld1q_f32(p + 4));
        m2 = take(m2, vld1q_f32(p + 8));
        m3 = take(m3, vld1q_f32(p + 12));
      }
      vst1q_f32(out + ch, m0);
      vst1q_f32(out + ch + 4, m1);
      vst1q_f32(out + ch + 8, m2);
      vst1q_f32(out + ch + 12, m3);
    }
    for (; ch + 4 <= c; ch += 4) {
      float32x4_t m = lowest;
      for (int64_t t = 0; t < taps; ++t) m = take(m, vld1q_f32(first + offsets[t] + ch));
      vst1q_f32(out + ch, m);
    }
    for (; ch < c; ++ch) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t t = 0; t < taps; ++t) m = std::max(m, static_cast<double>(first[offsets[t] + ch]));
      out[ch] = static_cast<float>(m);
    }
  }

  float scalar(const float* plane, int64_t h0, int64_t h1, int64_t h_padded, int64_t ow) const {
    const int64_t w_start = ow * g_.stride_w - g_.pad_left;
    const int64_t w0 = std::max<int64_t>(w_start, 0), w1 = std::min(w_start + g_.kw, g_.iw);
    if (g_.kind == PoolGeometry::Kind::max) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) m = std::max(m, plane[h * g_.iw + w]);
      return m;
    }
    double acc = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) acc += plane[h * g_.iw + w];
    const int64_t w_padded = std::min(w_start + g_.kw, g_.iw + g_.pad_right) - w_start;
    const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
    const int64_t count = g_.count_include_pad ? h_padded * w_padded : inside;
    return static_cast<float>(count ? acc / count : 0);
  }

  // Columns w, w + s, w + 2s, w + 3s of row `row` (s = 1 or 2).
  float32x4_t load4(const float* row, int64_t w) const {
    return g_.stride_w == 1 ? vld1q_f32(row + w) : vld2q_f32(row + w).val[0];
  }

  // Outputs ow .. ow + 3, their windows inside the row: the scalar loop's steps on four lanes.
  void vector4(const float* plane, int64_t h0, int64_t h1, int64_t h_padded, int64_t ow, float* out) const {
    const int64_t w_start = ow * g_.stride_w - g_.pad_left;
    if (g_.kind == PoolGeometry::Kind::max) {
      float32x4_t m = vdupq_n_f32(-std::numeric_limits<float>::infinity());
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t x = 0; x < g_.kw; ++x) {
          const float32x4_t v = load4(plane + h * g_.iw, w_start + x);
          m = vbslq_f32(vcltq_f32(m, v), v, m);  // std::max(m, v)
        }
      vst1q_f32(out, m);
      return;
    }
    float64x2_t lo = vdupq_n_f64(0), hi = vdupq_n_f64(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t x = 0; x < g_.kw; ++x) {
        const float32x4_t v = load4(plane + h * g_.iw, w_start + x);
        lo = vaddq_f64(lo, vcvt_f64_f32(vget_low_f32(v)));
        hi = vaddq_f64(hi, vcvt_high_f64_f32(v));
      }
    const int64_t inside = std::max<int64_t>(h1 - h0, 0) * g_.kw;
    const int64_t count = g_.count_include_pad ? h_padded * g_.kw : inside;
    if (!count) {
      vst1q_f32(out, vdupq_n_f32(0));
      return;
    }
    const float64x2_t c = vdupq_n_f64(static_cast<double>(count));
    vst1q_f32(out, vcvt_high_f32_f64(vcvt_f32_f64(vdivq_f64(lo, c)), vdivq_f64(hi, c)));
  }

  PoolGeometry g_;
  ThreadCount threads_;
  int64_t inside_begin_ = 0, inside_end_ = 0;
  std::vector<int64_t> window_offsets_;  // whole NHWC windows' taps (both the values' and the codes' paths)
};

}  // namespace

std::unique_ptr<PoolKernel> make_pool(const PoolGeometry& g, ThreadCount threads) {
  return std::make_unique<ArmPool>(g, threads);
}

}  // namespace edgequant::engine::arm
