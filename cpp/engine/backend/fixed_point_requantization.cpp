#include "backend/fixed_point_requantization.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "backend/int8_support.h"
#include "common/error.h"

namespace edgequant::engine {
namespace {

double swish(double x) { return x / (1 + std::exp(-x)); }

// x in [lo, hi] with f(x) on the side of `target` that f(lo) is not, f monotone there: bisection.
template <class F>
double crossing(F&& f, double lo, double hi, double target) {
  const bool rising = f(hi) > f(lo);
  for (int k = 0; k < 200; ++k) {
    const double mid = (lo + hi) / 2;
    ((f(mid) < target) == rising ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// The pre-activation range [lo, hi] beyond which `act` changes its output by less than the output
// step `step` can tell: constant, or (swish's negative tail) within `tail` of its limit, or past
// `top`, the largest value that still matters; false for an activation without one.
bool table_domain(const Activation& act, double step, double top, double tail, double& lo, double& hi) {
  const double a = act.alpha, b = act.beta;
  switch (act.kind) {
    case Activation::Kind::hardsigmoid:  // constant outside the ramp
      if (a == 0) return false;
      lo = std::min(-b / a, (1 - b) / a), hi = std::max(-b / a, (1 - b) / a);
      return true;
    case Activation::Kind::hardswish:  // 0 below the ramp, x above it
      if (!(a > 0)) return false;
      lo = -b / a, hi = std::max((1 - b) / a, top + step);
      return true;
    case Activation::Kind::swish: {  // x·σ(x): its minimum −0.2785 at −1.2785, then towards 0 and x
      constexpr double kMinimumAt = -1.2784645;
      hi = crossing(swish, 0, std::max(top, 0.0) + step + 2, std::max(top, 0.0) + step);
      lo = tail >= -swish(kMinimumAt) ? kMinimumAt : crossing(swish, -120, kMinimumAt, -tail);
      return true;
    }
    default:
      return false;
  }
}

bool is_clamp(const Activation& act) {
  return act.kind == Activation::Kind::none || act.kind == Activation::Kind::relu || act.kind == Activation::Kind::clip;
}

// The bounds a clamp activation puts on its values (±inf where it has none); false for NaN bounds.
bool clamp_bounds(const Activation& act, float& lo, float& hi) {
  lo = -INFINITY, hi = INFINITY;
  if (act.kind == Activation::Kind::relu) lo = 0;
  if (act.kind == Activation::Kind::clip) lo = act.lo, hi = act.hi;
  return !(std::isnan(lo) || std::isnan(hi) || lo > hi);
}

// x rounded to the nearest int32 (±inf and beyond to the ends).
int32_t saturated(double x) { return static_cast<int32_t>(std::llround(std::clamp(x, double{INT32_MIN}, double{INT32_MAX}))); }

// The activation's table over the index grid x = s·(i − zero): the output codes (FixedPointRequantization
// ::table), or with a residual the values in `unit`s (::values).
void fill_table(const Activation& act, double s, int32_t zero, const quant::Affine& out, double unit,
                FixedPointRequantization& r) {
  for (int32_t i = 0; i < kActivationTableSize; ++i) {
    const float y = apply_activation(act, static_cast<float>(s * (i - int64_t{zero})));
    if (r.residual) r.values.push_back(saturated(y / unit));
    else r.table.push_back(static_cast<uint8_t>(out.encode(y)));
  }
}

}  // namespace

std::shared_ptr<const FixedPointRequantization> prepare_fixed_point(const QuantConfig& q,
                                                                    const std::vector<float>& weight_scales,
                                                                    const float* bias, const ConvPostOps& post) {
  if (q.mode != QuantConfig::Mode::int8_static || !q.quantize_output || post.activation.has_affine()) return nullptr;
  const Activation& act = post.activation;
  float lo = 0, hi = 0;
  if (post.sum && (post.after_sum.has_affine() || !is_clamp(post.after_sum))) return nullptr;
  if (!clamp_bounds(post.sum ? post.after_sum : act, lo, hi) || (post.sum && is_clamp(act) && !clamp_bounds(act, lo, hi)))
    return nullptr;
  auto r = std::make_shared<FixedPointRequantization>();
  r->residual = post.sum;
  const quant::Affine out(activation_format(), quant::AffineParams{q.output_scale, q.output_zero_point});
  const double unit = post.sum ? out.scale / (1 << kResidualFraction) : out.scale;  // of the value before rounding
  double grid = unit;  // the scale the sums are requantized to: the value's unit, or the table's step
  try {
    float after_lo = -INFINITY, after_hi = INFINITY;
    if (post.sum) {  // the residual's part, and the clamp after the sum in codes
      const quant::Affine skip(activation_format(), quant::AffineParams{q.residual_scale, q.residual_zero_point});
      const quant::QuantizedMultiplier m = quant::quantize_multiplier(skip.scale / unit);
      if (m.shift > 23) return nullptr;  // (r − z)·2^shift past int32
      r->residual_zero_point = skip.zero_point, r->residual_multiplier = m.multiplier, r->residual_shift = m.shift;
      r->output_zero_point = out.zero_point;
      clamp_bounds(post.after_sum, after_lo, after_hi);
      std::tie(r->min, r->max) = quant::clamp_range(after_lo, after_hi, out.scale, out.zero_point, 0, 255);
    }
    if (is_clamp(act)) {
      clamp_bounds(act, lo, hi);
      if (post.sum) r->pre_min = saturated(lo / unit), r->pre_max = saturated(hi / unit);
      else std::tie(r->min, r->max) = quant::clamp_range(lo, hi, out.scale, out.zero_point, 0, 255);
      r->zero_point = post.sum ? 0 : out.zero_point;
    } else {
      // the activation's values that can still move the output: with a residual r, up to y_max − r_min
      const double y_top = out.scale * (255 - out.zero_point);
      const double r_low = post.sum ? q.residual_scale * (0 - q.residual_zero_point) : 0;
      double x_lo = 0, x_hi = 0;
      if (!table_domain(act, out.scale, y_top - r_low, post.sum ? out.scale / 64 : out.scale / 4, x_lo, x_hi) ||
          !(x_hi > x_lo))
        return nullptr;
      grid = (x_hi - x_lo) / (kActivationTableSize - 1);
      // coarser than a quarter of an output step, the table's rounding would show: float it stays
      if (!(grid <= out.scale / 4) || std::abs(x_lo / grid) > (1 << 30)) return nullptr;
      r->zero_point = static_cast<int32_t>(std::llround(-x_lo / grid));
      if (post.sum) r->pre_min = 0, r->pre_max = kActivationTableSize - 1;
      else r->min = 0, r->max = kActivationTableSize - 1;
      fill_table(act, grid, r->zero_point, out, unit, *r);
    }
    for (const quant::QuantizedMultiplier& m : quant::per_channel_multipliers(q.scale, weight_scales, grid)) {
      r->multipliers.push_back(m.multiplier);
      r->shifts.push_back(m.shift);
    }
  } catch (const InvalidArgument&) {
    return nullptr;  // a multiplier beyond 2^30 (or a scale the integer form cannot take): float it stays
  }
  for (size_t c = 0; c < weight_scales.size(); ++c)
    r->bias.push_back(bias ? quant::quantize_bias(bias[c], q.scale, weight_scales[c]) : 0);
  if ((!is_clamp(act) || post.sum) && q.weights && !weight_scales.empty()) {
    // A table's grid, or the residual sum's unit, is finer than the output's: the multipliers may shift
    // left, and a sum shifted past int32 would wrap (TFLite's arithmetic) into a wrong value. Where the
    // largest possible sum Σ |q − z|·|w| + |bias| ≤ k·255·128 + |bias|, so scaled (the multiplier
    // itself is below 1), plus the zero point could reach 2^30, the layer keeps float requantization.
    const int64_t k = static_cast<int64_t>(q.weights->values.size() / weight_scales.size());
    for (size_t c = 0; c < weight_scales.size(); ++c) {
      const int64_t sum = k * 255 * 128 + std::abs(int64_t{r->bias[c]}), shift = r->shifts[c];
      if (shift > 30) return nullptr;
      const int64_t scaled = shift >= 0 ? sum << shift : sum >> std::min<int64_t>(-shift, 62);
      if (scaled + std::abs(int64_t{r->zero_point}) >= (int64_t{1} << 30)) return nullptr;
    }
  }
  return r;
}

CodeAddition prepare_code_addition(float scale_a, int32_t zero_a, float scale_b, int32_t zero_b, float output_scale,
                                   int32_t output_zero, int32_t min, int32_t max) {
  const quant::AddParameters p = quant::add_parameters(scale_a, scale_b, output_scale);
  CodeAddition a;
  a.left_shift = p.left_shift;
  a.zero_a = zero_a;
  a.multiplier_a = p.input1.multiplier;
  a.shift_a = p.input1.shift;
  a.zero_b = zero_b;
  a.multiplier_b = p.input2.multiplier;
  a.shift_b = p.input2.shift;
  a.output_zero = output_zero;
  a.output_multiplier = p.output.multiplier;
  a.output_shift = p.output.shift;
  a.min = min;
  a.max = max;
  return a;
}

}  // namespace edgequant::engine
