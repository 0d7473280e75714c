// Entropy estimates (SPEC §2): H = -sum p_i log2 p_i bits per symbol; the rate an ideal entropy
// coder would spend. Compression ratio and space saving against 32-bit floats are in Python.
#pragma once
#include <cstdint>

#include "entropy/histogram.h"

namespace edgequant::entropy {

double entropy_bits(const SymbolCounts& counts);
double entropy_bits(const int32_t* src, int64_t n);            // of a symbol stream
double float_pattern_entropy_bits(const float* src, int64_t n);  // of raw float32 bit patterns

}  // namespace edgequant::entropy
