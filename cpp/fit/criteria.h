// How well a family's PDF matches the histogram: the paper's two criteria.
//
// SSE = Σ_i (h_i − f(c_i))², with h_i = count_i/(n·width) the histogram's density (n counts all
// weights, so h estimates f itself, not f restricted to the range) and f evaluated at the bin
// centres c_i, as in the paper.
//
// KL(P‖Q) = Σ_i P_i log(P_i/Q_i) over the bins plus two tail cells (below and above the range),
// so that P and Q are both probability distributions on the same partition of the real line:
// P_i = count_i/n, Q_i = F(right edge) − F(left edge) (an exact CDF difference, not pdf·width:
// it stays right for wide bins, at support edges and at gamma's a < 1 singularity; differences
// are taken on the survival function in the upper half so tail bins keep their digits).
// Minimising it is binned maximum likelihood with the tails censored, so the fitted parameters
// are consistent even though the histogram only covers `mass` of the weights. Empty bins
// contribute 0 (the limit P log P → 0); a model probability below kProbabilityFloor = 1e-300
// (zero or underflowed) is raised to it, so KL stays finite and such a bin costs P·log(P/1e-300),
// i.e. up to ~690·P nats.
#pragma once
#include <vector>

#include "fit/family.h"
#include "fit/weight_histogram.h"

namespace edgequant::fit {

inline constexpr double kProbabilityFloor = 1e-300;

enum class Criterion { sse, kl };

class CriterionEvaluator {
 public:
  explicit CriterionEvaluator(const WeightHistogram& histogram);

  double sse(const Family& family, const Parameters& params);
  double kl(const Family& family, const Parameters& params);
  double operator()(Criterion criterion, const Family& family, const Parameters& params) {
    return criterion == Criterion::sse ? sse(family, params) : kl(family, params);
  }

 private:
  const std::vector<double>& edges_;
  std::vector<double> centers_;
  std::vector<double> density_;      // h_i
  std::vector<double> probability_;  // P: [below, bins..., above]
  double entropy_term_ = 0;          // Σ P log P, the part of KL that does not depend on Q
  std::vector<double> pdf_scratch_;
  std::vector<Tails> tails_scratch_;
};

// Σ log f(x) over the weights, from the histogram's fine bins and exact outside values
// (weight_histogram.h). −∞ if a weight lies outside the model's support.
double log_likelihood(const Family& family, const Parameters& params, const WeightHistogram& histogram);

}  // namespace edgequant::fit
