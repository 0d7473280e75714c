// μ-law companded quantizer (SPEC §1): compress y = X ln(1 + μ|x|/X) / ln(1 + μ) s(x), midtread
// quantization of y with L levels over [-X, X], expand x_hat = (X/μ)((1 + μ)^(|y_hat|/X) - 1) s(y_hat).
// The compander runs in float64 whatever the input dtype (so NumPy references match bit for bit).
#pragma once
#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct MuLaw {
  double xmax;
  double mu;
  double log1p_mu;     // ln(1 + μ)
  double step;         // in the companded domain
  int32_t max_symbol;  // L / 2

  MuLaw(int64_t levels, double mu_value, double xmax_value) {
    require(mu_value > 0 && std::isfinite(mu_value), "mu must be finite and > 0");
    xmax = xmax_value;
    mu = mu_value;
    log1p_mu = std::log1p(mu);
    step = uniform_step(xmax, levels);
    max_symbol = static_cast<int32_t>(levels / 2);
  }

  template <class T>
  int32_t encode(T x) const {
    double magnitude = std::min(std::abs(static_cast<double>(x)), xmax);
    double companded = xmax * std::log1p(mu * magnitude / xmax) / log1p_mu;
    double t = clamp_or_zero(std::nearbyint(companded / step), 0.0, static_cast<double>(max_symbol));
    int32_t q = static_cast<int32_t>(t);
    return x < T(0) ? -q : q;
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return 0;
    double magnitude = std::abs(static_cast<double>(x));
    if (magnitude > xmax) magnitude = xmax;
    double companded = xmax * std::log1p(mu * magnitude / xmax) / log1p_mu;
    int32_t q = static_cast<int32_t>(std::nearbyint(companded / step));
    return x < T(0) ? -q : q;
  }
  float decode(int32_t q) const {
    double companded = step * std::abs(static_cast<double>(q));
    double magnitude = xmax / mu * std::expm1(companded / xmax * log1p_mu);
    return static_cast<float>(q < 0 ? -magnitude : magnitude);
  }
  bool valid(int32_t q) const { return q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(MuLaw)

}  // namespace edgequant::quant
