// Fitting families to a weight histogram: for each (family, criterion) pair, a Nelder–Mead
// search in the family's free coordinates from the best of its starting points, then one
// restart from the result (a fresh simplex escapes premature collapse). Pairs run in parallel
// across the core's threads; each only reads the shared histogram.
#pragma once
#include <vector>

#include "fit/criteria.h"
#include "fit/family.h"
#include "fit/weight_histogram.h"

namespace edgequant::fit {

struct FitResult {
  const Family* family = nullptr;
  Criterion criterion = Criterion::sse;
  Parameters params;          // scipy order
  double sse = 0, kl = 0;     // both criteria at params, whichever was minimised
  double log_likelihood = 0;  // on the data (see weight_histogram.h)
  double aic = 0, bic = 0;    // 2k − 2LL, k·ln n − 2LL
  int evaluations = 0;        // objective evaluations spent
};

// Results in the order families × criteria (family-major). Throws if the histogram saw NaN/Inf.
std::vector<FitResult> fit_families(const WeightHistogram& histogram, const std::vector<const Family*>& families,
                                    const std::vector<Criterion>& criteria);

// The criteria and log-likelihood of given parameters (no fitting), e.g. to score scipy's fit.
FitResult score_parameters(const WeightHistogram& histogram, const Family& family, const Parameters& params);

}  // namespace edgequant::fit
