// The ARM backend's INT8 convolution and dense kernels (static and dynamic QuantConfig). The
// integer sums Σ (q − z)·w are computed exactly (the GEMM of int8_gemm.h, or the depthwise kernel
// of int8_depthwise.h), then requantized in TFLite's fixed point, or dequantized, biased, activated
// and summed with the very same float expressions as the reference backend (reference_backend.cpp),
// in the same order and compiled without FMA contraction: the outputs are bit-identical to it.
#include <arm_neon.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/arm/epilogue.h"
#include "backend/arm/int8_depthwise.h"
#include "backend/arm/layout.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/arm/nhwc_float.h"
#include "backend/arm/padded_frame.h"
#include "backend/arm/scratch.h"
#include "backend/fixed_point_requantization.h"

namespace edgequant::engine::arm {
namespace {

std::vector<int32_t> row_sums(const std::vector<int8_t>& w, int64_t rows, int64_t k) {
  std::vector<int32_t> sums(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) sums[r] += w[r * k + j];
  return sums;
}

class ArmInt8Conv : public ConvKernel {
 public:
  ArmInt8Conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post, const QuantConfig& q,
              ThreadCount threads)
      : g_(g), post_(post), q_(q), threads_(threads), gemm_(select_int8_gemm()) {
    const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups, k = icg * g.kh * g.kw;
    bias_.assign(static_cast<size_t>(g.oc), 0.f);
    if (b) bias_.assign(b, b + g.oc);
    qweights_ = q.weights ? *q.weights : quantize_weights(w, g.oc, k, q.weight_bits);
    const std::vector<int8_t> khwc = weights_khwc<int8_t>(qweights_.values.data(), g);
    wsum_ = row_sums(khwc, g.oc, k);
    wscale_.assign(qweights_.scales.begin(), qweights_.scales.end());
    dbias_.assign(bias_.begin(), bias_.end());
    // The bias can start the integer sums when no sum plus bias leaves int32 (|Σ (q − z)·w| ≤
    // k·255·128): then the wrapping sum equals the reference's saturating add.
    const int64_t kmax = int64_t{icg} * g.kh * g.kw * 255 * 128;
    if (q.fixed_point && std::all_of(q.fixed_point->bias.begin(), q.fixed_point->bias.end(),
                                     [&](int32_t bias) { return std::abs(int64_t{bias}) + kmax <= INT32_MAX; }))
      bias_in_sums_ = q.fixed_point->bias;
    if (q.fixed_point)
      for (int32_t shift : q.fixed_point->shifts) {
        left_shifts_.push_back(std::max(shift, 0));
        right_shifts_.push_back(std::min(shift, 0));
        any_left_shift_ |= shift > 0;
      }
    if (q.fixed_point) prepare_codes_requantization(*q.fixed_point);
    if (is_depthwise(g)) {
      depthwise_ = std::make_unique<Int8Depthwise>(g, khwc.data());
      return;
    }
    // GEMM over k rounded up to the SIMD step of 16, the weights zero-padded: im2col rows carry
    // the padding and the scalar tail has nothing left to do. Pointwise rows are read in place,
    // their last step reaching into the next pixel's codes (or the source's 16 bytes of slack,
    // NhwcCodes::kSlack), which meet the zero weights.
    direct_rows_ = is_pointwise(g);
    kpad_ = (k + 15) / 16 * 16;
    // Kernel taps of whole SIMD steps (a group's channels a multiple of 16: ResNets' 3x3 convs) are
    // read where they lie (Int8Taps), from a frame padded with the zero point's code where the conv
    // pads: no im2col copy.
    indirect_ = !direct_rows_ && icg % 16 == 0;
    short_len_ = short_tap_length(g, gemm_);
    framed_ = !direct_rows_ && (indirect_ || short_len_ ? g.pad_top || g.pad_left || g.pad_bottom || g.pad_right
                                                        : frame_pays(g));
    const int64_t row = framed_ ? frame_width(g) : g.iw;
    if (indirect_)
      for (int64_t y = 0; y < g.kh; ++y)
        for (int64_t x = 0; x < g.kw; ++x) tap_offsets_.push_back((y * g.dilation_h * row + x * g.dilation_w) * g.ic);
    std::vector<int8_t> padded;
    if (short_len_) {  // each kernel row's kw·icg values, then zeros to short_len_
      const int64_t taps = direct_rows_ ? 1 : g.kh, row_len = g.kw * icg;
      if (!direct_rows_)
        for (int64_t y = 0; y < g.kh; ++y) tap_offsets_.push_back(y * g.dilation_h * row * g.ic);
      kpad_ = taps * short_len_;
      padded.assign(static_cast<size_t>(g.oc * kpad_), 0);
      for (int64_t j = 0; j < g.oc; ++j)
        for (int64_t t = 0; t < taps; ++t)
          std::copy_n(khwc.data() + (j * taps + t) * row_len, row_len, padded.data() + j * kpad_ + t * short_len_);
      packed_.push_back(gemm_.pack_short_taps(padded.data(), g.oc, kpad_));
      return;
    }
    padded.assign(static_cast<size_t>(ocg * kpad_), 0);
    for (int64_t group = 0; group < g.groups; ++group) {
      for (int64_t j = 0; j < ocg; ++j)
        std::copy_n(khwc.data() + (group * ocg + j) * k, k, padded.data() + j * kpad_);
      packed_.push_back(gemm_.pack(padded.data(), ocg, kpad_));
    }
  }

