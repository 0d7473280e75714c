// TFLite's integer Add (backend/fixed_point_requantization.h add_codes) over two arrays of u8 codes,
// in AVX-512 lanes where the CPU has them: the oneDNN backend's CodeAdd on tensors too small for its
// 64 KiB table of every output code to pay off (the table leaves the caches between runs, and warming it
// again costs more than the arithmetic on a few tens of thousands of codes). The ARM backend has its own
// NEON form (arm/code_add.cpp).
#pragma once
#include <cstdint>

#include "backend/fixed_point_requantization.h"

namespace edgequant::engine {

// y[k] = add_codes(p, a[k], b[k]) for k < n, bit for bit: 16 codes a step with AVX-512, the scalar form
// elsewhere and for the last few.
void add_code_arrays(const CodeAddition& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n);

}  // namespace edgequant::engine
