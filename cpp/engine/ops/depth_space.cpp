// DepthToSpace and SpaceToDepth on [N, C, H, W] float32 / int64 data, block size b:
//   DepthToSpace DCR (default): y[n, c, h*b + i, w*b + j] = x[n, (i*b + j) * C/b² + c, h, w]
//   DepthToSpace CRD:           y[n, c, h*b + i, w*b + j] = x[n, c * b² + i*b + j, h, w]
//   SpaceToDepth DCR (default): y[n, (i*b + j) * C + c, h, w] = x[n, c, h*b + i, w*b + j]
//   SpaceToDepth CRD:           y[n, c * b² + i*b + j, h, w] = x[n, c, h*b + i, w*b + j]
// (the ONNX reshape / transpose definitions written as one gather). DepthToSpace has `mode` from
// opset 11, SpaceToDepth from opset 28; without it both are DCR. The engine's own attribute
// `_columns_first` (graph/space_to_depth_folding.h: YOLOv5's Focus) puts a DCR SpaceToDepth's block in
// column order: y[n, (j*b + i) * C + c, h, w] = x[n, c, h*b + i, w*b + j].
#include <cstring>

#include "common/simd.h"
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// dst[k] = src[k * step] for k < n: a SpaceToDepth output row of float32 (YOLOv5's Focus: step 2).
EDGEQUANT_KERNEL void gather_every(const float* src, int64_t step, float* dst, int64_t n) {
  if (step == 2) {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[2 * k];
    return;
  }
  for (int64_t k = 0; k < n; ++k) dst[k] = src[k * step];
}

class DepthSpace : public Op {
 public:
  explicit DepthSpace(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    to_space_ = node.op_type == "DepthToSpace";
    block_ = node.attr_i("blocksize", 0);
    check(block_ >= 1, [&] { return "blocksize must be >= 1, got " + std::to_string(block_); });
    const std::string mode = node.attr_s("mode", "DCR");
    check(mode == "DCR" || mode == "CRD", [&] { return "mode '" + mode + "' is not supported (expected 'DCR' or 'CRD')"; });
    crd_ = mode == "CRD";
    columns_first_ = node.attr_i("_columns_first", 0) != 0;
    check(!columns_first_ || (!to_space_ && !crd_), "_columns_first applies to a DCR SpaceToDepth only");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    check(x.rank() == 4, [&] { return "expects a 4-D input [N, C, H, W], got " + shape_string(x.shape); });
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], b = block_;
    const int64_t bb = times(b, b);
    Shape out;
    if (to_space_) {
      check(c % bb == 0, [&] { return "channels (" + std::to_string(c) + ") must be a multiple of blocksize² (" +
                             std::to_string(bb) + ")"; });
      out = {n, c / bb, times(h, b), times(w, b)};
    } else {
      check(h % b == 0 && w % b == 0, [&] { return "height and width " + shape_string({h, w}) + " must be multiples of blocksize " +
                                          std::to_string(b); });
      out = {n, times(c, bb), h / b, w / b};
    }
    // Every element is written below: float32 needs no zeroing first.
    outputs[0] = plain_dtype(x) == DType::f32 ? Tensor::unspecified_f32(out, description()) : empty_as(x, out, description());
    if (checked_numel(out, description()) == 0) return;
    const size_t size = element_size(x);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    // The [N, C', H', W'] side with the small spatial dims ("depth") against the large one ("space").
    const Shape& depth = to_space_ ? x.shape : out;
    const Shape& space = to_space_ ? out : x.shape;
    const int64_t dc = depth[1], dh = depth[2], dw = depth[3], sc = space[1];
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ch = 0; ch < sc; ++ch)
        for (int64_t i = 0; i < b; ++i)
          for (int64_t j = 0; j < b; ++j) {
            const int64_t block = columns_first_ ? j * b + i : i * b + j;
            const int64_t deep = crd_ ? ch * b * b + block : block * sc + ch;
            if (!to_space_ && size == 4 && plain_dtype(x) == DType::f32) {  // whole rows, vectorised
              for (int64_t y = 0; y < dh; ++y)
                gather_every(reinterpret_cast<const float*>(src) + ((in * sc + ch) * dh * b + y * b + i) * dw * b + j, b,
                             reinterpret_cast<float*>(dst) + ((in * dc + deep) * dh + y) * dw, dw);
              continue;
            }
            for (int64_t y = 0; y < dh; ++y)
              for (int64_t xw = 0; xw < dw; ++xw) {
                const int64_t d = ((in * dc + deep) * dh + y) * dw + xw;
                const int64_t s = ((in * sc + ch) * dh * b + y * b + i) * dw * b + xw * b + j;
                if (to_space_) std::memcpy(dst + s * size, src + d * size, size);
                else std::memcpy(dst + d * size, src + s * size, size);
              }
          }
  }

 private:
  // a * b, refused when it overflows (a hostile blocksize on a 0-size tensor).
  int64_t times(int64_t a, int64_t b) const {
    int64_t product = 0;
    check(!__builtin_mul_overflow(a, b, &product),
          [&] { return "the output shape overflows (blocksize " + std::to_string(block_) + ")"; });
    return product;
  }

  bool to_space_, crd_, columns_first_ = false;
  int64_t block_;
};

}  // namespace

std::unique_ptr<Op> make_depth_space(const Node& node, const Graph&) { return std::make_unique<DepthSpace>(node); }

}  // namespace edgequant::engine
