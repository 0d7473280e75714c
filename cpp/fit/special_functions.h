// The special functions the families' PDFs and CDFs need, in double precision.
#pragma once

namespace edgequant::fit {

// log Γ(x) for x > 0. Thread-safe (std::lgamma writes the global signgam).
double log_gamma(double x);

// Standard normal CDF Φ(z) and survival function 1 − Φ(z) = Φ(−z), each accurate in its tail.
double normal_cdf(double z);
double normal_sf(double z);

// Regularized incomplete gamma functions P(a, x) (lower) and Q(a, x) = 1 − P (upper), a > 0,
// x ≥ 0. Both come from one evaluation; the one computed directly is the small one, so each is
// accurate in its own tail.
struct GammaPair {
  double lower;
  double upper;
};
GammaPair incomplete_gamma(double a, double x);

// Regularized incomplete beta I_x(a, b) and 1 − I_x(a, b), with y = 1 − x passed separately so
// a caller that knows y exactly (Student-t near its centre) loses no digits forming it.
struct BetaPair {
  double lower;
  double upper;
};
BetaPair incomplete_beta(double a, double b, double x, double y);

}  // namespace edgequant::fit
