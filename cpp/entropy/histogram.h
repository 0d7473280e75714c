// Counting the symbols of a stream: the basis of entropy estimates and of the coder's model.
#pragma once
#include <cstdint>
#include <vector>

namespace edgequant::entropy {

// Distinct symbols in increasing order with their counts (all counts > 0).
struct SymbolCounts {
  std::vector<int32_t> symbols;
  std::vector<uint64_t> counts;
  uint64_t total = 0;
};

// Dense per-thread tables when max - min is small, a parallel sort otherwise.
SymbolCounts count_symbols(const int32_t* src, int64_t n);

// Same result, one plain std::map pass: the reference the fast path is tested against.
SymbolCounts count_symbols_reference(const int32_t* src, int64_t n);

// Distinct float32 bit patterns (as uint32) with their counts, for the entropy of raw weights.
SymbolCounts count_float_patterns(const float* src, int64_t n);

}  // namespace edgequant::entropy
