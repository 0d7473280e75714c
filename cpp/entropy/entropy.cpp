#include "entropy/entropy.h"

#include <cmath>
#include <vector>

namespace edgequant::entropy {

double entropy_bits(const SymbolCounts& counts) {
  if (counts.total == 0) return 0.0;
  // H = log2 N - (1/N) sum c log2 c. Most counts of a large alphabet are small, so c log2 c is
  // tabulated for c < 1024 and computed otherwise; the sum is kept in long double.
  if (counts.counts.size() <= 1) return 0.0;
  static const std::vector<long double> small = [] {
    std::vector<long double> table(1024, 0.0L);
    for (size_t c = 2; c < table.size(); ++c) table[c] = static_cast<long double>(c) * std::log2(static_cast<long double>(c));
    return table;
  }();
  long double weighted = 0;
  for (uint64_t count : counts.counts) {
    const long double c = static_cast<long double>(count);
    weighted += count < small.size() ? small[count] : c * std::log2(c);
  }
  const long double total = static_cast<long double>(counts.total);
  double bits = static_cast<double>(std::log2(total) - weighted / total);
  return bits < 0 ? 0.0 : bits;  // -0 and rounding noise for a single symbol
}

double entropy_bits(const int32_t* src, int64_t n) { return entropy_bits(count_symbols(src, n)); }

double float_pattern_entropy_bits(const float* src, int64_t n) {
  return entropy_bits(count_float_patterns(src, n));
}

}  // namespace edgequant::entropy
