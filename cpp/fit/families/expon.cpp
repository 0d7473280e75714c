// Exponential: f(z) = e^{−z} for z ≥ 0. Closed-form MLE: loc = min, scale = mean − min.
#include "fit/formula_family.h"

namespace edgequant::fit {
namespace {
struct ExponFormula {
  static constexpr const char* name = "expon";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::above_loc;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) { return z >= 0 ? -z : kNegativeInfinity; }
  static Tails tails(const Shape&, double z) {
    if (z <= 0) return {0.0, 1.0};
    return {-std::expm1(-z), std::exp(-z)};
  }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.min, data.mean - data.min}};
  }
};
}  // namespace

const Family& expon_family() {
  static const FormulaFamily<ExponFormula> family;
  return family;
}
}  // namespace edgequant::fit