  void run(const float* src, float* dst) override {
    const int64_t hw = g_.ih * g_.iw;
    const quant::Affine a = input_affine(q_, src, g_.n * g_.ic * hw);
    Scratch<int8_t> x = staging(g_.n * hw * g_.ic);
    encode_shifted_nhwc(src, g_.n, g_.ic, hw, a, x.data());
    run_nchw(x.data(), a, dst);
  }

  // Static INT8 among quantized neighbours: the source as the NHWC codes an earlier ARM conv left
  // (NhwcCodes), or plain u8 codes on this layer's grid, taken without a float pass; a layer whose
  // readers all take u8 (QuantConfig::quantize_output) writes NhwcCodes on their grid. Float
  // sources in NHWC (NhwcFloat) are encoded as they lie; a float output without a residual is
  // written NHWC (NhwcFloat: contiguous rows, which ARM pooling and FP32 convs read as they are).
  void run(const Tensor& src, const Tensor* residual, bool, Tensor& dst, const Shape& shape) override {
    const bool fixed = q_.mode == QuantConfig::Mode::int8_static;
    const int64_t hw = g_.ih * g_.iw;
    const NhwcCodes* codes = fixed ? nhwc_codes(src) : nullptr;
    if (codes && !codes->on_grid(q_.scale, q_.zero_point)) codes = nullptr;
    Scratch<int8_t> staged;
    quant::Affine a(activation_format(), quant::AffineParams{q_.scale, q_.zero_point});
    const int8_t* x = codes ? codes->data() : nullptr;
    if (!x) {
      staged = staging(g_.n * hw * g_.ic);
      if (fixed && src.holds_u8(q_.scale, q_.zero_point)) {
        shift_codes_nhwc(src.u8(), g_.n, g_.ic, hw, staged.data());
      } else if (const NhwcFloat* values = nhwc_float(src)) {
        a = input_affine(q_, values->data(), g_.n * g_.ic * hw);
        encode_shifted(values->data(), g_.n * g_.ic * hw, a, staged.data());
      } else {
        a = input_affine(q_, src.f(), g_.n * g_.ic * hw);
        encode_shifted_nhwc(src.f(), g_.n, g_.ic, hw, a, staged.data());
      }
      x = staged.data();
    }
    if (fixed && q_.quantize_output) {
      auto out = std::make_shared<NhwcCodes>(shape, q_.output_scale, q_.output_zero_point);
      run_codes(x, a, residual, *out);
      dst = codes_tensor(shape, std::move(out));
      return;
    }
    if (!residual && !post_.sum && (shape.size() == 4 || shape.size() == 3)) {
      auto out = std::make_shared<NhwcFloat>(shape);
      run_nhwc(x, a, out->data());
      dst = nhwc_tensor(shape, std::move(out));
      return;
    }
    dst = Tensor::zeros_f32(shape, "conv output");
    if (residual) std::copy(residual->f(), residual->f() + dst.numel(), dst.f());
    run_nchw(x, a, dst.f());
  }

 private:
  // A buffer for n NHWC codes staged for the GEMM, with NhwcCodes' zeroed slack after them.
  static Scratch<int8_t> staging(int64_t n) {
    Scratch<int8_t> x(n + NhwcCodes::kSlack);
    std::memset(x.data() + n, 0, NhwcCodes::kSlack);
    return x;
  }

  // The integer sums of image n of the NHWC codes x, [pixel][channel], plus add[channel] if given.
  void accumulate(const int8_t* x, int64_t n, int32_t zero, int32_t* acc, const int32_t* add = nullptr) {
    const int8_t* image = x + n * g_.ih * g_.iw * g_.ic;
    if (depthwise_) depthwise_->image(image, zero, threads_, acc, add);
    else gemm_image(image, zero, acc, add);
  }

