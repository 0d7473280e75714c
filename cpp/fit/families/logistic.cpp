// Logistic: f(z) = e^{−z}/(1 + e^{−z})². Its IQR is 2·ln 3·scale.
#include "fit/formula_family.h"

namespace edgequant::fit {
namespace {
struct LogisticFormula {
  static constexpr const char* name = "logistic";
  static constexpr std::array<ShapeParameter, 0> shapes{};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {};
  static Shape prepare(const double*) { return {}; }
  static double log_pdf(const Shape&, double z) {
    double a = std::abs(z);
    return -a - 2.0 * std::log1p(std::exp(-a));
  }
  static double lower_tail(double z) { return 1.0 / (1.0 + std::exp(-z)); }
  static Tails tails(const Shape&, double z) { return {lower_tail(z), lower_tail(-z)}; }
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    return {{data.median, (data.q75 - data.q25) / (2.0 * std::log(3.0))}};
  }
};
}  // namespace

const Family& logistic_family() {
  static const FormulaFamily<LogisticFormula> family;
  return family;
}
}  // namespace edgequant::fit
