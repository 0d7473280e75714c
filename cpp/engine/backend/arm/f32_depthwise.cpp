#include "backend/arm/f32_depthwise.h"

#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "backend/arm/dispatch.h"
#include "backend/arm/epilogue.h"
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

// Output pixels [0, count) of one row for channels [c, c + 8): the windows `step` floats apart.
// With kTaps fixed, the weights and offsets are locals the compiler keeps in registers. With
// kEpilogue, act(sum + bias) of kKind (bias: the 8 channels'), its affine step only with kAffine.
template <int kTaps, bool kEpilogue, Activation::Kind kKind, bool kAffine>
void row8(const float* x, int64_t step, int64_t count, const int64_t* offsets, int64_t ntaps, const float* w,
          int64_t ch, float* out, const float* bias, const Activation& activation) {
  // a local: the stores through out cannot alias it (no reloads)
  const Activation act = kAffine ? activation : without_affine(activation);
  constexpr int kLocal = kTaps > 0 ? kTaps : 1;
  float32x4_t local_lo[kLocal], local_hi[kLocal];
  int64_t local_off[kLocal];
  if constexpr (kTaps > 0)
    for (int t = 0; t < kTaps; ++t)
      local_lo[t] = vld1q_f32(w + t * ch), local_hi[t] = vld1q_f32(w + t * ch + 4), local_off[t] = offsets[t];
  const int64_t n = kTaps > 0 ? kTaps : ntaps;
  int64_t p = 0;
  if constexpr (kTaps == 9) {
    // A 3x3 window sliding by one pixel (stride 1, no dilation along the row): two neighbouring
    // outputs share two of each row's three columns, so a pair reads 4 columns a row instead of 6.
    // Each output still sums its taps in the order of the loop below (the same values).
    if (step == ch && local_off[1] == ch && local_off[2] == 2 * ch)
      for (; p + 2 <= count; p += 2, x += 2 * step, out += 2 * ch)
        for (int half = 0; half < 2; ++half) {
          const float32x4_t* weights = half ? local_hi : local_lo;
          float32x4_t first = vdupq_n_f32(0), second = vdupq_n_f32(0);
          #pragma GCC unroll 3
          for (int row = 0; row < 3; ++row) {
            const float* columns = x + local_off[row * 3] + half * 4;
            const float32x4_t c0 = vld1q_f32(columns), c1 = vld1q_f32(columns + ch), c2 = vld1q_f32(columns + 2 * ch),
                              c3 = vld1q_f32(columns + 3 * ch);
            first = vfmaq_f32(vfmaq_f32(vfmaq_f32(first, c0, weights[row * 3]), c1, weights[row * 3 + 1]), c2,
                              weights[row * 3 + 2]);
            second = vfmaq_f32(vfmaq_f32(vfmaq_f32(second, c1, weights[row * 3]), c2, weights[row * 3 + 1]), c3,
                               weights[row * 3 + 2]);
          }
          if constexpr (kEpilogue) {
            const float32x4_t b = vld1q_f32(bias + half * 4);
            first = activate_as<kKind>(act, vaddq_f32(first, b));
            second = activate_as<kKind>(act, vaddq_f32(second, b));
          }
          vst1q_f32(out + half * 4, first);
          vst1q_f32(out + ch + half * 4, second);
        }
  }
  for (; p < count; ++p, x += step, out += ch) {
    float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);
    for (int64_t t = 0; t < n; ++t) {
      const float* tap = x + (kTaps > 0 ? local_off[t] : offsets[t]);
      lo = vfmaq_f32(lo, vld1q_f32(tap), kTaps > 0 ? local_lo[t] : vld1q_f32(w + t * ch));
      hi = vfmaq_f32(hi, vld1q_f32(tap + 4), kTaps > 0 ? local_hi[t] : vld1q_f32(w + t * ch + 4));
    }
    if constexpr (kEpilogue) {
      lo = activate_as<kKind>(act, vaddq_f32(lo, vld1q_f32(bias)));
      hi = activate_as<kKind>(act, vaddq_f32(hi, vld1q_f32(bias + 4)));
    }
    vst1q_f32(out, lo);
    vst1q_f32(out + 4, hi);
  }
}

}  // namespace

