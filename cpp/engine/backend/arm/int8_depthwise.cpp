#include "backend/arm/int8_depthwise.h"

#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "backend/arm/fixed_point_neon.h"
#include "backend/arm/padded_frame.h"
#include "backend/arm/scratch.h"
#include "backend/fixed_point_requantization.h"

namespace edgequant::engine::arm {
namespace {

// a[0..4) (16 int32 lanes) += the int16 sums lo (channels 0..8) and hi (8..16).
inline void widen_add(int32x4_t (&a)[4], int16x8_t lo, int16x8_t hi) {
  a[0] = vaddw_s16(a[0], vget_low_s16(lo));
  a[1] = vaddw_high_s16(a[1], lo);
  a[2] = vaddw_s16(a[2], vget_low_s16(hi));
  a[3] = vaddw_high_s16(a[3], hi);
}

// 16 channels of one window: a += Σ_t x[off[t]]·w[t], two taps per int16 sum where `pairs`.
// kTaps > 0 fixes the tap count at compile time (the weights then stay in registers).
template <int kTaps>
inline void window16(const int8_t* x, const int64_t* off, int64_t ntaps, const int8x16_t* w, bool pairs,
                     int32x4_t (&a)[4]) {
  const int64_t n = kTaps > 0 ? kTaps : ntaps;
  int64_t t = 0;
  if (pairs)
    for (; t + 2 <= n; t += 2) {
      const int8x16_t x0 = vld1q_s8(x + off[t]), x1 = vld1q_s8(x + off[t + 1]);
      int16x8_t lo = vmull_s8(vget_low_s8(x0), vget_low_s8(w[t]));
      int16x8_t hi = vmull_high_s8(x0, w[t]);
      lo = vmlal_s8(lo, vget_low_s8(x1), vget_low_s8(w[t + 1]));
      hi = vmlal_high_s8(hi, x1, w[t + 1]);
      widen_add(a, lo, hi);
    }
  for (; t < n; ++t) {
    const int8x16_t x0 = vld1q_s8(x + off[t]);
    widen_add(a, vmull_s8(vget_low_s8(x0), vget_low_s8(w[t])), vmull_high_s8(x0, w[t]));
  }
}

// Where a window's channel sums go, the first kLanes (16, or 8 in a row's last partial block) of
// the 16 computed: SumsOut stores them (int32), CodesOut requantizes them in registers (TFLite's
// fixed point, fixed_point_neon.h) and stores s8 codes.
template <int kLanes>
struct SumsOut {
  int32_t* out;
  int64_t step;  // between pixels, in int32
  void operator()(int64_t p, const int32x4_t (&a)[4]) const {
    int32_t* o = out + p * step;
    vst1q_s32(o, a[0]), vst1q_s32(o + 4, a[1]);
    if constexpr (kLanes == 16) vst1q_s32(o + 8, a[2]), vst1q_s32(o + 12, a[3]);
  }
};

template <int kLanes, bool kBiased, int kShift, bool kTable>
struct CodesOut {
  CodesOut(const CodesRequantization& r, int64_t c, int8_t* out, int64_t step)
      : q0(r, c), q1(r, c + 4), q2(r, c + 8), q3(r, c + 12), lo(vdupq_n_s8(r.lo)), hi(vdupq_n_s8(r.hi)), out(out),
        step(step), table(r.table), last(vdupq_n_s16(r.table_last)), zero(vdupq_n_s16(static_cast<int16_t>(r.zero))) {}
  // the zero point (or the table's index of 0) added to 8 lanes at once in int16, saturating
  void operator()(int64_t p, const int32x4_t (&a)[4]) const {
    const int16x8_t h0 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q0.scaled(a[0])), q1.scaled(a[1])), zero);
    if constexpr (kLanes == 8) {
      if constexpr (kTable) look_up<8>(h0, last, table, out + p * step);
      else vst1_s8(out + p * step, vmin_s8(vmax_s8(vqmovn_s16(h0), vget_low_s8(lo)), vget_low_s8(hi)));
      return;
    }
    const int16x8_t h1 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q2.scaled(a[2])), q3.scaled(a[3])), zero);
    if constexpr (kTable) {  // h0, h1: table indices
      look_up<8>(h0, last, table, out + p * step);
      look_up<8>(h1, last, table, out + p * step + 8);
    } else {
      vst1q_s8(out + p * step, vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(h0), h1), lo), hi));
    }
  }
  Requantize4<kBiased, kShift> q0, q1, q2, q3;
  int8x16_t lo, hi;
  int8_t* out;
  int64_t step;  // between pixels, in bytes
  const int8_t* table;
  int16x8_t last, zero;
};

