// Gaussian: f(z) = exp(−z²/2)/√(2π).
#include "fit/formula_family.h"
#include "fit/special_functions.h"

namespace edgequant::fit {
namespace {
struct NormFormula {
  static constexpr const char* name = "norm";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) { return -0.5 * z * z - kLogSqrtTwoPi; }
  static Tails tails(const Shape&, double z) { return {normal_cdf(z), normal_sf(z)}; }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.median, data.spread}, {data.mean, data.std}};
  }
};
}  // namespace

const Family& norm_family() {
  static const FormulaFamily<NormFormula> family;
  return family;
}
}  // namespace edgequant::fit
