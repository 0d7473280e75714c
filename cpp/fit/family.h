// A distribution family as the fitter sees it: PDF, log-PDF and tail probabilities on arrays,
// parameters in scipy.stats order (shapes..., loc, scale), an unconstrained parametrisation
// for the optimiser, and starting points computed from a summary of the data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgequant::fit {

// P(X ≤ x) and P(X > x). Both are kept because 1 − cdf loses every digit in the upper tail.
struct Tails {
  double cdf;
  double sf;
};

// What starting points and support constraints are computed from (see weight_histogram.h).
struct DataSummary {
  int64_t count = 0;
  int64_t non_finite = 0;
  double mean = 0, std = 0;       // over all finite values
  double min = 0, max = 0;        // over all finite values
  double median = 0, q25 = 0, q75 = 0;
  double mean_abs_deviation = 0;  // mean |x − median|
  double spread = 1;              // robust scale: IQR/1.349, else std; always > 0
};

using Parameters = std::vector<double>;

class Family {
 public:
  virtual ~Family() = default;
  virtual const char* name() const = 0;
  virtual std::vector<std::string> parameter_names() const = 0;  // scipy order
  int parameter_count() const { return static_cast<int>(parameter_names().size()); }

  // Throws InvalidArgument unless params is a valid parameter vector (right size, scale > 0, ...).
  virtual void check(const Parameters& params) const = 0;

  virtual void pdf(const Parameters& params, const double* x, int64_t n, double* dst) const = 0;
  virtual void log_pdf(const Parameters& params, const double* x, int64_t n, double* dst) const = 0;
  virtual void tails(const Parameters& params, const double* x, int64_t n, Tails* dst) const = 0;

  // The optimiser works on free (unconstrained) coordinates: log-shapes, loc and log-scale
  // relative to the data's median and spread. A family whose support is bounded keeps every
  // observed value inside it (loc ≤ min; for uniform also loc + scale ≥ max), as the
  // maximum-likelihood estimate does; otherwise the log-likelihood would be −∞.
  virtual Parameters to_params(const std::vector<double>& free, const DataSummary& data) const = 0;
  virtual std::vector<double> to_free(const Parameters& params, const DataSummary& data) const = 0;

  // Moment / closed-form candidates; the fitter starts from the best of them.
  virtual std::vector<Parameters> starting_points(const DataSummary& data) const = 0;
};

}  // namespace edgequant::fit
