// The ARM backend's FP32 depthwise convolution (one output channel per input channel), NHWC: each
// image copied once into a zero-padded frame (as the INT8 kernel's, int8_depthwise.h), so every
// window reads its taps at fixed offsets with no bounds test; 8 channels per step, a 3x3 kernel's
// weights held in registers along a row of output pixels. Products summed in tap order with FMA:
// within float rounding of the reference's double sums.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/arm/f32_gemm.h"
#include "backend/backend.h"

namespace edgequant::engine::arm {

class F32Depthwise {
 public:
  // w: [tap][channel], taps in (kh, kw) order.
  F32Depthwise(const ConvGeometry& g, const float* w);
  // The sums of one NHWC image x into y[(oh·ow + ow)·channels + c]: as they are, or with the
  // epilogue's bias and activation applied in registers.
  void image(const float* x, int threads, float* y, const F32Epilogue* epilogue = nullptr) const;

 private:
  ConvGeometry g_;
  std::vector<float> w_;          // [tap][channel]
  std::vector<int64_t> offsets_;  // per tap: its offset from the window's first in the frame, in floats
  int64_t frame_h_ = 0, frame_w_ = 0;
  bool in_place_ = false;  // no padding and no crop: the image is its own frame
};

}  // namespace edgequant::engine::arm
