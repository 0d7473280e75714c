// Midtread uniform quantizer (SPEC §1): q = round(x / delta), x_hat = delta * q. Has a zero level.
#pragma once
#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct Midtread {
  double step;         // delta = 2 xmax / L
  int32_t max_symbol;  // L / 2: |q| <= max_symbol

  Midtread(int64_t levels, double xmax) {
    step = uniform_step(xmax, levels);
    max_symbol = static_cast<int32_t>(levels / 2);
  }

  template <class T>
  int32_t encode(T x) const {
    T t = std::nearbyint(x / static_cast<T>(step));
    return static_cast<int32_t>(clamp_or_zero(t, -static_cast<T>(max_symbol), static_cast<T>(max_symbol)));
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return 0;
    double q = std::nearbyint(static_cast<double>(x / static_cast<T>(step)));  // round half to even
    if (q > max_symbol) q = max_symbol;
    if (q < -max_symbol) q = -max_symbol;
    return static_cast<int32_t>(q);
  }
  // "+ 0.0f": the fused loop may fold float(int(t)) into t, and t = -0.0 for small negative x;
  // adding +0 makes that zero +0, as decode(encode(x)) gives (found by the registry-wide test).
  float decode(int32_t q) const { return saturate_to_float(static_cast<float>(step) * static_cast<float>(q)) + 0.0f; }
  bool valid(int32_t q) const { return q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(Midtread)

}  // namespace edgequant::quant