  // Float NCHW output (a sum adds what dst holds on entry).
  void run_nchw(const int8_t* x, const quant::Affine& a, float* dst) {
    const int64_t m = g_.oh * g_.ow;
    Scratch<int32_t> acc(m * g_.oc);
    for (int64_t n = 0; n < g_.n; ++n) {
      accumulate(x, n, a.zero_point, acc.data());
      float* out = dst + n * g_.oc * m;
      if (q_.fixed_point) {  // the codes' values on the output grid, as the reference backend gives them
        const FixedPointRequantization& r = *q_.fixed_point;
        const quant::Affine ra(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
        for (int64_t p = 0; p < m; ++p)
          for (int64_t oc = 0; oc < g_.oc; ++oc) {
            const int32_t sum = acc[p * g_.oc + oc];
            float& y = out[oc * m + p];  // the residual on entry where there is one
            y = decode_output(q_, r.residual ? residual_output_code(r, oc, sum, ra.encode(y)) : output_code(r, oc, sum));
          }
        continue;
      }
      parallel_chunks(threads_, m, 16, [&](int64_t p0, int64_t p1) { epilogue_rows(acc.data(), p0, p1, a.scale, out); });
    }
  }

  // Float NHWC output without a residual: the values run_nchw gives, one contiguous row per pixel.
  void run_nhwc(const int8_t* x, const quant::Affine& a, float* dst) {
    const int64_t m = g_.oh * g_.ow;
    Scratch<int32_t> acc(m * g_.oc);
    for (int64_t n = 0; n < g_.n; ++n) {
      accumulate(x, n, a.zero_point, acc.data());
      float* out = dst + n * m * g_.oc;
      if (q_.fixed_point) {  // the codes' values on the output grid, as the reference backend gives them
        for (int64_t k = 0; k < m * g_.oc; ++k)
          out[k] = decode_output(q_, output_code(*q_.fixed_point, k % g_.oc, acc[k]));
        continue;
      }
      parallel_chunks(threads_, m, 16, [&](int64_t p0, int64_t p1) { epilogue_nhwc(acc.data(), p0, p1, a.scale, out); });
    }
  }

  // Pixels [p0, p1) without a residual to NHWC rows: 4 channels per vector (epilogue.h), the rest as
  // value_at().
  void epilogue_nhwc(const int32_t* acc, int64_t p0, int64_t p1, double in_scale, float* dst) const {
    const int64_t oc4 = g_.oc / 4 * 4, channels = g_.oc;
    const float64x2_t s = vdupq_n_f64(in_scale);
    const double *w_scale = wscale_.data(), *bias = dbias_.data();
    const Activation act = post_.activation;
    with_activation(act, [&](auto kind) {
      for (int64_t p = p0; p < p1; ++p) {
        const int32_t* row = acc + p * channels;
        float* y = dst + p * channels;
        for (int64_t oc = 0; oc < oc4; oc += 4)
          vst1q_f32(y + oc, activate_as<decltype(kind)::value>(act, dequantize(vld1q_s32(row + oc), s, w_scale + oc, bias + oc)));
        for (int64_t oc = oc4; oc < channels; ++oc) y[oc] = value_at(acc, p, oc, in_scale, 0.f);
      }
    });
  }

  // NHWC codes output: each pixel's channels dequantized, activated, summed with the residual as
  // the float path does (the residual read as u8 codes, exact, or rounded through u8), encoded on
  // the output grid — the reference backend's values, one contiguous row per pixel.
  void run_codes(const int8_t* x, const quant::Affine& a, const Tensor* residual, NhwcCodes& out) {
    const int64_t m = g_.oh * g_.ow;
    const quant::Affine oa(activation_format(), quant::AffineParams{q_.output_scale, q_.output_zero_point});
    const quant::Affine ra(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
    const NhwcCodes* residual_codes = residual ? nhwc_codes(*residual) : nullptr;
    if (residual_codes && !residual_codes->on_grid(q_.residual_scale, q_.residual_zero_point)) residual_codes = nullptr;
    const float* residual_values = residual && !residual_codes ? residual->f() : nullptr;
    // Integer requantization: the GEMM / depthwise kernel requantizes its own sums (a depthwise layer
    // with a residual element by element); the bias starts the sums where it cannot saturate (see
    // bias_in_sums_).
    const FixedPointRequantization* fixed = q_.fixed_point.get();
    const bool in_registers = fixed && !(depthwise_ && fixed->residual);
    Scratch<int32_t> acc(in_registers ? 0 : m * g_.oc);
    const int32_t* bias = fixed && !bias_in_sums_.empty() ? bias_in_sums_.data() : nullptr;
    Scratch<int8_t> staged_residual;  // an integer residual as NHWC s8 codes on its grid
    const int8_t* skip = residual_codes ? residual_codes->data() : nullptr;
    if (fixed && fixed->residual && !skip) {
      staged_residual = Scratch<int8_t>(g_.n * m * g_.oc);
      encode_shifted_nhwc(residual_values, g_.n, g_.oc, m, ra, staged_residual.data());
      skip = staged_residual.data();
    }
    for (int64_t n = 0; n < g_.n; ++n) {
      const int8_t* image = x + n * g_.ih * g_.iw * g_.ic;
      int8_t* codes = out.data() + n * m * g_.oc;
      const int8_t* image_skip = skip ? skip + n * m * g_.oc : nullptr;
      if (in_registers) {
        if (depthwise_) depthwise_->image_codes(image, a.zero_point, threads_, bias, rq_, *fixed, codes);
        else gemm_codes_image(image, a.zero_point, image_skip, codes);
        continue;
      }
      if (fixed) {  // a depthwise layer with a fused residual
        accumulate(x, n, a.zero_point, acc.data(), bias);
        for (int64_t k = 0; k < m * g_.oc; ++k) {
          const int64_t oc = k % g_.oc, sum = int64_t{acc[k]} - (bias ? bias[oc] : 0);
          codes[k] = static_cast<int8_t>(residual_output_code(*fixed, oc, sum, image_skip[k] + 128) - 128);
        }
        continue;
      }
      accumulate(x, n, a.zero_point, acc.data(), bias);
      const int8_t* rc = residual_codes ? residual_codes->data() + n * m * g_.oc : nullptr;
      const float* rv = residual_values ? residual_values + n * g_.oc * m : nullptr;
      int8_t* y = out.data() + n * m * g_.oc;
      parallel_chunks(threads_, m, 16, [&](int64_t p0, int64_t p1) {
        epilogue_codes(acc.data(), p0, p1, a.scale, rc, rv, ra, oa, y);
      });
    }
  }

  // Pixels [p0, p1) to NHWC codes: 4 channels per vector, the rest as epilogue_one().
  void epilogue_codes(const int32_t* acc, int64_t p0, int64_t p1, double in_scale, const int8_t* residual_codes,
                      const float* residual_values, const quant::Affine& ra, const quant::Affine& oa, int8_t* dst) const {
    const int64_t m = g_.oh * g_.ow, oc4 = g_.oc / 4 * 4, channels = g_.oc;
    const float64x2_t s = vdupq_n_f64(in_scale);
    const double *w_scale = wscale_.data(), *bias = dbias_.data();
    const int32x4_t shift = vdupq_n_s32(128);
    const Encoder4 encode(oa);
    auto residual4 = [&](int64_t p, int64_t oc) {  // the residual as a u8-rounded float, 4 channels
      if (residual_codes) {  // 4 s8 codes as one word, widened, + 128: the u8 codes
        int32_t word;
        std::memcpy(&word, residual_codes + p * channels + oc, sizeof word);
        const int16x8_t r = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(word)));
        return decode4(vaddq_s32(vmovl_s16(vget_low_s16(r)), vdupq_n_s32(128)), ra);
      }
      const float gathered[4] = {residual_values[oc * m + p], residual_values[(oc + 1) * m + p],
                                 residual_values[(oc + 2) * m + p], residual_values[(oc + 3) * m + p]};
      return through_u8(vld1q_f32(gathered), ra);
    };
    for (int64_t p = p0; p < p1; ++p) {
      const int32_t* row = acc + p * channels;
      int8_t* y = dst + p * channels;
      for (int64_t oc = 0; oc < oc4; oc += 4) {
        float32x4_t v = activate(post_.activation, dequantize(vld1q_s32(row + oc), s, w_scale + oc, bias + oc));
        if (post_.sum) v = activate(post_.after_sum, vaddq_f32(v, residual4(p, oc)));
        const int16x4_t q = vmovn_s32(vsubq_s32(encode(v), shift));
        const int32_t word = vget_lane_s32(vreinterpret_s32_s8(vmovn_s16(vcombine_s16(q, q))), 0);
        std::memcpy(y + oc, &word, sizeof word);
      }
      for (int64_t oc = oc4; oc < channels; ++oc) {
        float r = 0;
        if (post_.sum)
          r = residual_codes ? static_cast<float>(ra.scale * (residual_codes[p * channels + oc] + 128 - ra.zero_point))
                             : residual(residual_values[oc * m + p]);
        y[oc] = static_cast<int8_t>(oa.encode(value_at(acc, p, oc, in_scale, r)) - 128);
      }
    }
  }
  // acc[pixel, oc] = Σ (q − z)·w (+ add[oc]): the GEMM of (q − 128) started from (128 − z)·Σ w (+ add).
  void gemm_image(const int8_t* x, int32_t zero, int32_t* acc, const int32_t* add) {
    note_int8_run(gemm_);
    if (short_len_) note_short_taps_run();
    const int64_t ocg = g_.oc / g_.groups, m = g_.oh * g_.ow;
    std::vector<int32_t> init(static_cast<size_t>(g_.oc));
    for (int64_t oc = 0; oc < g_.oc; ++oc) init[oc] = (128 - zero) * wsum_[oc] + (add ? add[oc] : 0);
    Scratch<int8_t> frame;
    ConvGeometry g = g_;
    if (framed_) x = frame_image(x, zero, frame, g);
    for (int64_t group = 0; group < g_.groups; ++group)
      parallel_chunks(threads_, m, 8, [&](int64_t r0, int64_t r1) {
        Scratch<int8_t> cols;
        const Scratch<const int8_t*> rows = gemm_rows(x, g, group, zero, r0, r1, cols);
        gemm_.gemm(rows.data(), taps(), r1 - r0, packed_[group], init.data() + group * ocg,
                   acc + r0 * g_.oc + group * ocg, g_.oc);
      });
  }

