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

}  // namespace edgequant::engine::arm
