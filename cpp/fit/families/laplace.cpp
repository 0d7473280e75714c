// Laplace: f(z) = e^{−|z|}/2. Closed-form MLE: loc = median, scale = mean |x − median|.
#include "fit/formula_family.h"

namespace edgequant::fit {
namespace {
struct LaplaceFormula {
  static constexpr const char* name = "laplace";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) { return -M_LN2 - std::abs(z); }
  static double lower_tail(double z) { return z < 0 ? 0.5 * std::exp(z) : 1.0 - 0.5 * std::exp(-z); }
  static Tails tails(const Shape&, double z) { return {lower_tail(z), lower_tail(-z)}; }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.median, data.mean_abs_deviation}};
  }
};
}  // namespace

const Family& laplace_family() {
  static const FormulaFamily<LaplaceFormula> family;
  return family;
}
}  // namespace edgequant::fit
