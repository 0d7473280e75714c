#include "fit/nelder_mead.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace edgequant::fit {

NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& objective,
                             std::vector<double> start, const NelderMeadOptions& options) {
  const size_t dim = start.size();
  const double d = static_cast<double>(dim);
  const double reflect = 1.0, expand = 1.0 + 2.0 / d, contract = 0.75 - 1.0 / (2.0 * d), shrink = 1.0 - 1.0 / d;
  int evaluations = 0;
  auto evaluate = [&](const std::vector<double>& x) {
    ++evaluations;
    double value = objective(x);
    return std::isfinite(value) ? value : std::numeric_limits<double>::infinity();
  };

  std::vector<std::vector<double>> simplex(dim + 1, start);
  for (size_t i = 0; i < dim; ++i) simplex[i + 1][i] += options.initial_step;
  std::vector<double> values(dim + 1);
  for (size_t i = 0; i <= dim; ++i) values[i] = evaluate(simplex[i]);
  std::vector<size_t> order(dim + 1);

  auto point = [&](const std::vector<double>& centroid, const std::vector<double>& worst, double t) {
    std::vector<double> x(dim);
    for (size_t j = 0; j < dim; ++j) x[j] = centroid[j] + t * (centroid[j] - worst[j]);
    return x;
  };

  while (evaluations < options.max_evaluations) {
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    const size_t best = order.front(), worst = order.back(), second_worst = order[dim - 1];

    double size = 0;
    for (size_t i = 0; i <= dim; ++i) {
      for (size_t j = 0; j < dim; ++j) size = std::max(size, std::abs(simplex[i][j] - simplex[best][j]));
    }
    const double spread = values[worst] - values[best];
    if (size <= options.x_tolerance && spread <= options.f_tolerance * std::abs(values[best]) + 1e-300) break;
    if (size <= options.x_tolerance * 1e-3) break;  // collapsed on a flat valley: nothing more to learn

    std::vector<double> centroid(dim, 0.0);
    for (size_t i = 0; i <= dim; ++i) {
      if (i == worst) continue;
      for (size_t j = 0; j < dim; ++j) centroid[j] += simplex[i][j] / d;
    }
    std::vector<double> reflected = point(centroid, simplex[worst], reflect);
    double reflected_value = evaluate(reflected);
    if (reflected_value < values[best]) {
      std::vector<double> expanded = point(centroid, simplex[worst], expand);
      double expanded_value = evaluate(expanded);
      if (expanded_value < reflected_value) {
        simplex[worst] = std::move(expanded);
        values[worst] = expanded_value;
      } else {
        simplex[worst] = std::move(reflected);
        values[worst] = reflected_value;
      }
      continue;
    }
    if (reflected_value < values[second_worst]) {
      simplex[worst] = std::move(reflected);
      values[worst] = reflected_value;
      continue;
    }
    const bool outside = reflected_value < values[worst];
    std::vector<double> contracted = point(centroid, simplex[worst], outside ? contract : -contract);
    double contracted_value = evaluate(contracted);
    if (contracted_value < (outside ? reflected_value : values[worst])) {
      simplex[worst] = std::move(contracted);
      values[worst] = contracted_value;
      continue;
    }
    for (size_t i = 0; i <= dim; ++i) {
      if (i == best) continue;
      for (size_t j = 0; j < dim; ++j) simplex[i][j] = simplex[best][j] + shrink * (simplex[i][j] - simplex[best][j]);
      values[i] = evaluate(simplex[i]);
    }
  }
  size_t best = static_cast<size_t>(std::min_element(values.begin(), values.end()) - values.begin());
  return {simplex[best], values[best], evaluations};
}

}  // namespace edgequant::fit