F32Depthwise::F32Depthwise(const ConvGeometry& g, const float* w)
    : g_(g), w_(w, w + g.kh * g.kw * g.oc) {
  const int64_t ch = g.oc;
  frame_h_ = (g.oh - 1) * g.stride_h + (g.kh - 1) * g.dilation_h + 1;
  frame_w_ = (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dilation_w + 1;
  in_place_ = g.pad_top == 0 && g.pad_left == 0 && frame_h_ <= g.ih && frame_w_ <= g.iw;
  const int64_t row = in_place_ ? g.iw : frame_w_;
  for (int64_t y = 0; y < g.kh; ++y)
    for (int64_t x = 0; x < g.kw; ++x) offsets_.push_back((y * g.dilation_h * row + x * g.dilation_w) * ch);
}

void F32Depthwise::image(const float* x, int threads, float* y, const F32Epilogue* epilogue) const {
  const int64_t ch = g_.oc, ntaps = g_.kh * g_.kw;
  std::vector<float> frame;
  const float* f = x;
  int64_t row = g_.iw;
  if (!in_place_) {  // zero-padded: a padded tap adds nothing
    row = frame_w_;
    frame.assign(static_cast<size_t>(frame_h_ * frame_w_ * ch), 0.f);
    const int64_t left = std::min(g_.pad_left, frame_w_), cols = std::max<int64_t>(0, std::min(g_.iw, frame_w_ - left));
    for (int64_t r = 0; r < frame_h_; ++r) {
      const int64_t ih = r - g_.pad_top;
      if (ih >= 0 && ih < g_.ih && cols > 0)
        std::memcpy(frame.data() + (r * frame_w_ + left) * ch, x + ih * g_.iw * ch, cols * ch * sizeof(float));
    }
    f = frame.data();
  }
  const int64_t ch8 = ch / 8 * 8, step = g_.stride_w * ch;
  const Activation act = epilogue ? epilogue->act : Activation{};
  auto rows = [&](auto with_epilogue, auto kind, auto affine) {
    constexpr bool kEpilogue = decltype(with_epilogue)::value;
    constexpr Activation::Kind kKind = decltype(kind)::value;
    constexpr bool kAffine = decltype(affine)::value;
    const float* bias = kEpilogue ? epilogue->bias : nullptr;
    parallel_chunks(threads, g_.oh, 1, [&](int64_t oh0, int64_t oh1) {
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const float* first = f + oh * g_.stride_h * row * ch;  // the row's first window
        float* out = y + oh * g_.ow * ch;
        for (int64_t c = 0; c < ch8; c += 8) {
          const float* b = kEpilogue ? bias + c : nullptr;
          if (ntaps == 9)
            row8<9, kEpilogue, kKind, kAffine>(first + c, step, g_.ow, offsets_.data(), ntaps, w_.data() + c, ch, out + c, b, act);
          else
            row8<0, kEpilogue, kKind, kAffine>(first + c, step, g_.ow, offsets_.data(), ntaps, w_.data() + c, ch, out + c, b, act);
        }
        for (int64_t ow = 0; ow < g_.ow && ch8 < ch; ++ow)  // the channels after the last 8
          for (int64_t c = ch8; c < ch; ++c) {
            const float* window = first + ow * step + c;
            float s = 0;
            for (int64_t t = 0; t < ntaps; ++t) s += window[offsets_[t]] * w_[t * ch + c];
            out[ow * ch + c] = kEpilogue ? apply_activation(act, s + bias[c]) : s;
          }
      }
    });
  };
  if (!epilogue)
    return rows(std::false_type{}, std::integral_constant<Activation::Kind, Activation::Kind::none>{},
                std::false_type{});
  with_activation_and_affine(act, [&](auto kind, auto affine) { rows(std::true_type{}, kind, affine); });
}

}  // namespace edgequant::engine::arm
