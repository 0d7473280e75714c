// Max pooling of plain NCHW data, float32 values or u8 codes (max pooling commutes with the
// monotone q -> s·(q − z), so codes pool as they are). oneDNN's jit pools take blocked or NHWC
// layouts only; on plain NCHW it runs its reference loop (simple_nchw: ResNet-18's stem pool took
// 17.7 ms of a 25 ms run on an AVX2 CPU). Here a window's rows are maxed first, one vectorised pass
// over whole input rows, then each output takes the max of its columns of that row.
// Same answer as the reference backend's loop: NaN never wins a comparison (a window of NaN and
// padding only gives -Inf), the max of non-NaN values otherwise.
#pragma once
#include <cstdint>

#include "backend/backend.h"

namespace edgequant::engine {

void max_pool_plain(const PoolGeometry& g, const float* src, float* dst);
// Codes: every window must hold an input element (every_window_has_input), a code has no -Inf.
void max_pool_plain(const PoolGeometry& g, const uint8_t* src, uint8_t* dst);

}  // namespace edgequant::engine
