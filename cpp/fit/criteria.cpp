#include "fit/criteria.h"

#include <cmath>

namespace edgequant::fit {

CriterionEvaluator::CriterionEvaluator(const WeightHistogram& histogram) : edges_(histogram.edges) {
  const int64_t bins = histogram.bins();
  const double n = static_cast<double>(histogram.summary.count);
  centers_.resize(bins);
  density_.resize(bins);
  probability_.resize(bins + 2);
  for (int64_t i = 0; i < bins; ++i) {
    centers_[i] = 0.5 * (edges_[i] + edges_[i + 1]);
    density_[i] = static_cast<double>(histogram.counts[i]) / (n * (edges_[i + 1] - edges_[i]));
    probability_[i + 1] = static_cast<double>(histogram.counts[i]) / n;
  }
  probability_[0] = static_cast<double>(histogram.below) / n;
  probability_[bins + 1] = static_cast<double>(histogram.above) / n;
  for (double p : probability_) entropy_term_ += p > 0 ? p * std::log(p) : 0.0;
  pdf_scratch_.resize(bins);
  tails_scratch_.resize(bins + 1);
}

double CriterionEvaluator::sse(const Family& family, const Parameters& params) {
  family.pdf(params, centers_.data(), static_cast<int64_t>(centers_.size()), pdf_scratch_.data());
  double total = 0;
  for (size_t i = 0; i < centers_.size(); ++i) {
    double difference = density_[i] - pdf_scratch_[i];
    total += difference * difference;
  }
  return total;
}

double CriterionEvaluator::kl(const Family& family, const Parameters& params) {
  const size_t bins = centers_.size();
  family.tails(params, edges_.data(), static_cast<int64_t>(bins + 1), tails_scratch_.data());
  auto cross_term = [](double p, double q) { return p > 0 ? p * std::log(std::max(q, kProbabilityFloor)) : 0.0; };
  double cross = cross_term(probability_[0], tails_scratch_[0].cdf) +
                 cross_term(probability_[bins + 1], tails_scratch_[bins].sf);
  for (size_t i = 0; i < bins; ++i) {
    const Tails& left = tails_scratch_[i];
    const Tails& right = tails_scratch_[i + 1];
    double q = right.cdf <= 0.5 ? right.cdf - left.cdf : left.sf - right.sf;
    cross += cross_term(probability_[i + 1], q);
  }
  return entropy_term_ - cross;
}

double log_likelihood(const Family& family, const Parameters& params, const WeightHistogram& histogram) {
  std::vector<double> logs(std::max(histogram.fine_centers.size(), histogram.outside.size()));
  family.log_pdf(params, histogram.fine_centers.data(), static_cast<int64_t>(histogram.fine_centers.size()), logs.data());
  double total = 0;
  for (size_t i = 0; i < histogram.fine_centers.size(); ++i) total += static_cast<double>(histogram.fine_counts[i]) * logs[i];
  family.log_pdf(params, histogram.outside.data(), static_cast<int64_t>(histogram.outside.size()), logs.data());
  for (size_t i = 0; i < histogram.outside.size(); ++i) total += logs[i];
  return std::isnan(total) ? -std::numeric_limits<double>::infinity() : total;
}

}  // namespace edgequant::fit
