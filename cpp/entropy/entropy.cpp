#include "entropy/entropy.h"

#include <cmath>

namespace edgequant::entropy {

double entropy_bits(const SymbolCounts& counts) {
  if (counts.total == 0) return 0.0;
  // H = log2 N - (1/N) sum c log2 c: one log per distinct symbol, summed in long double.
  long double weighted = 0;
  for (uint64_t count : counts.counts) weighted += static_cast<long double>(count) * std::log2(static_cast<long double>(count));
  const long double total = static_cast<long double>(counts.total);
  double bits = static_cast<double>(std::log2(total) - weighted / total);
  return bits < 0 ? 0.0 : bits;  // -0 and rounding noise for a single symbol
}

double entropy_bits(const int32_t* src, int64_t n) { return entropy_bits(count_symbols(src, n)); }

double float_pattern_entropy_bits(const float* src, int64_t n) {
  return entropy_bits(count_float_patterns(src, n));
}

}  // namespace edgequant::entropy
