// Alpha (scipy.stats.alpha), shape a: f(z) = φ(a − 1/z) / (z² Φ(a)) for z > 0, i.e. 1/z is a
// normal N(a, 1) truncated to positive values. CDF: Φ(a − 1/z)/Φ(a).
#include "fit/formula_family.h"
#include "fit/special_functions.h"

namespace edgequant::fit {
namespace {
struct AlphaFormula {
  static constexpr const char* name = "alpha";
  static constexpr std::array<ShapeParameter, 1> shapes{{{"a", 1e-2, 5e2}}};
  static constexpr SupportKind support = SupportKind::above_loc;
  struct Shape {
    double a, log_norm_cdf_a, norm_cdf_a, norm_sf_a;
  };
  static Shape prepare(const double* p) {
    double cdf = normal_cdf(p[0]);
    return {p[0], std::log(cdf), cdf, normal_sf(p[0])};
  }
  static double log_pdf(const Shape& s, double z) {
    if (z <= 0) return kNegativeInfinity;
    double u = s.a - 1.0 / z;
    return -2.0 * std::log(z) - kLogSqrtTwoPi - s.log_norm_cdf_a - 0.5 * u * u;
  }
  static Tails tails(const Shape& s, double z) {
    if (z <= 0) return {0.0, 1.0};
    double u = s.a - 1.0 / z;
    // The upper tail as the difference of two normal survival values: no 1 − cdf cancellation.
    return {normal_cdf(u) / s.norm_cdf_a, (normal_sf(u) - s.norm_sf_a) / s.norm_cdf_a};
  }
  // With 1/y ~ N(a, 1)/scale (y = x − loc) and a few guesses of loc below the minimum: the
  // quartiles of 1/y give scale = 1.349/(1/q25 − 1/q75) and a = scale/median.
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    std::vector<Parameters> starts;
    const double offset = std::max(data.median - data.min, data.spread * 1e-6);
    for (double gap : {0.01, 0.1, 0.5, 1.0, 3.0}) {
      double loc = data.min - gap * offset;
      double y25 = data.q25 - loc, y50 = data.median - loc, y75 = data.q75 - loc;
      double scale = 1.349 / std::max(1.0 / y25 - 1.0 / y75, 1e-300);
      starts.push_back({std::max(scale / y50, 1e-2), loc, scale});
    }
    return starts;
  }
};
}  // namespace

const Family& alpha_family() {
  static const FormulaFamily<AlphaFormula> family;
  return family;
}
}  // namespace edgequant::fit
