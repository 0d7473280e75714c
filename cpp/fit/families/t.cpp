// Student-t, shape df: f(z) = Γ((df+1)/2)/(√(df π) Γ(df/2)) (1 + z²/df)^{−(df+1)/2}.
// df = 1 is Cauchy; df → ∞ is Gaussian (df is kept ≤ 1e4, where the two differ by < 1e-4).
#include "fit/formula_family.h"
#include "fit/special_functions.h"

namespace edgequant::fit {
namespace {
struct TFormula {
  static constexpr const char* name = "t";
  static constexpr std::array<ShapeParameter, 1> shapes{{{"df", 1e-2, 1e4}}};
  static constexpr SupportKind support = SupportKind::real_line;
  struct Shape {
    double df, log_norm;
  };
  static Shape prepare(const double* p) {
    double df = p[0];
    return {df, log_gamma(0.5 * (df + 1)) - log_gamma(0.5 * df) - 0.5 * std::log(df * M_PI)};
  }
  static double log_pdf(const Shape& s, double z) { return s.log_norm - 0.5 * (s.df + 1) * std::log1p(z * z / s.df); }
  // P(T > |z|) = I_x(df/2, 1/2)/2 with x = df/(df + z²); 1 − x = z²/(df + z²) formed directly.
  static Tails tails(const Shape& s, double z) {
    double z2 = z * z, denominator = s.df + z2;
    double beyond = 0.5 * incomplete_beta(0.5 * s.df, 0.5, s.df / denominator, z2 / denominator).lower;
    return z < 0 ? Tails{beyond, 1.0 - beyond} : Tails{1.0 - beyond, beyond};
  }
  // df from a few values; scale from the IQR through the t quartile t_{0.75}(df).
  static std::vector<Parameters> starting_points(const DataSummary& data) {
    const double iqr = data.q75 - data.q25;
    const std::array<std::array<double, 2>, 4> df_and_quartile{{{1, 1.0}, {3, 0.7649}, {10, 0.6998}, {50, 0.6794}}};
    std::vector<Parameters> starts;
    for (const auto& [df, quartile] : df_and_quartile) starts.push_back({df, data.median, 0.5 * iqr / quartile});
    return starts;
  }
};
}  // namespace

const Family& t_family() {
  static const FormulaFamily<TFormula> family;
  return family;
}
}  // namespace edgequant::fit
