// Float values to the u8 codes of a grid, as QuantizeLinear rounds them (half to even, saturating):
// the one loop the pairs (ops/quantize_linear.cpp) and the code tables (ops/code_table.cpp) share.
#pragma once
#include <cstdint>

namespace edgequant::engine {

// out[k] = clamp(round(in[k] / s) + z, 0, 255), z the grid's u8 zero point; false if some in[k] is
// NaN (its code is then meaningless).
bool quantize_to_codes(const float* in, uint8_t* out, int64_t n, float s, float z);

}  // namespace edgequant::engine