// Output pixels [0, count) of one row for channels [c, c + 16): the windows `step` bytes apart,
// each window's sums (from init) to store(pixel, sums). With kTaps fixed, the weights and offsets
// are copied to locals the compiler keeps in registers.
template <int kTaps, class Store>
void row16(const int8_t* x, int64_t step, int64_t count, const int64_t* offsets, int64_t ntaps,
           const int8x16_t* weights, bool pairs, const int32_t* init, const Store store) {
  constexpr int kLocal = kTaps > 0 ? kTaps : 1;
  int8x16_t local_w[kLocal];
  int64_t local_off[kLocal];
  if constexpr (kTaps > 0)
    for (int t = 0; t < kTaps; ++t) local_w[t] = weights[t], local_off[t] = offsets[t];
  const int8x16_t* w = kTaps > 0 ? local_w : weights;
  const int64_t* off = kTaps > 0 ? local_off : offsets;
  const int32x4_t i0 = vld1q_s32(init), i1 = vld1q_s32(init + 4), i2 = vld1q_s32(init + 8), i3 = vld1q_s32(init + 12);
  for (int64_t p = 0; p < count; ++p, x += step) {
    int32x4_t a[4] = {i0, i1, i2, i3};
    window16<kTaps>(x, off, ntaps, w, pairs, a);
    store(p, a);
  }
}

}  // namespace

