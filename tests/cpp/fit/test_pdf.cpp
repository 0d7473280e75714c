// Every registered family: the PDF integrates to 1, tails agree with the PDF, and the nested
// families coincide (gennorm beta = 1 is Laplace, t df = 1 is Cauchy, gamma a = 1 is expon).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "fit/registry.h"
#include "fit/special_functions.h"

using namespace edgequant::fit;

namespace {

// Shape 1.5 for every shape parameter, loc 0.3, scale 1.7.
Parameters example_params(const Family& family) {
  Parameters params(family.parameter_count(), 1.5);
  params[params.size() - 2] = 0.3;
  params[params.size() - 1] = 1.7;
  return params;
}

std::vector<double> evaluate_pdf(const Family& family, const Parameters& params, const std::vector<double>& x) {
  std::vector<double> out(x.size());
  family.pdf(params, x.data(), static_cast<int64_t>(x.size()), out.data());
  return out;
}

}  // namespace

TEST(FitPdf, MassBetweenTwoPointsMatchesCdfDifference) {
  for (const Family* family : all_families()) {
    Parameters params = example_params(*family);
    // Simpson's rule on [a, b] against F(b) − F(a), away from support edges.
    const double a = 0.5, b = 1.9;  // inside every support (uniform: [0.3, 2.0])
    const int steps = 2000;
    std::vector<double> x(steps + 1);
    for (int i = 0; i <= steps; ++i) x[i] = a + (b - a) * i / steps;
    std::vector<double> f = evaluate_pdf(*family, params, x);
    double integral = f[0] + f[steps];
    for (int i = 1; i < steps; ++i) integral += (i % 2 ? 4 : 2) * f[i];
    integral *= (b - a) / steps / 3;
    Tails ends[2];
    const double edges[2] = {a, b};
    family->tails(params, edges, 2, ends);
    EXPECT_NEAR(integral, ends[1].cdf - ends[0].cdf, 1e-10) << family->name();
    EXPECT_NEAR(ends[0].cdf + ends[0].sf, 1.0, 1e-14) << family->name();
  }
}

TEST(FitPdf, NestedFamiliesCoincide) {
  const std::vector<double> x = {-3.0, -0.7, 0.0, 0.4, 1.0, 2.5, 9.0};
  auto expect_same = [&](const Family& nesting, const Parameters& p_nesting, const Family& nested, const Parameters& p_nested) {
    std::vector<double> a = evaluate_pdf(nesting, p_nesting, x), b = evaluate_pdf(nested, p_nested, x);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-14 * std::max(1.0, b[i])) << nesting.name() << " x=" << x[i];
  };
  expect_same(gennorm_family(), {1.0, 0.2, 1.3}, laplace_family(), {0.2, 1.3});
  expect_same(gennorm_family(), {2.0, 0.2, 1.3 * std::sqrt(2.0)}, norm_family(), {0.2, 1.3});
  expect_same(t_family(), {1.0, 0.2, 1.3}, cauchy_family(), {0.2, 1.3});
  expect_same(gamma_family(), {1.0, -0.5, 1.3}, expon_family(), {-0.5, 1.3});
}

TEST(FitPdf, KnownValues) {
  double x = 0.0, density = 0.0;
  norm_family().pdf({0.0, 1.0}, &x, 1, &density);
  EXPECT_DOUBLE_EQ(density, 1.0 / std::sqrt(2 * M_PI));
  EXPECT_NEAR(incomplete_gamma(2.0, 1.0).lower, 1.0 - 2.0 / std::exp(1.0), 1e-15);
  EXPECT_NEAR(incomplete_beta(2.0, 3.0, 0.4, 0.6).lower, 0.5248, 1e-12);  // 1 − 0.6^4 − 4·0.4·0.6^3
}

TEST(FitPdf, RejectsBadParameters) {
  EXPECT_THROW(norm_family().check({0.0, -1.0}), edgequant::InvalidArgument);
  EXPECT_THROW(t_family().check({0.0, 1.0}), edgequant::InvalidArgument);
  EXPECT_THROW(family_named("weibull"), edgequant::InvalidArgument);
}
