// Dead-zone uniform quantizer with relative dead-zone size delta_dz (SPEC §1, paper eqs. 2.25-2.26):
//     q = 0 if |x| < delta_dz * step, else s(x) ceil(|x| / step - delta_dz)
//     x_hat = 0 if q = 0, else s(q) step (|q| + delta_dz - 1/2)
// Evaluated as q = s(x) max(0, ceil(|x|/step - delta_dz)), which is the same function.
// delta_dz = 0.5 is midtread except at exact ties |x|/step = n + 1/2 (here rounded toward zero,
// midtread rounds half to even); delta_dz = 0 is midrise except at x = 0 (here q = 0, x_hat = 0).
#pragma once
#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct Deadzone {
  double step;
  double delta;        // relative dead-zone size, [0, 1)
  int32_t max_symbol;  // L / 2

  Deadzone(int64_t levels, double dead_zone, double xmax) {
    require(dead_zone >= 0 && dead_zone < 1, "delta must be in [0, 1)");
    step = uniform_step(xmax, levels);
    delta = dead_zone;
    max_symbol = static_cast<int32_t>(levels / 2);
  }

  template <class T>
  int32_t encode(T x) const {
    T t = std::ceil(std::abs(x) / static_cast<T>(step) - static_cast<T>(delta));
    t = clamp_or_zero(t, T(0), static_cast<T>(max_symbol));
    int32_t magnitude = static_cast<int32_t>(t);
    return x < T(0) ? -magnitude : magnitude;
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return 0;
    T scaled = std::abs(x) / static_cast<T>(step);
    if (scaled - static_cast<T>(delta) <= T(0)) return 0;  // inside the dead zone
    double magnitude = std::ceil(static_cast<double>(scaled - static_cast<T>(delta)));
    if (magnitude > max_symbol) magnitude = max_symbol;
    return (x < T(0) ? -1 : 1) * static_cast<int32_t>(magnitude);
  }
  float decode(int32_t q) const {
    float magnitude = static_cast<float>(step) *
                      (static_cast<float>(q < 0 ? -q : q) + static_cast<float>(delta - 0.5));
    magnitude = q == 0 ? 0.0f : saturate_to_float(magnitude);
    return q < 0 ? -magnitude : magnitude;
  }
  bool valid(int32_t q) const { return q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(Deadzone)

}  // namespace edgequant::quant