Int8Depthwise::Int8Depthwise(const ConvGeometry& g, const int8_t* khwc) : g_(g) {
  const int64_t ch = g.oc, ntaps = g.kh * g.kw;
  w_.assign(static_cast<size_t>(ntaps * ch + 16), 0);  // padded: a block of 8 loads 16
  wsum_.assign(static_cast<size_t>(ch), 0);
  for (int64_t c = 0; c < ch; ++c)
    for (int64_t t = 0; t < ntaps; ++t) {
      w_[t * ch + c] = khwc[c * ntaps + t];
      wsum_[c] += khwc[c * ntaps + t];
    }
  for (int64_t t = 0; t + 1 < ntaps; t += 2)
    for (int64_t c = 0; c < ch; ++c)
      if (w_[t * ch + c] == -128 && w_[(t + 1) * ch + c] == -128) pairs_fit_int16_ = false;
  pixel_pairs_ = ch == 8 && g.stride_w == 1 && g.ow >= 2;
  if (pixel_pairs_) {
    w_twice_.assign(static_cast<size_t>(ntaps * 16), 0);
    for (int64_t t = 0; t < ntaps; ++t)
      for (int64_t lane = 0; lane < 16; ++lane) w_twice_[t * 16 + lane] = w_[t * ch + lane % 8];
  }
  frame_h_ = (g.oh - 1) * g.stride_h + (g.kh - 1) * g.dilation_h + 1;
  frame_w_ = (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dilation_w + 1;
  // a block of 8 channels reads 8 bytes past its pixel: only a padded frame has them at the end
  const bool partial_block = ch % 16 >= 8;
  in_place_ = g.pad_top == 0 && g.pad_left == 0 && frame_h_ <= g.ih && frame_w_ <= g.iw && !partial_block;
  const int64_t row = in_place_ ? g.iw : frame_w_;
  for (int64_t y = 0; y < g.kh; ++y)
    for (int64_t x = 0; x < g.kw; ++x) offsets_.push_back((y * g.dilation_h * row + x * g.dilation_w) * ch);
}

void Int8Depthwise::image(const int8_t* x, int32_t zero, int threads, int32_t* acc, const int32_t* add) const {
  const int64_t ch = g_.oc;
  rows(x, zero, threads, add, [&](int64_t oh, int64_t c, auto lanes, auto&& run_row) {
    run_row(SumsOut<decltype(lanes)::value>{acc + oh * g_.ow * ch + c, ch});
  }, [&](int64_t oh, int64_t ow, int64_t c, int32_t sum) { acc[(oh * g_.ow + ow) * ch + c] = sum; });
}

void Int8Depthwise::image_codes(const int8_t* x, int32_t zero, int threads, const int32_t* add,
                                const CodesRequantization& r, const FixedPointRequantization& scalar, int8_t* y) const {
  const int64_t ch = g_.oc;
  // two pixels' 8 channels in one block: the per-channel arrays' first 8 entries repeated for lanes 8..15
  std::vector<int32_t> twice;
  CodesRequantization doubled = r;
  if (pixel_pairs_) {
    twice.assign(4 * 16, 0);
    auto repeat = [&](const int32_t* a, int part) -> const int32_t* {
      if (!a) return nullptr;
      for (int lane = 0; lane < 16; ++lane) twice[part * 16 + lane] = a[lane % 8];
      return twice.data() + part * 16;
    };
    doubled.multiplier = repeat(r.multiplier, 0), doubled.right = repeat(r.right, 1);
    doubled.left = repeat(r.left, 2), doubled.bias = repeat(r.bias, 3);
  }
  const CodesRequantization& rq = doubled;
  with_requantization(rq, [&](auto biased, auto shift, auto table) {
    rows(x, zero, threads, add, [&](int64_t oh, int64_t c, auto lanes, auto&& run_row) {
      using Out = CodesOut<decltype(lanes)::value, decltype(biased)::value, decltype(shift)::value,
                           decltype(table)::value>;
      run_row(Out(rq, c, y + oh * g_.ow * ch + c, ch));
    }, [&](int64_t oh, int64_t ow, int64_t c, int32_t sum) {  // sum holds the bias where `add` is given
      y[(oh * g_.ow + ow) * ch + c] = static_cast<int8_t>(output_code(scalar, c, int64_t{sum} - (add ? add[c] : 0)) - 128);
    });
  });
}

template <class Rows, class Tail>
void Int8Depthwise::rows(const int8_t* x, int32_t zero, int threads, const int32_t* add, const Rows& each_block,
                         const Tail& tail) const {
  const int64_t ch = g_.oc, ntaps = g_.kh * g_.kw;
  Scratch<int8_t> frame;
  const int8_t* f = x;
  int64_t row = g_.iw;
  if (!in_place_) {  // padded with the zero point's code: a padded tap adds nothing
    row = frame_w_;
    frame = Scratch<int8_t>(frame_h_ * frame_w_ * ch + 16);  // + 16: a block of 8 reads past the end
    copy_into_frame(x, g_.ih, g_.iw, ch, g_.pad_top, g_.pad_left, frame_h_, frame_w_, static_cast<int8_t>(zero - 128),
                    frame.data());
    f = frame.data();
  }
  std::vector<int32_t> init(static_cast<size_t>(ch + 16), 0);  // padded: a block of 8 loads 16
  for (int64_t c = 0; c < ch; ++c) init[c] = (128 - zero) * wsum_[c] + (add ? add[c] : 0);
  // blocks of 16 channels, then one of 8 (its loads reach 8 bytes past it: weights and frame are padded)
  const int64_t ch16 = ch / 16 * 16, ch8 = ch / 8 * 8, step = g_.stride_w * ch;
  if (pixel_pairs_) std::copy(init.begin(), init.begin() + 8, init.begin() + 8);
  parallel_chunks(threads, g_.oh, 1, [&](int64_t oh0, int64_t oh1) {
    std::vector<int8x16_t> w(static_cast<size_t>(ntaps));
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int8_t* first = f + oh * g_.stride_h * row * ch;  // the row's first window
      if (pixel_pairs_) {  // pixels 2p and 2p + 1 as one block; an odd last pixel as a block of 8
        for (int64_t t = 0; t < ntaps; ++t) w[t] = vld1q_s8(w_twice_.data() + t * 16);
        each_block(oh, 0, std::integral_constant<int, 16>{}, [&](const auto& store) {
          const auto pair = [&](int64_t p, const int32x4_t (&a)[4]) { store(2 * p, a); };
          if (ntaps == 9) row16<9>(first, 16, g_.ow / 2, offsets_.data(), ntaps, w.data(), pairs_fit_int16_, init.data(), pair);
          else row16<0>(first, 16, g_.ow / 2, offsets_.data(), ntaps, w.data(), pairs_fit_int16_, init.data(), pair);
        });
        if (g_.ow % 2 == 0) continue;
        each_block(oh, 0, std::integral_constant<int, 8>{}, [&](const auto& store) {
          const auto last = [&](int64_t, const int32x4_t (&a)[4]) { store(g_.ow - 1, a); };
          row16<0>(first + (g_.ow - 1) * 8, 8, 1, offsets_.data(), ntaps, w.data(), pairs_fit_int16_, init.data(), last);
        });
        continue;
      }
      auto block = [&](int64_t c, auto lanes) {
        for (int64_t t = 0; t < ntaps; ++t) w[t] = vld1q_s8(w_.data() + t * ch + c);
        each_block(oh, c, lanes, [&](const auto& store) {
          if (ntaps == 9)
            row16<9>(first + c, step, g_.ow, offsets_.data(), ntaps, w.data(), pairs_fit_int16_, init.data() + c, store);
          else
            row16<0>(first + c, step, g_.ow, offsets_.data(), ntaps, w.data(), pairs_fit_int16_, init.data() + c, store);
        });
      };
      for (int64_t c = 0; c < ch16; c += 16) block(c, std::integral_constant<int, 16>{});
      if (ch8 > ch16) block(ch16, std::integral_constant<int, 8>{});
      for (int64_t ow = 0; ow < g_.ow && ch8 < ch; ++ow)  // the channels after the last 8
        for (int64_t c = ch8; c < ch; ++c) {
          const int8_t* window = first + ow * step + c;
          int32_t s = init[c];
          for (int64_t t = 0; t < ntaps; ++t) s += window[offsets_[t]] * w_[t * ch + c];
          tail(oh, ow, c, s);
        }
    }
  });
}

}  // namespace edgequant::engine::arm
