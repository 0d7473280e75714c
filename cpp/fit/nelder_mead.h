// Nelder–Mead simplex minimisation in a few dimensions. Derivative-free because the criteria
// are piecewise smooth (support edges cross bins), and the fitter's parameters are already
// unconstrained (log-scales, log-shapes), so no bounds are needed here.
#pragma once
#include <functional>
#include <vector>

namespace edgequant::fit {

struct NelderMeadOptions {
  double initial_step = 0.2;         // simplex edge in every free coordinate
  double x_tolerance = 1e-7;         // stop when every vertex is this close to the best ...
  double f_tolerance = 1e-10;        // ... and the values agree to this relative tolerance
  int max_evaluations = 2000;
};

struct NelderMeadResult {
  std::vector<double> x;
  double value;
  int evaluations;
};

// Minimises objective from start; non-finite values count as +∞. The adaptive coefficients of
// Gao & Han (2012) keep it efficient in more than two dimensions.
NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& objective,
                             std::vector<double> start, const NelderMeadOptions& options = {});

}  // namespace edgequant::fit
