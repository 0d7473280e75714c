// Generalized normal, shape beta: f(z) = beta/(2Γ(1/beta)) e^{−|z|^beta}. beta = 1 is Laplace
// (same scale), beta = 2 is Gaussian with scale σ√2, beta → ∞ tends to uniform on [−1, 1].
#include "fit/formula_family.h"
#include "fit/special_functions.h"

namespace edgequant::fit {
namespace {
struct GennormFormula {
  static constexpr const char* name = "gennorm";
  static constexpr std::array<ShapeParameter, 1> shapes{{{"beta", 5e-2, 1e2}}};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {
    double beta, log_norm;
  };
  static Shape prepare(const double* p) { return {p[0], std::log(0.5 * p[0]) - log_gamma(1.0 / p[0])}; }
  static double log_pdf(const Shape& s, double z) { return s.log_norm - std::pow(std::abs(z), s.beta); }
  // P(|Z| > |z|) = Q(1/beta, |z|^beta).
  static Tails tails(const Shape& s, double z) {
    GammaPair pair = incomplete_gamma(1.0 / s.beta, std::pow(std::abs(z), s.beta));
    double beyond = 0.5 * pair.upper, inside_half = 0.5 * pair.lower;
    return z < 0 ? Tails{beyond, 0.5 + inside_half} : Tails{0.5 + inside_half, beyond};
  }
  // E|x − loc| = scale·Γ(2/beta)/Γ(1/beta) gives the scale for each guess of beta.
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    std::vector<Parameters> starts;
    for (double beta : {0.5, 1.0, 2.0, 4.0}) {
      double scale = data.mean_abs_deviation * std::exp(log_gamma(1.0 / beta) - log_gamma(2.0 / beta));
      starts.push_back({beta, data.median, scale});
    }
    return starts;
  }
};
}  // namespace

const Family& gennorm_family() {
  static const FormulaFamily<GennormFormula> family;
  return family;
}
}  // namespace edgequant::fit
