#include "backend/runtime_c_conv.h"

#include <limits>
#include <vector>

#include "eq_conv2d.h"
#include "eq_depthwise_conv2d.h"

namespace edgequant::engine {

bool run_on_runtime_c(const ConvGeometry& g, const QuantConfig& q, const QuantizedWeights& weights,
                      const uint8_t* src, uint8_t* dst) {
  const FixedPointRequantization* r = q.fixed_point.get();
  const bool depthwise = g.groups > 1 && g.groups == g.ic && g.oc % g.ic == 0;
  // the C kernels have no table and no fused residual
  if (!r || !r->table.empty() || r->residual || (g.groups != 1 && !depthwise)) return false;
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  for (int64_t v : {g.n * g.ic * g.ih * g.iw, g.n * g.oc * g.oh * g.ow, g.oc * (g.ic / g.groups) * g.kh * g.kw})
    if (v > kMax) return false;
  eq_window_params p{};
  p.batches = static_cast<int32_t>(g.n);
  p.input_height = static_cast<int32_t>(g.ih), p.input_width = static_cast<int32_t>(g.iw);
  p.input_channels = static_cast<int32_t>(g.ic);
  p.output_height = static_cast<int32_t>(g.oh), p.output_width = static_cast<int32_t>(g.ow);
  p.output_channels = static_cast<int32_t>(g.oc);
  p.filter_height = static_cast<int32_t>(g.kh), p.filter_width = static_cast<int32_t>(g.kw);
  p.stride_height = static_cast<int32_t>(g.stride_h), p.stride_width = static_cast<int32_t>(g.stride_w);
  p.dilation_height = static_cast<int32_t>(g.dilation_h), p.dilation_width = static_cast<int32_t>(g.dilation_w);
  p.padding_top = static_cast<int32_t>(g.pad_top), p.padding_left = static_cast<int32_t>(g.pad_left);
  p.depth_multiplier = depthwise ? static_cast<int32_t>(g.oc / g.ic) : 1;
  // the C's s8 dialect: every code and zero point moved by −128 (backend/int8_support.h)
  p.input_offset = -(q.zero_point - 128);
  p.output_offset = r->zero_point - 128;
  p.activation_min = r->min - 128, p.activation_max = r->max - 128;
  const int64_t hw = g.ih * g.iw, out_hw = g.oh * g.ow, taps = g.kh * g.kw, icg = g.ic / g.groups;
  std::vector<int8_t> x(static_cast<size_t>(g.n * g.ic * hw)), y(static_cast<size_t>(g.n * g.oc * out_hw));
  for (int64_t n = 0; n < g.n; ++n)  // NCHW u8 -> NHWC s8
    for (int64_t c = 0; c < g.ic; ++c)
      for (int64_t i = 0; i < hw; ++i) x[(n * hw + i) * g.ic + c] = static_cast<int8_t>(src[(n * g.ic + c) * hw + i] - 128);
  std::vector<int8_t> filter(weights.values.size());
  for (int64_t oc = 0; oc < g.oc; ++oc)  // [oc, icg, kh, kw] -> OHWI, or 1HWO for depthwise (icg = 1)
    for (int64_t c = 0; c < icg; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t w = weights.values[(oc * icg + c) * taps + t];
        filter[depthwise ? t * g.oc + oc : (oc * taps + t) * icg + c] = w;
      }
  if (depthwise)
    eq_depthwise_conv2d_s8_ref(&p, r->multipliers.data(), r->shifts.data(), x.data(), filter.data(), r->bias.data(),
                               y.data());
  else
    eq_conv2d_s8_ref(&p, r->multipliers.data(), r->shifts.data(), x.data(), filter.data(), r->bias.data(), y.data());
  for (int64_t n = 0; n < g.n; ++n)  // NHWC s8 -> NCHW u8
    for (int64_t c = 0; c < g.oc; ++c)
      for (int64_t i = 0; i < out_hw; ++i) dst[(n * g.oc + c) * out_hw + i] = static_cast<uint8_t>(y[(n * out_hw + i) * g.oc + c] + 128);
  return true;
}

}  // namespace edgequant::engine
