// Concat and Split of the ARM backend's NHWC codes along the channels (axis 1), each pixel's
// channel runs copied as they are: a fire module's expand outputs or a channel split stay codes on
// one grid (the INT8 plan's quantization group) for the next INT8 conv. Anything else: false, and
// the op copies the plain values itself.
#include <cstring>
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/nhwc_codes.h"

namespace edgequant::engine::arm {
namespace {

class ArmConcat : public ConcatKernel {
 public:
  bool run(const std::vector<const Tensor*>& src, int axis, const Shape& shape, Tensor& dst) override {
    if (axis != 1 || shape.size() != 4 || src.empty()) return false;
    std::vector<const NhwcCodes*> parts;
    for (const Tensor* t : src) {
      const NhwcCodes* codes = t ? nhwc_codes(*t) : nullptr;
      if (!codes || (!parts.empty() && !codes->on_grid(parts[0]->scale, parts[0]->zero_point))) return false;
      parts.push_back(codes);
    }
    auto out = std::make_shared<NhwcCodes>(shape, parts[0]->scale, parts[0]->zero_point);
    const int64_t pixels = shape[0] * shape[2] * shape[3], c = shape[1];
    for (int64_t p = 0; p < pixels; ++p) {
      int8_t* row = out->data() + p * c;
      for (const NhwcCodes* part : parts) {
        std::memcpy(row, part->data() + p * part->c, static_cast<size_t>(part->c));
        row += part->c;
      }
    }
    dst = codes_tensor(shape, std::move(out));
    return true;
  }
};

class ArmSplit : public SplitKernel {
 public:
  bool run(const Tensor& src, int axis, const std::vector<int64_t>& sizes, std::vector<Tensor>& dst) override {
    const NhwcCodes* codes = nhwc_codes(src);
    if (!codes || axis != 1 || dst.size() != sizes.size()) return false;
    const int64_t pixels = codes->n * codes->h * codes->w;
    int64_t offset = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      const Shape shape{codes->n, sizes[k], codes->h, codes->w};
      auto out = std::make_shared<NhwcCodes>(shape, codes->scale, codes->zero_point);
      for (int64_t p = 0; p < pixels; ++p)
        std::memcpy(out->data() + p * sizes[k], codes->data() + p * codes->c + offset, static_cast<size_t>(sizes[k]));
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
