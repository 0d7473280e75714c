#include "fit/fit_families.h"

#include <atomic>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/parallel.h"
#include "fit/nelder_mead.h"

namespace edgequant::fit {
namespace {

void add_scores(FitResult& result, const WeightHistogram& histogram, CriterionEvaluator& evaluator) {
  const Family& family = *result.family;
  result.sse = evaluator.sse(family, result.params);
  result.kl = evaluator.kl(family, result.params);
  result.log_likelihood = log_likelihood(family, result.params, histogram);
  const double k = family.parameter_count(), n = static_cast<double>(histogram.summary.count);
  result.aic = 2 * k - 2 * result.log_likelihood;
  result.bic = k * std::log(n) - 2 * result.log_likelihood;
}

FitResult fit_one(const WeightHistogram& histogram, const Family& family, Criterion criterion) {
  CriterionEvaluator evaluator(histogram);
  const DataSummary& data = histogram.summary;
  // Outside the parameter box to_params clamps, so the criterion goes flat there; a penalty
  // growing with the distance to the box brings the simplex back to its edge to converge.
  auto objective = [&](const std::vector<double>& free) {
    Parameters params = family.to_params(free, data);
    std::vector<double> inside = family.to_free(params, data);
    double excess = 0;
    for (size_t i = 0; i < free.size(); ++i) excess += (free[i] - inside[i]) * (free[i] - inside[i]);
    double value = evaluator(criterion, family, params);
    return value + excess * (std::abs(value) + 1e-12);
  };
  int evaluations = 0;
  std::vector<double> best_start;
  double best_value = std::numeric_limits<double>::infinity();
  for (const Parameters& start : family.starting_points(data)) {
    std::vector<double> free = family.to_free(start, data);
    double value = objective(free);
    ++evaluations;
    if (best_start.empty() || value < best_value) {
      best_start = free;
      best_value = value;
    }
  }
  NelderMeadOptions first;
  first.max_evaluations = 1000;
  NelderMeadResult search = nelder_mead(objective, best_start, first);
  NelderMeadOptions restart;
  restart.initial_step = 0.05;
  restart.max_evaluations = 400;
  NelderMeadResult refined = nelder_mead(objective, search.x, restart);
  evaluations += search.evaluations + refined.evaluations;

  FitResult result;
  result.family = &family;
  result.criterion = criterion;
  result.params = family.to_params(refined.value <= search.value ? refined.x : search.x, data);
  result.evaluations = evaluations;
  add_scores(result, histogram, evaluator);
  return result;
}

}  // namespace

std::vector<FitResult> fit_families(const WeightHistogram& histogram, const std::vector<const Family*>& families,
                                    const std::vector<Criterion>& criteria) {
  require(histogram.summary.non_finite == 0, "x contains NaN/Inf values");
  const int64_t tasks = static_cast<int64_t>(families.size() * criteria.size());
  std::vector<FitResult> results(tasks);
  // A shared counter hands out the pairs: their costs differ tenfold (closed-form CDFs versus
  // incomplete beta/gamma functions), so fixed chunks would leave a thread idle.
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(max_threads(), tasks);
  parallel_for(workers, [&](int64_t, int64_t) {
    for (int64_t task = next++; task < tasks; task = next++) {
      results[task] = fit_one(histogram, *families[task / criteria.size()], criteria[task % criteria.size()]);
    }
  }, 1, 1);
  return results;
}

FitResult score_parameters(const WeightHistogram& histogram, const Family& family, const Parameters& params) {
  require(histogram.summary.non_finite == 0, "x contains NaN/Inf values");
  family.check(params);
  CriterionEvaluator evaluator(histogram);
  FitResult result;
  result.family = &family;
  result.params = params;
  add_scores(result, histogram, evaluator);
  return result;
}

}  // namespace edgequant::fit
