// Uniform on [loc, loc + scale]: f(z) = 1 for 0 ≤ z ≤ 1 (ends included, as in scipy).
#include "fit/formula_family.h"

namespace edgequant::fit {
namespace {
struct UniformFormula {
  static constexpr const char* name = "uniform";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::loc_to_end;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) { return (z >= 0 && z <= 1) ? 0.0 : kNegativeInfinity; }
  static Tails tails(const Shape&, double z) {
    double cdf = std::clamp(z, 0.0, 1.0);
    return {cdf, std::clamp(1.0 - z, 0.0, 1.0)};
  }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.min, data.max - data.min}};
  }
};
}  // namespace

const Family& uniform_family() {
  static const FormulaFamily<UniformFormula> family;
  return family;
}
}  // namespace edgequant::fit
