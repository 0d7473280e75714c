// μ-law companded quantizer (SPEC §1): compress y = X ln(1 + μ|x|/X) / ln(1 + μ) s(x), midtread
// quantization of y with L levels over [-X, X], expand x_hat = (X/μ)((1 + μ)^(|y_hat|/X) - 1) s(y_hat).
// The compander runs in float64 whatever the input dtype (so NumPy references match bit for bit).
#pragma once
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct MuLaw {
  double xmax;
  double mu;
  double log1p_mu;     // ln(1 + μ)
  double step;         // in the companded domain
  int32_t max_symbol;  // L / 2
  // Reconstructions |x_hat| for |q| = 0..max_symbol, when there are few enough levels: decoding
  // is then a lookup instead of an expm1 per weight. Shared by the copies the kernels make.
  std::shared_ptr<const std::vector<float>> magnitudes;
  const float* magnitude_table = nullptr;
  static constexpr int32_t kMaxTabulated = 1 << 16;

  MuLaw(int64_t levels, double mu_value, double xmax_value) {
    require(mu_value > 0 && std::isfinite(mu_value), "mu must be finite and > 0");
    xmax = xmax_value;
    mu = mu_value;
    log1p_mu = std::log1p(mu);
    step = uniform_step(xmax, levels);
    max_symbol = static_cast<int32_t>(levels / 2);
    if (max_symbol <= kMaxTabulated) {
      auto table = std::make_shared<std::vector<float>>(static_cast<size_t>(max_symbol) + 1);
      for (int32_t q = 0; q <= max_symbol; ++q) (*table)[q] = expand(q);
      magnitudes = table;
      magnitude_table = table->data();
    }
  }

  // |x_hat| of symbol magnitude q: the expansion, evaluated in float64. Out of line on purpose:
  // inlined, GCC if-converts decode()'s table-or-formula choice and evaluates expm1 for every
  // weight even when the table answers.
  __attribute__((noinline)) float expand(int32_t q) const {
    double companded = step * static_cast<double>(q);
    return saturate_to_float(xmax / mu * std::expm1(companded / xmax * log1p_mu));
  }

  template <class T>
  int32_t encode(T x) const {
    double magnitude = std::min(std::abs(static_cast<double>(x)), xmax);
    double companded = xmax * std::log1p(mu * magnitude / xmax) / log1p_mu;
    double t = clamp_or_zero(std::nearbyint(companded / step), 0.0, static_cast<double>(max_symbol));
    int32_t q = static_cast<int32_t>(t);
    // Sign applied with a mask, not `x < 0 ? -q : q`: this loop is scalar (log1p), and GCC threads
    // the two sign selects of encode and decode into one branch on the sign of x, which is random
    // for weights and mispredicted half the time (measured: fused 54 -> 22 ns per weight).
    int32_t negative = -static_cast<int32_t>(x < T(0));
    return (q ^ negative) - negative;
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
    // |q| without overflow for INT32_MIN, clamped so that invalid symbols (counted by valid())
    // never index past the table.
    const uint32_t sign = static_cast<uint32_t>(q) >> 31;  // masks, not branches: see encode()
    const uint32_t mask = 0u - sign;
    uint32_t magnitude = (static_cast<uint32_t>(q) ^ mask) + sign;
    magnitude = std::min(magnitude, static_cast<uint32_t>(max_symbol));
    float value = magnitude_table ? magnitude_table[magnitude] : expand(static_cast<int32_t>(magnitude));
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    bits |= sign << 31;
    std::memcpy(&value, &bits, sizeof(bits));
    return value;
  }
  bool valid(int32_t q) const { return q >= -max_symbol && q <= max_symbol; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(MuLaw)

}  // namespace edgequant::quant
