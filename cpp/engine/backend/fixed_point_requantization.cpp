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

// The pre-activation range [lo, hi] beyond which `act` gives the output code of the range's end, for
// an output grid of step `step` whose largest value is y_hi; false for an activation without one.
bool table_domain(const Activation& act, double step, double y_hi, double& lo, double& hi) {
  const double a = act.alpha, b = act.beta;
  switch (act.kind) {
    case Activation::Kind::hardsigmoid:  // constant outside the ramp
      if (a == 0) return false;
      lo = std::min(-b / a, (1 - b) / a), hi = std::max(-b / a, (1 - b) / a);
      return true;
    case Activation::Kind::hardswish:  // 0 below the ramp, x above it
      if (!(a > 0)) return false;
      lo = -b / a, hi = std::max((1 - b) / a, y_hi + step);
      return true;
    case Activation::Kind::swish: {  // x·σ(x): its minimum −0.2785 at −1.2785, then towards 0 and x
      constexpr double kMinimumAt = -1.2784645;
      hi = crossing(swish, 0, std::max(y_hi, 0.0) + step + 2, std::max(y_hi, 0.0) + step);
      lo = step / 4 >= -swish(kMinimumAt) ? kMinimumAt : crossing(swish, -120, kMinimumAt, -step / 4);
      return true;
    }
    default:
      return false;
  }
}

// The table of `act` over the index grid x = s·(i − zero) (FixedPointRequantization::table).
void fill_table(const Activation& act, double s, int32_t zero, const quant::Affine& out, FixedPointRequantization& r) {
  r.table.resize(static_cast<size_t>(kActivationTableSize));
  for (int32_t i = 0; i < kActivationTableSize; ++i)
    r.table[static_cast<size_t>(i)] =
        static_cast<uint8_t>(out.encode(apply_activation(act, static_cast<float>(s * (i - int64_t{zero})))));
}

}  // namespace

std::shared_ptr<const FixedPointRequantization> prepare_fixed_point(const QuantConfig& q,
                                                                    const std::vector<float>& weight_scales,
                                                                    const float* bias, const ConvPostOps& post) {
  if (q.mode != QuantConfig::Mode::int8_static || !q.quantize_output || post.sum || post.activation.has_affine())
    return nullptr;
  const Activation& act = post.activation;
  auto r = std::make_shared<FixedPointRequantization>();
  double grid = q.output_scale;  // the scale the sums are requantized to: the output's, or the table's
  float lo = -INFINITY, hi = INFINITY;
  const bool clamp = act.kind == Activation::Kind::none || act.kind == Activation::Kind::relu ||
                     act.kind == Activation::Kind::clip;
  if (act.kind == Activation::Kind::relu) {
    lo = 0;
  } else if (act.kind == Activation::Kind::clip) {
    lo = act.lo;
    hi = act.hi;
    if (std::isnan(lo) || std::isnan(hi) || lo > hi) return nullptr;
  } else if (!clamp) {
    const quant::Affine out(activation_format(), quant::AffineParams{q.output_scale, q.output_zero_point});
    double x_lo = 0, x_hi = 0;
    if (!table_domain(act, out.scale, out.scale * (255 - out.zero_point), x_lo, x_hi) || !(x_hi > x_lo)) return nullptr;
    grid = (x_hi - x_lo) / (kActivationTableSize - 1);
    // coarser than a quarter of an output step, the table's rounding would show: float it stays
    if (!(grid <= out.scale / 4) || std::abs(x_lo / grid) > (1 << 30)) return nullptr;
    r->zero_point = static_cast<int32_t>(std::llround(-x_lo / grid));
    r->min = 0, r->max = kActivationTableSize - 1;
    fill_table(act, grid, r->zero_point, out, *r);
  }
  try {
    for (const quant::QuantizedMultiplier& m : quant::per_channel_multipliers(q.scale, weight_scales, grid)) {
      r->multipliers.push_back(m.multiplier);
      r->shifts.push_back(m.shift);
    }
    if (clamp) std::tie(r->min, r->max) = quant::clamp_range(lo, hi, q.output_scale, q.output_zero_point, 0, 255);
  } catch (const InvalidArgument&) {
    return nullptr;  // a multiplier beyond 2^30 (or a scale the integer form cannot take): float it stays
  }
  for (size_t c = 0; c < weight_scales.size(); ++c)
    r->bias.push_back(bias ? quant::quantize_bias(bias[c], q.scale, weight_scales[c]) : 0);
  if (!clamp && q.weights && !weight_scales.empty()) {
    // The table's grid is finer than the output's: its multipliers may shift left, and a sum shifted
    // past int32 would wrap (TFLite's arithmetic) into a wrong index. Where the largest possible sum
    // Σ |q − z|·|w| + |bias| ≤ k·255·128 + |bias| could, the layer keeps float requantization.
    const int64_t k = static_cast<int64_t>(q.weights->values.size() / weight_scales.size());
    for (size_t c = 0; c < weight_scales.size(); ++c)
      if (r->shifts[c] > 0 && (k * 255 * 128 + std::abs(int64_t{r->bias[c]})) >= (int64_t{1} << (31 - r->shifts[c])))
        return nullptr;
  }
  if (clamp) r->zero_point = q.output_zero_point;
  return r;
}

}  // namespace edgequant::engine