  // Where many windows cross the image's edge (small images, tall kernels: KWS's 10x4 over 49x10, a
  // third of its windows), im2col copies from a frame padded with the zero point's code instead: every
  // window then lies inside and takes whole kernel rows, for one copy of the image. Chosen where
  // the edge windows' per-tap work (~35 instructions a kernel row more) outweighs that copy
  // (~1 instruction per 4 bytes).
  static bool frame_pays(const ConvGeometry& g) {
    if (g.groups != 1 || g.dilation_w != 1) return false;
    auto inner = [](int64_t out, int64_t stride, int64_t pad, int64_t span, int64_t in) {
      int64_t count = 0;
      for (int64_t o = 0; o < out; ++o) count += o * stride - pad >= 0 && o * stride - pad + span <= in;
      return count;
    };
    const int64_t edge = g.oh * g.ow - inner(g.oh, g.stride_h, g.pad_top, (g.kh - 1) * g.dilation_h + 1, g.ih) *
                                           inner(g.ow, g.stride_w, g.pad_left, g.kw, g.iw);
    const int64_t frame = ((g.oh - 1) * g.stride_h + (g.kh - 1) * g.dilation_h + 1) * ((g.ow - 1) * g.stride_w + g.kw) * g.ic;
    return edge > 0 && edge * g.kh * 35 > frame / 4;
  }

