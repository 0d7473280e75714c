// The reference backend's static INT8 convolutions that requantize in fixed point
// (QuantConfig::fixed_point) run on runtime/c's own reference kernels (eq_conv2d_s8_ref,
// eq_depthwise_conv2d_s8_ref): the code a microcontroller runs computes the engine's yardstick
// codes, in the C's dialect (NHWC s8 codes q − 128, OHWI / 1HWO filters) around them.
#pragma once
#include <cstdint>

#include "backend/backend.h"

namespace edgequant::engine {

// u8 codes `src` (NCHW, on q's input grid) to u8 codes `dst` (NCHW, on its output grid) by the C
// runtime's kernel. False, leaving dst alone, where it has none for the layer: a grouped conv that
// is not depthwise, sizes beyond int32, or a layer without fixed-point parameters.
bool run_on_runtime_c(const ConvGeometry& g, const QuantConfig& q, const QuantizedWeights& weights,
                      const uint8_t* src, uint8_t* dst);

}  // namespace edgequant::engine
