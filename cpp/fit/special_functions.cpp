#include "fit/special_functions.h"

#include <cmath>
#include <limits>

namespace edgequant::fit {
namespace {
constexpr int kMaxIterations = 1000;
constexpr double kEpsilon = 1e-16;
constexpr double kTiny = 1e-300;  // keeps the continued fractions away from 0/0 (Lentz's method)

// P(a, x) by its power series: converges quickly for x < a + 1.
double gamma_series(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::abs(term) < std::abs(sum) * kEpsilon) break;
  }
  return sum * std::exp(-x + a * std::log(x) - log_gamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz): converges quickly for x > a + 1.
double gamma_continued_fraction(double a, double x) {
  double b = x + 1.0 - a, c = 1.0 / kTiny, d = 1.0 / b, h = d;
  for (int n = 1; n < kMaxIterations; ++n) {
    double an = -n * (n - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < kEpsilon) break;
  }
  return std::exp(-x + a * std::log(x) - log_gamma(a)) * h;
}

// Continued fraction of I_x(a, b) (Numerical Recipes' betacf), good for x < (a + 1)/(a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < kMaxIterations; ++m) {
    int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}
}  // namespace

double log_gamma(double x) {
  int sign;
  return lgamma_r(x, &sign);
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z * M_SQRT1_2); }
double normal_sf(double z) { return 0.5 * std::erfc(z * M_SQRT1_2); }

GammaPair incomplete_gamma(double a, double x) {
  if (x <= 0) return {0.0, 1.0};
  if (std::isinf(x)) return {1.0, 0.0};
  if (x < a + 1.0) {
    double lower = gamma_series(a, x);
    return {lower, 1.0 - lower};
  }
  double upper = gamma_continued_fraction(a, x);
  return {1.0 - upper, upper};
}

BetaPair incomplete_beta(double a, double b, double x, double y) {
  if (x <= 0) return {0.0, 1.0};
  if (y <= 0) return {1.0, 0.0};
  double log_front = log_gamma(a + b) - log_gamma(a) - log_gamma(b) + a * std::log(x) + b * std::log(y);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    double lower = std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
    return {lower, 1.0 - lower};
  }
  double upper = std::exp(log_front) * beta_continued_fraction(b, a, y) / b;
  return {1.0 - upper, upper};
}

}  // namespace edgequant::fit
