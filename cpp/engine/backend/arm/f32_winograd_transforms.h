// Winograd F(4x4, 3x3) and F(6x6, 3x3) input and output transforms on NEON for the ARM backend's FP32
// 3x3 convs: backend/winograd_f43.h's and winograd_f63.h's transform_input / transform_output step for
// step on 4-channel vectors, so bit-identical to them (the engine's aarch64 build has no FMA
// contraction; F(6x6, 3x3)'s fused steps are explicit on both sides). The portable ones
// work on 16 lanes through stack copies; on NEON they took ~17 instructions per output value
// (squeezenet: 13 M of 111 M), these ~4.
#pragma once
#include <cstdint>

#include "backend/winograd_f43.h"
#include "backend/winograd_f63.h"

namespace edgequant::engine::arm {

// As winograd::input_range, the same fields exactly (the check before each Winograd run).
winograd::InputRange input_range_neon(const float* x, int64_t n);

// As winograd::transform_input: tiles [first, first + count) of NHWC x to V[q][block][ic]; with `packed`
// (ic a multiple of 4, block a multiple of 8), each position's plane V[q] as f32_gemm_packed reads its
// A (f32_gemm.h packed_row; a last block's spare rows zero).
void winograd_input_neon(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count,
                         int64_t block, float* v, bool packed = false);

// As winograd::transform_output: M[q][block][oc] to NHWC y, with bias, activation and the residual
// y holds on entry where post.sum.
void winograd_output_neon(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count,
                          int64_t block, const float* bias, const ConvPostOps& post, float* y);

// As winograd::f63::transform_input and transform_output (`t` a winograd::f63::tiling).
void winograd63_input_neon(const float* x, int64_t ic, const winograd::Tiling& t, int64_t first, int64_t count,
                           int64_t block, float* v, bool packed = false);
void winograd63_output_neon(const float* m, int64_t oc, const winograd::Tiling& t, int64_t first, int64_t count,
                            int64_t block, const float* bias, const ConvPostOps& post, float* y);

}  // namespace edgequant::engine::arm
