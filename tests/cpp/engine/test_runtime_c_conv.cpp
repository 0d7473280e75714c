// The reference backend's fixed-point convolutions on runtime/c's kernels (backend/runtime_c_conv.h)
// against the formula written here: Σ (q − z)·w over the window, requantized by requantize() —
// plain and depthwise (multipliers 1 and 2), strides, dilations, pads, zero points at the u8
// limits, output scales that shift the multiplier left and right; grouped convs have no C kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/fixed_point_requantization.h"
#include "backend/int8_support.h"
#include "backend/runtime_c_conv.h"

namespace edgequant::engine {
namespace {

std::vector<uint8_t> formula(const ConvGeometry& g, const QuantConfig& q, const QuantizedWeights& w,
                             const std::vector<uint8_t>& x) {
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups;
  std::vector<uint8_t> y(static_cast<size_t>(g.n * g.oc * g.oh * g.ow));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.oc; ++oc)
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          int64_t sum = 0;
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t kh = 0; kh < g.kh; ++kh)
              for (int64_t kw = 0; kw < g.kw; ++kw) {
                const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (ih < 0 || ih >= g.ih || iw < 0 || iw >= g.iw) continue;
                const int64_t q_in = x[((n * g.ic + oc / ocg * icg + c) * g.ih + ih) * g.iw + iw];
                sum += (q_in - q.zero_point) * w.values[((oc * icg + c) * g.kh + kh) * g.kw + kw];
              }
          y[((n * g.oc + oc) * g.oh + oh) * g.ow + ow] = static_cast<uint8_t>(requantize(*q.fixed_point, oc, sum));
        }
  return y;
}

TEST(RuntimeCConv, EqualsTheFormulaOnPlainAndDepthwiseConvolutions) {
  std::mt19937 rng(41);
  auto pick = [&](std::vector<int64_t> v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]; };
  std::uniform_real_distribution<float> unit(-1, 1);
  for (int i = 0; i < 120; ++i) {
    ConvGeometry g{};
    const int kind = i % 3;  // plain, depthwise, depthwise x2
    g.n = pick({1, 2});
    g.ic = pick({1, 3, 8, 17});
    g.groups = kind == 0 ? 1 : g.ic;
    g.oc = kind == 0 ? pick({1, 4, 9}) : g.ic * (kind == 2 ? 2 : 1);
    g.kh = pick({1, 3}), g.kw = pick({1, 3, 5});
    g.stride_h = pick({1, 2}), g.stride_w = pick({1, 3}), g.dilation_h = pick({1, 2}), g.dilation_w = 1;
    g.pad_top = pick({0, 1}), g.pad_left = pick({0, 2}), g.pad_bottom = pick({0, 1}), g.pad_right = 0;
    g.ih = pick({3, 7, 9}), g.iw = pick({5, 8});
    const int64_t eh = g.ih + g.pad_top + g.pad_bottom - g.dilation_h * (g.kh - 1) - 1;
    const int64_t ew = g.iw + g.pad_left + g.pad_right - g.dilation_w * (g.kw - 1) - 1;
    if (eh < 0 || ew < 0) continue;
    g.oh = eh / g.stride_h + 1, g.ow = ew / g.stride_w + 1;
    QuantConfig q;
    q.mode = QuantConfig::Mode::int8_static;
    q.scale = 0.01f, q.zero_point = static_cast<int32_t>(pick({0, 128, 255, 37}));
    q.quantize_output = true;
    q.output_scale = std::exp2(std::uniform_real_distribution<float>(-12, 1)(rng));
    q.output_zero_point = static_cast<int32_t>(pick({0, 5, 128, 255}));
    const int64_t per_oc = g.ic / g.groups * g.kh * g.kw;
    std::vector<float> w(static_cast<size_t>(g.oc * per_oc)), b(static_cast<size_t>(g.oc));
    for (float& v : w) v = unit(rng);
    for (float& v : b) v = unit(rng);
    const QuantizedWeights qw = quantize_weights(w.data(), g.oc, per_oc);
    ConvPostOps post;
    post.activation.kind = i % 2 ? Activation::Kind::relu : Activation::Kind::none;
    q.fixed_point = prepare_fixed_point(q, qw.scales, b.data(), post);
    ASSERT_TRUE(q.fixed_point);
    std::vector<uint8_t> x(static_cast<size_t>(g.n * g.ic * g.ih * g.iw));
    for (uint8_t& v : x) v = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
    std::vector<uint8_t> y(static_cast<size_t>(g.n * g.oc * g.oh * g.ow), 0xA5);
    ASSERT_TRUE(run_on_runtime_c(g, q, qw, x.data(), y.data())) << "case " << i;
    EXPECT_EQ(y, formula(g, q, qw, x)) << "case " << i << " kind " << kind;
  }
  // a grouped convolution that is not depthwise: no C kernel
  ConvGeometry g{1, 4, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2};
  QuantConfig q;
  q.mode = QuantConfig::Mode::int8_static, q.quantize_output = true;
  const std::vector<float> w(8, 0.5f);
  const QuantizedWeights qw = quantize_weights(w.data(), 4, 2);
  q.fixed_point = prepare_fixed_point(q, qw.scales, nullptr, ConvPostOps{});
  std::vector<uint8_t> x(36, 1), y(36, 0);
  EXPECT_FALSE(run_on_runtime_c(g, q, qw, x.data(), y.data()));
}

}  // namespace
}  // namespace edgequant::engine
