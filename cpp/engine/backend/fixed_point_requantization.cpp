#include "backend/fixed_point_requantization.h"

#include <cmath>
#include <tuple>

#include "common/error.h"

namespace edgequant::engine {

std::shared_ptr<const FixedPointRequantization> prepare_fixed_point(const QuantConfig& q,
                                                                    const std::vector<float>& weight_scales,
                                                                    const float* bias, const ConvPostOps& post) {
  if (q.mode != QuantConfig::Mode::int8_static || !q.quantize_output || post.sum || post.activation.has_affine())
    return nullptr;
  const Activation& act = post.activation;
  float lo = -INFINITY, hi = INFINITY;
  if (act.kind == Activation::Kind::relu) {
    lo = 0;
  } else if (act.kind == Activation::Kind::clip) {
    lo = act.lo;
    hi = act.hi;
    if (std::isnan(lo) || std::isnan(hi) || lo > hi) return nullptr;
  } else if (act.kind != Activation::Kind::none) {
    return nullptr;
  }
  auto r = std::make_shared<FixedPointRequantization>();
  try {
    for (const quant::QuantizedMultiplier& m : quant::per_channel_multipliers(q.scale, weight_scales, q.output_scale)) {
      r->multipliers.push_back(m.multiplier);
      r->shifts.push_back(m.shift);
    }
    std::tie(r->min, r->max) = quant::clamp_range(lo, hi, q.output_scale, q.output_zero_point, 0, 255);
  } catch (const InvalidArgument&) {
    return nullptr;  // a multiplier beyond 2^30 (or a scale the integer form cannot take): float it stays
  }
  for (size_t c = 0; c < weight_scales.size(); ++c)
    r->bias.push_back(bias ? quant::quantize_bias(bias[c], q.scale, weight_scales[c]) : 0);
  r->zero_point = q.output_zero_point;
  return r;
}

}  // namespace edgequant::engine
