// Midrise uniform quantizer (SPEC §1): q = s(x) ceil(|x| / delta), x_hat = s(q) delta (|q| - 1/2).
// No zero level: x == 0 (either sign of zero) goes to q = +1, the smallest positive level, since
// s(0) = +1 and the alphabet has no 0 (the paper's formula would give q = 0, decoded to -delta/2).
#pragma once
#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct Midrise {
  double step;
  int32_t max_symbol;  // L / 2

  Midrise(int64_t levels, double xmax) {
    step = uniform_step(xmax, levels);
    max_symbol = static_cast<int32_t>(levels / 2);
  }

  template <class T>
  int32_t encode(T x) const {
    T t = std::ceil(std::abs(x) / static_cast<T>(step));
    t = clamp_or_zero(t, T(1), static_cast<T>(max_symbol));
    int32_t magnitude = static_cast<int32_t>(t);
    return x < T(0) ? -magnitude : magnitude;
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return 1;
    int32_t sign = x >= T(0) ? 1 : -1;
    double magnitude = std::ceil(static_cast<double>(std::abs(x) / static_cast<T>(step)));
    if (magnitude < 1) magnitude = 1;
    if (magnitude > max_symbol) magnitude = max_symbol;
    return sign * static_cast<int32_t>(magnitude);
  }
  float decode(int32_t q) const {
    float magnitude = saturate_to_float(static_cast<float>(step) * (static_cast<float>(q < 0 ? -q : q) - 0.5f));
    return q < 0 ? -magnitude : magnitude;
  }
  bool valid(int32_t q) const { return q != 0 && q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(Midrise)

}  // namespace edgequant::quant
