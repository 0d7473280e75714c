// Turns a family's formula (log-PDF and tails of the standardised variable z = (x − loc)/scale,
// plus its shape parameters, support and starting points) into a Family. Each file in
// families/ defines one formula and one accessor; this adaptor does the loc/scale algebra and
// the parametrisation once for all of them.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "fit/family.h"

namespace edgequant::fit {

// A shape parameter, with the box the optimiser keeps it in (outside it a family degenerates:
// Student-t with df → ∞ is Gaussian, and the log-gamma ratios lose their digits).
struct ShapeParameter {
  const char* name;
  double min;
  double max;
};

enum class SupportKind {
  real_line,    // x ∈ ℝ
  above_loc,    // x ≥ loc (expon, gamma, alpha): the fit keeps loc ≤ min(data)
  loc_to_end,   // x ∈ [loc, loc + scale] (uniform): the fit keeps [min, max] inside
};

// Formula requirements:
//   static constexpr const char* name;  static constexpr std::array<ShapeParameter, K> shapes;
//   static constexpr SupportKind support;  struct Shape;  static Shape prepare(const double* shapes);
//   static double log_pdf(const Shape&, double z);  static Tails tails(const Shape&, double z);
//   static std::vector<Parameters> starting_points(const DataSummary&);
template <class Formula>
class FormulaFamily final : public Family {
  static constexpr int kShapes = static_cast<int>(Formula::shapes.size());
  // Free coordinates are clamped here: exp(±30) relative to the data spread covers any
  // sensible fit, and keeps every evaluation finite.
  static constexpr double kMaxLog = 30.0;

 public:
  const char* name() const override { return Formula::name; }

  std::vector<std::string> parameter_names() const override {
    std::vector<std::string> names;
    for (const auto& shape : Formula::shapes) names.emplace_back(shape.name);
    names.emplace_back("loc");
    names.emplace_back("scale");
    return names;
  }

  void check(const Parameters& params) const override {
    require(static_cast<int>(params.size()) == kShapes + 2,
            std::string(Formula::name) + " takes " + std::to_string(kShapes + 2) + " parameters");
    for (double p : params) require(std::isfinite(p), std::string(Formula::name) + ": parameters must be finite");
    for (int i = 0; i < kShapes; ++i) {
      require(params[i] > 0, std::string(Formula::name) + ": " + Formula::shapes[i].name + " must be > 0");
    }
    require(params[kShapes + 1] > 0, std::string(Formula::name) + ": scale must be > 0");
  }

  void log_pdf(const Parameters& params, const double* x, int64_t n, double* dst) const override {
    const auto shape = Formula::prepare(params.data());
    const double loc = params[kShapes], scale = params[kShapes + 1], log_scale = std::log(scale);
    for (int64_t i = 0; i < n; ++i) dst[i] = Formula::log_pdf(shape, (x[i] - loc) / scale) - log_scale;
  }

  void pdf(const Parameters& params, const double* x, int64_t n, double* dst) const override {
    log_pdf(params, x, n, dst);
    for (int64_t i = 0; i < n; ++i) dst[i] = std::exp(dst[i]);
  }

  void tails(const Parameters& params, const double* x, int64_t n, Tails* dst) const override {
    const auto shape = Formula::prepare(params.data());
    const double loc = params[kShapes], scale = params[kShapes + 1];
    for (int64_t i = 0; i < n; ++i) dst[i] = Formula::tails(shape, (x[i] - loc) / scale);
  }

  Parameters to_params(const std::vector<double>& free, const DataSummary& data) const override {
    Parameters params(kShapes + 2);
    for (int i = 0; i < kShapes; ++i) {
      params[i] = std::clamp(std::exp(free[i]), Formula::shapes[i].min, Formula::shapes[i].max);
    }
    const double u = std::clamp(free[kShapes], -kMaxLog, kMaxLog);
    const double v = std::clamp(free[kShapes + 1], -kMaxLog, kMaxLog);
    double& loc = params[kShapes];
    double& scale = params[kShapes + 1];
    switch (Formula::support) {
      case SupportKind::real_line:
        loc = data.median + data.spread * u;
        scale = data.spread * std::exp(v);
        break;
      case SupportKind::above_loc:
        loc = data.min - data.spread * std::exp(u);
        scale = data.spread * std::exp(v);
        break;
      case SupportKind::loc_to_end:
        loc = data.min - data.spread * std::exp(u);
        scale = data.max + data.spread * std::exp(v) - loc;
        break;
    }
    return params;
  }

  std::vector<double> to_free(const Parameters& params, const DataSummary& data) const override {
    std::vector<double> free(kShapes + 2);
    for (int i = 0; i < kShapes; ++i) {
      free[i] = std::log(std::clamp(params[i], Formula::shapes[i].min, Formula::shapes[i].max));
    }
    const double loc = params[kShapes], scale = params[kShapes + 1];
    // A start that leaves data outside the support is pulled just inside it.
    auto log_gap = [&](double gap) { return std::log(std::max(gap, data.spread * 1e-9) / data.spread); };
    switch (Formula::support) {
      case SupportKind::real_line:
        free[kShapes] = (loc - data.median) / data.spread;
        free[kShapes + 1] = std::log(scale / data.spread);
        break;
      case SupportKind::above_loc:
        free[kShapes] = log_gap(data.min - loc);
        free[kShapes + 1] = std::log(scale / data.spread);
        break;
      case SupportKind::loc_to_end:
        free[kShapes] = log_gap(data.min - loc);
        free[kShapes + 1] = log_gap(loc + scale - data.max);
        break;
    }
    for (double& f : free) f = std::clamp(f, -kMaxLog, kMaxLog);
    return free;
  }

  std::vector<Parameters> starting_points(const DataSummary& data) const override {
    return Formula::starting_points(data);
  }
};

inline constexpr double kNegativeInfinity = -std::numeric_limits<double>::infinity();
inline constexpr double kLogSqrtTwoPi = 0.91893853320467274178;  // ½ log(2π)

}  // namespace edgequant::fit
