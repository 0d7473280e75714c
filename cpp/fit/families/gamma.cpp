// Gamma, shape a: f(z) = z^{a−1} e^{−z} / Γ(a) for z > 0.
#include "fit/formula_family.h"
#include "fit/special_functions.h"

namespace edgequant::fit {
namespace {
struct GammaFormula {
  static constexpr const char* name = "gamma";
  static constexpr std::array<ShapeParameter, 1> shapes{{{"a", 1e-2, 5e2}}};
  static constexpr SupportKind support = SupportKind::above_loc;
  struct Shape {
    double a, log_gamma_a;
  };
  static Shape prepare(const double* p) { return {p[0], log_gamma(p[0])}; }
  static double log_pdf(const Shape& s, double z) {
    if (z < 0) return kNegativeInfinity;
    if (z == 0) return s.a == 1 ? 0.0 : (s.a < 1 ? std::numeric_limits<double>::infinity() : kNegativeInfinity);
    return (s.a - 1) * std::log(z) - z - s.log_gamma_a;
  }
  static Tails tails(const Shape& s, double z) {
    GammaPair pair = incomplete_gamma(s.a, std::max(z, 0.0));
    return {pair.lower, pair.upper};
  }
  // Moments with loc a little below the minimum: mean − loc = a·scale, var = a·scale².
  // Several gaps, because the data's minimum says little about loc when a is large.
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    std::vector<Parameters> starts;
    const double var = data.std * data.std, offset = std::max(data.mean - data.min, data.spread * 1e-6);
    for (double gap : {0.01, 0.1, 0.5, 2.0}) {
      double loc = data.min - gap * offset, above = data.mean - loc;
      starts.push_back({above * above / var, loc, var / above});
    }
    return starts;
  }
};
}  // namespace

const Family& gamma_family() {
  static const FormulaFamily<GammaFormula> family;
  return family;
}
}  // namespace edgequant::fit
