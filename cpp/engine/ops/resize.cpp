// Resize (and opset-10 style) in 'nearest' mode over NCHW: scales or sizes, the coordinate
// transformation modes and nearest rounding modes of the ONNX definition. Every output element
// copies the input element that per-axis source maps name; a 4-D resize of the spatial axes only
// (YOLO's upsampling) copies whole rows, or runs in the backend's own layout for an input left in
// it (a conv output) where the backend has a kernel.
#include <cmath>
#include <cstring>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Resize : public Op {
 public:
  Resize(const Node& node, const Graph& graph) : Op(node) {
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects inputs and 1 output");
    check(node.attr_s("mode", "nearest") == "nearest", "only mode 'nearest' is supported");
    transform_ = node.attr_s("coordinate_transformation_mode", graph.opset < 11 ? "asymmetric" : "half_pixel");
    rounding_ = node.attr_s("nearest_mode", graph.opset < 11 ? "floor" : "round_prefer_floor");
    legacy_ = graph.opset < 11;
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;  // nearest: its backend kernel copies u8 pixels unchanged
    traits.u8_inputs = {0};
    return traits;
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const int rank = x.rank();
    std::vector<float> scales;
    std::vector<int64_t> sizes;
    const size_t scales_at = legacy_ ? 1 : 2;
    if (inputs.size() > scales_at && inputs[scales_at] && inputs[scales_at]->numel() > 0)
      scales = inputs[scales_at]->as_f32();
    if (!legacy_ && inputs.size() > 3 && inputs[3] && inputs[3]->numel() > 0) sizes = int_values(inputs, 3);
    Shape out(rank);
    if (!sizes.empty()) {
      check(static_cast<int>(sizes.size()) == rank, "sizes must have one entry per axis");
      scales.resize(rank);
      for (int k = 0; k < rank; ++k) {
        out[k] = sizes[k];
        scales[k] = x.shape[k] ? static_cast<float>(sizes[k]) / x.shape[k] : 1.f;
      }
    } else {
      check(static_cast<int>(scales.size()) == rank, "scales must have one entry per axis");
      for (int k = 0; k < rank; ++k) {
        check(scales[k] > 0 && scales[k] < 1e6f, "scales must be positive");
        out[k] = static_cast<int64_t>(std::floor(x.shape[k] * static_cast<double>(scales[k])));
      }
    }
    const int64_t total = checked_numel(out, description());
    // Per axis, the source index of every output index.
    std::vector<std::vector<int64_t>> source(rank);
    for (int k = 0; k < rank; ++k) {
      source[k].resize(out[k]);
      for (int64_t o = 0; o < out[k]; ++o) source[k][o] = nearest(o, scales[k], x.shape[k], out[k]);
    }
    if (total > 0 && spatial_only(x.shape, out, source)) {
      if (x.native) {
        if (!kernel_built_) {
          kernel_ = ctx.backend.resize();
          kernel_built_ = true;
        }
        if (kernel_ && kernel_->run(x, source[2], source[3], outputs[0])) return;
      }
      outputs[0] = empty_as(x, out, description());  // u8 codes are copied as codes
      if (outputs[0].dtype == DType::f32) resize_rows(x.f(), x.shape, source[2], source[3], outputs[0].f(), out);
      else resize_rows(x.u8(), x.shape, source[2], source[3], outputs[0].u8(), out);
      return;
    }
    outputs[0] = empty_as(x, out, description());
    const size_t es = element_size(outputs[0]);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    std::vector<int64_t> in_stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    std::vector<int64_t> index(rank, 0);
    for (int64_t o = 0; o < total; ++o) {
      int64_t offset = 0;
      for (int k = 0; k < rank; ++k) offset += source[k][index[k]] * in_stride[k];
      std::memcpy(dst + o * es, src + offset * es, es);
      for (int k = rank - 1; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

 private:
  // A 4-D resize that keeps axes 0 and 1: planes of rows.
  static bool spatial_only(const Shape& in, const Shape& out, const std::vector<std::vector<int64_t>>& source) {
    if (in.size() != 4 || out[0] != in[0] || out[1] != in[1]) return false;
    for (int k = 0; k < 2; ++k)
      for (int64_t o = 0; o < out[k]; ++o)
        if (source[k][o] != o) return false;
    return true;
  }

  // Output row r of each plane copies input row rows[r] through the column map; repeated source
  // rows are copied from the output row above.
  template <class T>
  static void resize_rows(const T* src, const Shape& in, const std::vector<int64_t>& rows,
                          const std::vector<int64_t>& cols, T* dst, const Shape& out) {
    const int64_t ih = in[2], iw = in[3], oh = out[2], ow = out[3];
    for (int64_t plane = 0; plane < out[0] * out[1]; ++plane) {
      const T* in_plane = src + plane * ih * iw;
      T* out_plane = dst + plane * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        T* d = out_plane + r * ow;
        if (r > 0 && rows[r] == rows[r - 1]) {
          std::memcpy(d, d - ow, ow * sizeof(T));
          continue;
        }
        const T* s = in_plane + rows[r] * iw;
        for (int64_t c = 0; c < ow; ++c) d[c] = s[cols[c]];
      }
    }
  }

  int64_t nearest(int64_t o, float scale, int64_t in_len, int64_t out_len) const {
    double c;
    if (transform_ == "asymmetric") c = o / static_cast<double>(scale);
    else if (transform_ == "align_corners") c = out_len > 1 ? o * (in_len - 1) / static_cast<double>(out_len - 1) : 0;
    else if (transform_ == "half_pixel" || transform_ == "pytorch_half_pixel")
      c = (o + 0.5) / scale - 0.5;
    else if (transform_ == "tf_half_pixel_for_nn") c = (o + 0.5) / scale;
    else fail("coordinate_transformation_mode '" + transform_ + "' is not supported");
    int64_t i;
    if (rounding_ == "floor") i = static_cast<int64_t>(std::floor(c));
    else if (rounding_ == "ceil") i = static_cast<int64_t>(std::ceil(c));
    else if (rounding_ == "round_prefer_ceil") i = static_cast<int64_t>(std::floor(c + 0.5));
    else i = static_cast<int64_t>(std::ceil(c - 0.5));  // round_prefer_floor
    return std::min(std::max<int64_t>(i, 0), in_len - 1);
  }

  std::string transform_, rounding_;
  bool legacy_;
  bool kernel_built_ = false;
  std::unique_ptr<ResizeKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_resize(const Node& node, const Graph& graph) { return std::make_unique<Resize>(node, graph); }

}  // namespace edgequant::engine