  // Where the GEMM reads a conv's rows in short taps (int8_gemm.h: pack_short_taps), their length:
  // one group, each window's kernel rows kw·icg ≤ 16 contiguous values (a pointwise layer's pixel)
  // and not whole SIMD steps, rounded up to 4; 0 where the 16-k steps cost less. Per block of 8
  // rows, in instructions: short taps ~(10 + 17·lanes) a tap and panel of 8 channels, the steps
  // ~68 a step and panel, +16 a panel, +13 a step to pack the rows once for all panels, +~25 a row
  // to copy im2col rows. Many panels favour the steps (squeezenet's 3x3 first conv of 96 channels:
  // 4.1 M instructions against 4.2 M in short taps), few the taps (VWW's of 8: 170 K against 113 K).
  static int64_t short_tap_length(const ConvGeometry& g, const Int8Gemm& gemm) {
    const int64_t icg = g.ic / g.groups, row_len = is_pointwise(g) ? icg : g.kw * icg;
    if (!gemm.pack_short_taps || g.groups != 1 || g.dilation_w != 1 || icg % 16 == 0 || row_len > 16) return 0;
    const int64_t len = (row_len + 3) / 4 * 4, taps = is_pointwise(g) ? 1 : g.kh;
    const int64_t panels = (g.oc + 7) / 8, steps = (icg * g.kh * g.kw + 15) / 16;
    const int64_t short_cost = panels * taps * (10 + 17 * (len / 4));
    const int64_t step_cost = (is_pointwise(g) ? 0 : 8 * 25) + 13 * steps + panels * (68 * steps + 16);
    return short_cost < step_cost ? len : 0;
  }

