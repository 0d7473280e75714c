// u8 codes through a 256-entry table, out[k] = table[in[k]]: how codes move from one grid to another
// (a quantized model's pair on codes of another grid, a CodeTable's elementwise stretch, a backend's
// layout-keeping copy of such codes). One loop for all of them: 64 codes a step with AVX-512 VBMI's
// two-table byte permutes where the CPU has them, 16 with NEON's four-register TBL / TBX on aarch64,
// else the plain loop (the reference they are tested on).
#pragma once
#include <cstdint>

namespace edgequant::engine {

// out[k] = table[in[k]] for k < n; `in` and `out` may be the same array.
void map_codes(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table);

// Codes lying a pixel's row of `channels` at a time (NHWC), each through its channel's table:
// out[p·channels + c] = tables[256·c + in[p·channels + c]] for p < pixels.
void map_codes_by_channel(const uint8_t* in, uint8_t* out, int64_t pixels, int64_t channels, const uint8_t* tables);

// The plain loop (the reference; also what map_codes runs on other CPUs).
void map_codes_plain(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table);

}  // namespace edgequant::engine
