// Concat and Split of the ARM backend's NHWC tensors along the channels (axis 1), each pixel's
// channel runs copied as they are: a fire module's expand outputs or a channel split stay NHWC
// values (FP32) or codes on one grid (the INT8 plan's quantization group) for the next conv.
// Anything else: false, and the op copies the plain values itself.
#include <algorithm>
#include <cstring>
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/arm/nhwc_float.h"

namespace edgequant::engine::arm {
namespace {

// Each pixel's channel runs of the parts, one after the other: codes (all on one grid) or values.
template <class Data, class T>
void concat_rows(const std::vector<const Data*>& parts, int64_t pixels, int64_t c, T* dst) {
  for (int64_t p = 0; p < pixels; ++p) {
    T* row = dst + p * c;
    for (const Data* part : parts) {
      std::memcpy(row, part->data() + p * part->c, static_cast<size_t>(part->c) * sizeof(T));
      row += part->c;
    }
  }
}

template <class Data, class T>
void split_rows(const Data& src, int64_t pixels, int64_t offset, int64_t size, T* dst) {
  for (int64_t p = 0; p < pixels; ++p)
    std::memcpy(dst + p * size, src.data() + p * src.c + offset, static_cast<size_t>(size) * sizeof(T));
}

class ArmConcat : public ConcatKernel {
 public:
  bool run(const std::vector<const Tensor*>& src, int axis, const Shape& shape, Tensor& dst) override {
    if (axis != 1 || (shape.size() != 4 && shape.size() != 3) || src.empty()) return false;
    const int64_t pixels = shape[0] * (shape.size() == 4 ? shape[2] : 1) * shape.back(), c = shape[1];
    std::vector<const NhwcFloat*> values;
    for (const Tensor* t : src) values.push_back(t ? nhwc_float(*t) : nullptr);
    if (std::find(values.begin(), values.end(), nullptr) == values.end()) {
      auto out = std::make_shared<NhwcFloat>(shape);
      concat_rows(values, pixels, c, out->data());
      dst = nhwc_tensor(shape, std::move(out));
      return true;
    }
    if (shape.size() != 4) return false;
    std::vector<const NhwcCodes*> parts;
    for (const Tensor* t : src) {
      const NhwcCodes* codes = t ? nhwc_codes(*t) : nullptr;
      if (!codes || (!parts.empty() && !codes->on_grid(parts[0]->scale, parts[0]->zero_point))) return false;
      parts.push_back(codes);
    }
    auto out = std::make_shared<NhwcCodes>(shape, parts[0]->scale, parts[0]->zero_point);
    concat_rows(parts, pixels, c, out->data());
    dst = codes_tensor(shape, std::move(out));
    return true;
  }
};

class ArmSplit : public SplitKernel {
 public:
  bool run(const Tensor& src, int axis, const std::vector<int64_t>& sizes, std::vector<Tensor>& dst) override {
    if (axis != 1 || dst.size() != sizes.size()) return false;
    if (const NhwcFloat* values = nhwc_float(src)) {
      const int64_t pixels = values->n * values->h * values->w;
      int64_t offset = 0;
      for (size_t k = 0; k < sizes.size(); ++k) {
        Shape shape = src.shape;
        shape[1] = sizes[k];
        auto out = std::make_shared<NhwcFloat>(shape);
        split_rows(*values, pixels, offset, sizes[k], out->data());
        offset += sizes[k];
        dst[k] = nhwc_tensor(shape, std::move(out));
      }
      return true;
    }
    const NhwcCodes* codes = nhwc_codes(src);
    if (!codes) return false;
    const int64_t pixels = codes->n * codes->h * codes->w;
    int64_t offset = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      const Shape shape{codes->n, sizes[k], codes->h, codes->w};
      auto out = std::make_shared<NhwcCodes>(shape, codes->scale, codes->zero_point);
      split_rows(*codes, pixels, offset, sizes[k], out->data());
      offset += sizes[k];
      dst[k] = codes_tensor(shape, std::move(out));
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ConcatKernel> make_concat() { return std::make_unique<ArmConcat>(); }
std::unique_ptr<SplitKernel> make_split() { return std::make_unique<ArmSplit>(); }

}  // namespace edgequant::engine::arm