  // The width of the padded frame that holds every window of g.
  static int64_t frame_width(const ConvGeometry& g) { return (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dilation_w + 1; }

  // x copied into `frame` (its pads the zero point's code) and g made the frame's: no padding.
  const int8_t* frame_image(const int8_t* x, int32_t zero, Scratch<int8_t>& frame, ConvGeometry& g) const {
    const int64_t h = (g_.oh - 1) * g_.stride_h + (g_.kh - 1) * g_.dilation_h + 1, w = frame_width(g_);
    frame = Scratch<int8_t>(h * w * g_.ic + 16);  // 16 past the end: the GEMM's 16-byte steps read up to there
    copy_into_frame(x, g_.ih, g_.iw, g_.ic, g_.pad_top, g_.pad_left, h, w, static_cast<int8_t>(zero - 128), frame.data());
    g.ih = h, g.iw = w, g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 0;
    return frame.data();
  }

  // How the GEMM reads a row's k values (int8_gemm.h): each window's kernel taps where they lie, or
  // one contiguous row.
  Int8Taps taps() const {
    if (indirect_) return Int8Taps{tap_offsets_.data(), static_cast<int64_t>(tap_offsets_.size()), g_.ic / g_.groups};
    if (short_len_ && !direct_rows_)
      return Int8Taps{tap_offsets_.data(), static_cast<int64_t>(tap_offsets_.size()), short_len_};
    return Int8Taps::plain(kpad_);
  }

  // The GEMM's row pointers for output pixels [r0, r1) of image x (geometry g: the layer's, or its
  // frame's) and `group`: the NHWC pixels in place (pointwise layers), each window's first tap
  // (indirect_, short_len_), or im2col rows made in `cols`, padded with the zero point's code.
  Scratch<const int8_t*> gemm_rows(const int8_t* x, const ConvGeometry& g, int64_t group, int32_t zero, int64_t r0,
                                       int64_t r1, Scratch<int8_t>& cols) const {
    Scratch<const int8_t*> rows(r1 - r0);
    if (direct_rows_) {
      for (int64_t r = r0; r < r1; ++r) rows[r - r0] = x + r * g_.ic;
      return rows;
    }
    if (indirect_ || short_len_) {  // g is unpadded here (the frame's, or the layer's without pads)
      // the window's corner stepped along each output row (a division per pixel was ~11 instructions)
      const int64_t step = g.stride_w * g.ic, row_step = g.stride_h * g.iw * g.ic;
      const int8_t* line = x + group * (g.ic / g.groups) + (r0 / g.ow) * row_step;
      const int8_t** out = rows.data();
      for (int64_t r = r0, column = r0 % g.ow; r < r1; column = 0, line += row_step) {
        const int64_t run = std::min(r1 - r, g.ow - column);
        const int8_t* corner = line + column * step;
        for (int64_t i = 0; i < run; ++i, corner += step) *out++ = corner;
        r += run;
      }
      return rows;
    }
    cols = Scratch<int8_t>((r1 - r0) * kpad_ + 16);  // im2col_rows may write 16 bytes past the last row
    im2col_rows<int8_t>(x, g, group, static_cast<int8_t>(zero - 128), r0, r1, kpad_, cols.data());
    for (int64_t r = r0; r < r1; ++r) rows[r - r0] = cols.data() + (r - r0) * kpad_;
    return rows;
  }

  // The integer requantization's per-channel arrays as the GEMM's in-register epilogue reads them
  // (CodesRequantization: padded past the last channel, the bias only where the sums do not start
  // from it).
  void prepare_codes_requantization(const FixedPointRequantization& r) {
    const size_t padded = static_cast<size_t>(g_.oc + 16);
    rq_multipliers_.assign(padded, 0), rq_left_.assign(padded, 0), rq_right_.assign(padded, 0);
    std::copy(r.multipliers.begin(), r.multipliers.end(), rq_multipliers_.begin());
    std::copy(left_shifts_.begin(), left_shifts_.end(), rq_left_.begin());
    std::copy(right_shifts_.begin(), right_shifts_.end(), rq_right_.begin());
    if (bias_in_sums_.empty()) {
      rq_bias_.assign(padded, 0);
      std::copy(r.bias.begin(), r.bias.end(), rq_bias_.begin());
    }
    rq_.multiplier = rq_multipliers_.data(), rq_.right = rq_right_.data();
    rq_.right_only = std::all_of(right_shifts_.begin(), right_shifts_.end(), [](int32_t shift) { return shift < 0; });
    rq_.left = any_left_shift_ ? rq_left_.data() : nullptr;
    rq_.bias = rq_bias_.empty() ? nullptr : rq_bias_.data();
    rq_.zero = r.zero_point - 128;
    rq_.lo = static_cast<int8_t>(r.min - 128), rq_.hi = static_cast<int8_t>(r.max - 128);
    if (!r.table.empty()) {  // the sums go to the table's index; its codes in the s8 form
      rq_table_.resize(r.table.size());
      for (size_t i = 0; i < r.table.size(); ++i) rq_table_[i] = static_cast<int8_t>(r.table[i] - 128);
      rq_.zero = r.zero_point, rq_.table = rq_table_.data(), rq_.table_last = static_cast<int16_t>(r.max);
    }
    if (r.residual) {  // the sums go to the value before rounding (or a table of values' index)
      rq_.residual = true, rq_.zero = r.zero_point;
      rq_.values = r.values.empty() ? nullptr : r.values.data();  // q_ holds them
      rq_.pre_min = r.pre_min, rq_.pre_max = r.pre_max;
      rq_.residual_offset = 128 - r.residual_zero_point, rq_.residual_multiplier = r.residual_multiplier;
      rq_.residual_left = std::max(r.residual_shift, 0), rq_.residual_right = std::min(r.residual_shift, 0);
      rq_.output_zero = r.output_zero_point - 128;
    }
  }

  // Image x's NHWC s8 output codes y by the GEMM with the requantization in its registers.
  void gemm_codes_image(const int8_t* x, int32_t zero, const int8_t* residual, int8_t* y) {
    note_int8_run(gemm_);
    if (short_len_) note_short_taps_run();
    const int64_t ocg = g_.oc / g_.groups, m = g_.oh * g_.ow;
    std::vector<int32_t> init(static_cast<size_t>(g_.oc));
    for (int64_t oc = 0; oc < g_.oc; ++oc)
      init[oc] = (128 - zero) * wsum_[oc] + (bias_in_sums_.empty() ? 0 : bias_in_sums_[oc]);
    Scratch<int8_t> frame;
    ConvGeometry g = g_;
    if (framed_) x = frame_image(x, zero, frame, g);
    for (int64_t group = 0; group < g_.groups; ++group) {
      CodesRequantization r = rq_;
      r.multiplier = rq_multipliers_.data() + group * ocg;
      r.right = rq_right_.data() + group * ocg;
      r.left = any_left_shift_ ? rq_left_.data() + group * ocg : nullptr;
      r.bias = rq_bias_.empty() ? nullptr : rq_bias_.data() + group * ocg;
      parallel_chunks(threads_, m, 8, [&](int64_t r0, int64_t r1) {
        Scratch<int8_t> cols;
        const Scratch<const int8_t*> rows = gemm_rows(x, g, group, zero, r0, r1, cols);
        gemm_.gemm_codes(rows.data(), taps(), r1 - r0, packed_[group], init.data() + group * ocg, r,
                         residual ? residual + r0 * g_.oc + group * ocg : nullptr, y + r0 * g_.oc + group * ocg, g_.oc);
      });
    }
  }

  // Pixels [p0, p1) without a residual: 4 channels per vector (epilogue.h), the rest as epilogue().
  void epilogue_rows(const int32_t* acc, int64_t p0, int64_t p1, double in_scale, float* dst) const {
    const int64_t m = g_.oh * g_.ow, oc4 = g_.oc / 4 * 4, channels = g_.oc;
    const float64x2_t s = vdupq_n_f64(in_scale);
    const double *w_scale = wscale_.data(), *bias = dbias_.data();
    const Activation act = post_.activation;
    if (!post_.sum) {
      with_activation(act, [&](auto kind) {
        for (int64_t p = p0; p < p1; ++p) {
          const int32_t* row = acc + p * channels;
          float* y = dst + p;
          for (int64_t oc = 0; oc < oc4; oc += 4, y += 4 * m) {
            const float32x4_t v = dequantize(vld1q_s32(row + oc), s, w_scale + oc, bias + oc);
            store_strided(y, m, activate_as<decltype(kind)::value>(act, v));
          }
        }
      });
    } else {  // + the residual dst holds (rounded through u8 where the reference rounds it)
      const bool round = q_.mode == QuantConfig::Mode::int8_static && q_.quantize_output;
      const quant::Affine ra(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
      for (int64_t p = p0; p < p1; ++p) {
        const int32_t* row = acc + p * channels;
        float* y = dst + p;
        for (int64_t oc = 0; oc < oc4; oc += 4, y += 4 * m) {
          const float32x4_t v = activate(act, dequantize(vld1q_s32(row + oc), s, w_scale + oc, bias + oc));
          const float gathered[4] = {y[0], y[m], y[2 * m], y[3 * m]};
          float32x4_t r = vld1q_f32(gathered);
          if (round) r = through_u8(r, ra);
          store_strided(y, m, activate(post_.after_sum, vaddq_f32(v, r)));
        }
      }
    }
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oc = oc4; oc < g_.oc; ++oc) epilogue_one(acc, p, oc, in_scale, dst);
  }

  // The reference backend's expressions, in its order, for pixel p of channel oc: `residual` (sum
  // kernels) already rounded as the reference rounds it.
  float value_at(const int32_t* acc, int64_t p, int64_t oc, double in_scale, float residual) const {
    const int64_t iacc = acc[p * g_.oc + oc];
    const double value = static_cast<double>(iacc) * in_scale * qweights_.scales[oc];
    const float v = apply_activation(post_.activation, static_cast<float>(value + bias_[oc]));
    return post_.sum ? apply_activation(post_.after_sum, v + residual) : v;
  }
  void epilogue_one(const int32_t* acc, int64_t p, int64_t oc, double in_scale, float* dst) const {
    float& y = dst[oc * g_.oh * g_.ow + p];
    y = value_at(acc, p, oc, in_scale, post_.sum ? residual(y) : 0.f);
  }

  // As the reference: a static conv writing u8 holds its residual as u8 in its destination.
  float residual(float r) const {
    if (!post_.sum || q_.mode != QuantConfig::Mode::int8_static || !q_.quantize_output) return r;
    const quant::Affine a(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
    return static_cast<float>(a.scale * (a.encode(r) - a.zero_point));
  }

  ConvGeometry g_;
  ConvPostOps post_;
  QuantConfig q_;
  ThreadCount threads_;
  const Int8Gemm& gemm_;
  std::vector<float> bias_;
  QuantizedWeights qweights_;
  std::vector<int32_t> wsum_;
  std::vector<double> wscale_, dbias_;  // the weight scales and bias as doubles, for the vector epilogue
  bool direct_rows_ = false;     // pointwise: the GEMM reads the NHWC pixels in place
  bool framed_ = false;          // im2col / the taps read a padded copy of the image (frame_image)
  bool indirect_ = false;        // the GEMM reads each window's taps in place (tap_offsets_)
  int64_t short_len_ = 0;        // or its kernel rows as short taps of this length (short_tap_length)
  std::vector<int64_t> tap_offsets_;  // indirect_ / short_len_: each tap's offset from its window's first
  int64_t kpad_ = 0;             // the GEMM's k: icg·kh·kw rounded up to 16 (short taps: taps · short_len_)
  std::vector<PackedB> packed_;  // one per group
  std::unique_ptr<Int8Depthwise> depthwise_;  // or the GEMM
  std::vector<int32_t> left_shifts_, right_shifts_;  // fixed point: each channel's shift, ≥ 0 and ≤ 0
  std::vector<int32_t> bias_in_sums_;  // fixed point: the bias, where the GEMM's sums start from it
  bool any_left_shift_ = false;
  // fixed point, GEMM layers: the in-register requantization (gemm_codes_image)
  std::vector<int32_t> rq_multipliers_, rq_left_, rq_right_, rq_bias_;
  std::vector<int8_t> rq_table_;  // an activation table's codes, s8 form
  CodesRequantization rq_;
};

class ArmInt8Dense : public DenseKernel {
 public:
  ArmInt8Dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b, const Activation& act,
               const QuantConfig& q, ThreadCount threads)
      : m_(m), k_(k), n_(n), act_(act), q_(q), threads_(threads), gemm_(select_int8_gemm()),
        bias_(static_cast<size_t>(n), 0.f) {
    if (b) bias_.assign(b, b + n);
    qweights_ = q.weights ? *q.weights : quantize_weights(w, n, k, q.weight_bits);
    wsum_ = row_sums(qweights_.values, n, k);
    packed_ = gemm_.pack(qweights_.values.data(), n, k);
  }

  void run(const float* src, float* dst) override {
    note_int8_run(gemm_);
    const quant::Affine a = input_affine(q_, src, m_ * k_);
    std::vector<int8_t> x(static_cast<size_t>(m_ * k_));
    encode_shifted(src, m_ * k_, a, x.data());
    std::vector<const int8_t*> rows(static_cast<size_t>(m_));
    for (int64_t i = 0; i < m_; ++i) rows[i] = x.data() + i * k_;
    std::vector<int32_t> acc(static_cast<size_t>(m_ * n_)), init(static_cast<size_t>(n_));
    for (int64_t j = 0; j < n_; ++j) init[j] = (128 - a.zero_point) * wsum_[j];
    gemm_.gemm(rows.data(), Int8Taps::plain(k_), m_, packed_, init.data(), acc.data(), n_);
    for (int64_t i = 0; i < m_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        const int64_t iacc = acc[i * n_ + j];
        const double value = static_cast<double>(iacc) * a.scale * qweights_.scales[j];
        dst[i * n_ + j] = apply_activation(act_, static_cast<float>(value + bias_[j]));
      }
  }

 private:
  int64_t m_, k_, n_;
  Activation act_;
  QuantConfig q_;
  ThreadCount threads_;
  const Int8Gemm& gemm_;
  std::vector<float> bias_;
  QuantizedWeights qweights_;
  std::vector<int32_t> wsum_;
  PackedB packed_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_int8_conv(const ConvGeometry& g, const float* w, const float* b,
                                           const ConvPostOps& post, const QuantConfig& q, ThreadCount threads) {
  return std::make_unique<ArmInt8Conv>(g, w, b, post, q, threads);
}

std::unique_ptr<DenseKernel> make_int8_dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                             const Activation& act, const QuantConfig& q, ThreadCount threads) {
  return std::make_unique<ArmInt8Dense>(m, k, n, w, b, act, q, threads);
}

}  // namespace edgequant::engine::arm
