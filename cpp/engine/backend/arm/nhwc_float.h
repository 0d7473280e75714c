// The ARM backend's own form of a float activation: NHWC, one pixel's channels contiguous — the
// rows of the FP32 GEMM and the layout of its output, so that consecutive ARM FP32 convs (and the
// concats between them) pass values without a transpose. The engine sees a float32 tensor of its
// NCHW (or N, C, W) shape; a reader that wants plain values gets them through to_plain().
#pragma once
#include <cstdint>
#include <memory>

#include "backend/arm/layout.h"
#include "backend/arm/scratch.h"
#include "graph/tensor.h"

namespace edgequant::engine::arm {

class NhwcFloat : public NativeData {
 public:
  // Values of a tensor of shape [n, c, h, w] or [n, c, w] (h = 1).
  explicit NhwcFloat(const Shape& shape)
      : n(shape.at(0)), c(shape.at(1)), h(shape.size() == 4 ? shape[2] : 1), w(shape.back()), values(n * c * h * w) {}

  void to_plain(float* dst) const override { to_nchw(values.data(), n, c, h * w, dst); }
  // NhwcCodes of the grid, the values quantized as they lie (nhwc_float.cpp).
  std::shared_ptr<NativeData> quantized(float scale, int32_t zero_point) const override;
  float* data() { return values.data(); }
  const float* data() const { return values.data(); }

  const int64_t n, c, h, w;

 private:
  Scratch<float> values;  // every value written by the kernel that makes the tensor
};

// The engine's float32 tensor over `data`.
inline Tensor nhwc_tensor(const Shape& shape, std::shared_ptr<NhwcFloat> data) {
  Tensor t;
  t.dtype = DType::f32;
  t.shape = shape;
  t.native = std::move(data);
  return t;
}

// The tensor's NHWC values when it holds them for its shape (not reshaped since), else nullptr.
inline const NhwcFloat* nhwc_float(const Tensor& t) {
  const auto* values = dynamic_cast<const NhwcFloat*>(t.native.get());
  if (!values || t.dtype != DType::f32 || (t.rank() != 4 && t.rank() != 3) || t.shape[0] != values->n ||
      t.shape[1] != values->c || t.shape.back() != values->w || (t.rank() == 4 ? t.shape[2] : 1) != values->h)
    return nullptr;
  return values;
}

// t's values in NHWC (t: [n, c, spatial...] float32): its own NhwcFloat data, or a transposed copy
// made in `staged`.
inline const float* nhwc_values(const Tensor& t, Scratch<float>& staged) {
  if (const NhwcFloat* values = nhwc_float(t)) return values->data();
  const int64_t n = t.shape.at(0), c = t.shape.at(1), hw = t.numel() / (n * c > 0 ? n * c : 1);
  staged = Scratch<float>(t.numel());
  to_nhwc(t.f(), n, c, hw, staged.data());
  return staged.data();
}

}  // namespace edgequant::engine::arm
