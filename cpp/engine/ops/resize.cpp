// Resize (and opset-10 style) over NCHW: scales or sizes, the coordinate transformation modes of
// the ONNX definition. 'nearest' (with its rounding modes): every output element copies the input
// element that per-axis source maps name; a 4-D resize of the spatial axes only (YOLO's upsampling)
// copies whole rows, or runs in the backend's own layout for an input left in it (a conv output)
// where the backend has a kernel. 'linear' over the last two axes (bilinear upsampling of
// segmentation and pose networks): each output the weighted sum of its 2x2 neighbours, the source
// coordinate clamped to the input as ONNX Runtime clamps it.
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
    const std::string mode = node.attr_s("mode", "nearest");
    check(mode == "nearest" || mode == "linear", "mode '" + mode + "' is not supported (nearest, linear)");
    linear_ = mode == "linear";
    check(node.attr_i("antialias", 0) == 0, "antialias is not supported");
    transform_ = node.attr_s("coordinate_transformation_mode", graph.opset < 11 ? "asymmetric" : "half_pixel");
    rounding_ = node.attr_s("nearest_mode", graph.opset < 11 ? "floor" : "round_prefer_floor");
    legacy_ = graph.opset < 11;
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = !linear_;  // nearest: its backend kernel copies u8 pixels unchanged
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
    if (linear_) {
      run_linear(x, scales, out, outputs[0]);
      return;
    }
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

  // The source coordinate of output index o along an axis.
  double source_coordinate(int64_t o, float scale, int64_t in_len, int64_t out_len) const {
    if (transform_ == "asymmetric") return o / static_cast<double>(scale);
    if (transform_ == "align_corners") {  // over the scaled length, as ONNX's reference (2.4, not 2, for 4 x 0.6)
      const double resized = in_len * static_cast<double>(scale);
      return out_len > 1 && resized > 1 ? o * (in_len - 1) / (resized - 1) : 0;
    }
    if (transform_ == "half_pixel") return (o + 0.5) / scale - 0.5;
    if (transform_ == "pytorch_half_pixel") return out_len > 1 ? (o + 0.5) / scale - 0.5 : 0;
    if (transform_ == "tf_half_pixel_for_nn" && !linear_) return (o + 0.5) / scale;
    fail("coordinate_transformation_mode '" + transform_ + "' is not supported in mode '" +
         (linear_ ? "linear" : "nearest") + "'");
    return 0;  // not reached: fail throws
  }

  // Along one axis: the two source indices of each output index and their weights.
  struct LinearTaps {
    std::vector<int64_t> lo, hi;
    std::vector<float> w_lo, w_hi;
  };
  LinearTaps linear_taps(float scale, int64_t in_len, int64_t out_len) const {
    LinearTaps taps;
    for (int64_t o = 0; o < out_len; ++o) {
      const double c = std::min(std::max(source_coordinate(o, scale, in_len, out_len), 0.0), double(in_len - 1));
      const int64_t lo = std::min(static_cast<int64_t>(c), in_len - 1), hi = std::min(lo + 1, in_len - 1);
      const float w_hi = lo == hi ? 0.5f : static_cast<float>(c - lo);
      taps.lo.push_back(lo);
      taps.hi.push_back(hi);
      taps.w_hi.push_back(w_hi);
      taps.w_lo.push_back(lo == hi ? 0.5f : static_cast<float>(hi - c));
    }
    return taps;
  }

  // Bilinear (linear for a rank-1 input) over the last two axes; the others must keep their sizes.
  void run_linear(const Tensor& x, const std::vector<float>& scales, const Shape& out, Tensor& y) const {
    const int rank = x.rank();
    check(rank >= 1, "a linear resize needs at least one axis");
    for (int k = 0; k + 2 < rank; ++k)
      check(out[k] == x.shape[k] && scales[k] == 1.f, [&] {
        return "mode 'linear' resizes the last two axes only; axis " + std::to_string(k) + " goes from " +
               std::to_string(x.shape[k]) + " to " + std::to_string(out[k]);
      });
    const bool has_rows = rank >= 2;
    const int64_t ih = has_rows ? x.shape[rank - 2] : 1, iw = x.shape[rank - 1];
    const int64_t oh = has_rows ? out[rank - 2] : 1, ow = out[rank - 1];
    y = Tensor::unspecified_f32(out, description());  // every element is written below
    if (y.numel() == 0) return;
    check(ih > 0 && iw > 0, "cannot resize an empty axis to a non-empty one");
    const LinearTaps rows = linear_taps(has_rows ? scales[rank - 2] : 1.f, ih, oh);
    const LinearTaps cols = linear_taps(scales[rank - 1], iw, ow);
    const int64_t planes = y.numel() / (oh * ow);
    const float* src = x.f();
    float* dst = y.f();
    for (int64_t p = 0; p < planes; ++p) {
      const float* plane = src + p * ih * iw;
      for (int64_t r = 0; r < oh; ++r) {
        const float *top = plane + rows.lo[r] * iw, *bottom = plane + rows.hi[r] * iw;
        const float w_top = rows.w_lo[r], w_bottom = rows.w_hi[r];
        float* d = dst + (p * oh + r) * ow;
        for (int64_t c = 0; c < ow; ++c) {
          const int64_t left = cols.lo[c], right = cols.hi[c];
          const float w_left = cols.w_lo[c], w_right = cols.w_hi[c];
          d[c] = w_left * w_top * top[left] + w_right * w_top * top[right] + w_left * w_bottom * bottom[left] +
                 w_right * w_bottom * bottom[right];
        }
      }
    }
  }

  int64_t nearest(int64_t o, float scale, int64_t in_len, int64_t out_len) const {
    const double c = source_coordinate(o, scale, in_len, out_len);
    int64_t i;
    if (rounding_ == "floor") i = static_cast<int64_t>(std::floor(c));
    else if (rounding_ == "ceil") i = static_cast<int64_t>(std::ceil(c));
    else if (rounding_ == "round_prefer_ceil") i = static_cast<int64_t>(std::floor(c + 0.5));
    else i = static_cast<int64_t>(std::ceil(c - 0.5));  // round_prefer_floor
    return std::min(std::max<int64_t>(i, 0), in_len - 1);
  }

  std::string transform_, rounding_;
  bool linear_ = false;
  bool legacy_;
  bool kernel_built_ = false;
  std::unique_ptr<ResizeKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_resize(const Node& node, const Graph& graph) { return std::make_unique<Resize>(node, graph); }

}  // namespace edgequant::engine
