// FP32 GEMM on NEON for the ARM backend: C[m, n] = Σ_k A[m, k]·B[n, k], A given as row pointers
// (im2col rows or NHWC pixels in place), B packed once in panels of 8 output channels.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace edgequant::engine::arm {

struct PackedF32 {
  std::vector<float> packed;  // [n / 8 panels][k][8], zero-padded channels
  int64_t n = 0, k = 0;
};
PackedF32 pack_f32(const float* b, int64_t n, int64_t k);

// What the GEMM applies to C before storing it, while the tile is in registers: act(C + bias[column])
// (a conv's or dense layer's bias and activation; `bias` readable up to 8 floats past column n − 1).
struct F32Epilogue {
  const float* bias;
  Activation act;
};

void f32_gemm(const float* const* a, int64_t m, const PackedF32& b, float* c, int64_t ldc,
              const F32Epilogue* epilogue = nullptr);

// A written straight in the interleaved form f32_gemm packs its rows into (its producer saves the
// packing pass: Winograd's input transform): blocks of 8 rows, block r / 8 at a + r / 8 * 8 * k, in it
// for each 4 k each row's four (row r's k = j..j+3 at packed_row(a, r, m, k) + j * packed_rows(r, m));
// a last block of at most 4 rows holds 4, one of 5-7 rows 8 (the rest any finite values). k = b.k, a
// multiple of 4; no epilogue. The same FMLAs in the same order as f32_gemm: the same values.
inline int64_t packed_rows(int64_t row, int64_t m) { return m - row / 8 * 8 <= 4 ? 4 : 8; }
inline float* packed_row(float* a, int64_t row, int64_t m, int64_t k) { return a + row / 8 * 8 * k + row % 8 * 4; }
void f32_gemm_packed(const float* a, int64_t m, const PackedF32& b, float* c, int64_t ldc);

}  // namespace edgequant::engine::arm
