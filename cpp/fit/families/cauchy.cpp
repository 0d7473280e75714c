// Cauchy: f(z) = 1/(π(1 + z²)). Its IQR is 2·scale; mean and std do not exist.
#include "fit/formula_family.h"

namespace edgequant::fit {
namespace {
struct CauchyFormula {
  static constexpr const char* name = "cauchy";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) { return -std::log(M_PI) - std::log1p(z * z); }
  // atan(1/|z|)/π is the far tail without cancellation.
  static double lower_tail(double z) { return z < 0 ? std::atan(-1.0 / z) / M_PI : 0.5 + std::atan(z) / M_PI; }
  static Tails tails(const Shape&, double z) { return {lower_tail(z), lower_tail(-z)}; }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.median, 0.5 * (data.q75 - data.q25)}};
  }
};
}  // namespace

const Family& cauchy_family() {
  static const FormulaFamily<CauchyFormula> family;
  return family;
}
}  // namespace edgequant::fit
