#include "runtime/fast_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/layout.h"
#include "runtime/fast_kernels.h"

namespace edgequant::engine {
namespace {

// Transpose by blocks: axes that stay adjacent are merged, unit axes dropped; when the innermost
// input axis stays innermost, whole runs are copied with memcpy, else an inner strided loop.
class FastTranspose : public Op {
 public:
  FastTranspose(const Node& node, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)), perm_(node.attr_ints("perm")) {}

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    if (inputs.size() != 1 || !inputs[0] || outputs.size() != 1) return generic_->run(ctx, inputs, outputs);
    const Tensor& x = *inputs[0];
    const int rank = x.rank();
    std::vector<int> perm(rank);
    if (perm_.empty()) {
      for (int k = 0; k < rank; ++k) perm[k] = rank - 1 - k;
    } else {
      if (static_cast<int>(perm_.size()) != rank) return generic_->run(ctx, inputs, outputs);
      std::vector<bool> seen(rank, false);
      for (int k = 0; k < rank; ++k) {
        const int64_t p = perm_[k] < 0 ? perm_[k] + rank : perm_[k];
        if (p < 0 || p >= rank || seen[p]) return generic_->run(ctx, inputs, outputs);
        seen[p] = true;
        perm[k] = static_cast<int>(p);
      }
    }
    Shape out(rank);
    for (int k = 0; k < rank; ++k) out[k] = x.shape[perm[k]];
    outputs[0] = empty_like(x.dtype, out, node_.describe());
    const int64_t total = checked_numel(out, node_.describe());
    if (total == 0) return;
    // Input strides; output axes in order, as (extent, input stride), merged where contiguous.
    std::vector<int64_t> in_stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    std::vector<int64_t> ext, str;
    for (int k = 0; k < rank; ++k) {
      const int64_t e = out[k], s = in_stride[perm[k]];
      if (e == 1) continue;
      if (!ext.empty() && str.back() == s * e) {
        ext.back() *= e;
        str.back() = s;
      } else {
        ext.push_back(e);
        str.push_back(s);
      }
    }
    const size_t es = element_size(x);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    if (ext.empty()) {
      std::memcpy(dst, src, es);
      return;
    }
    const int m = static_cast<int>(ext.size());
    const int64_t inner = ext[m - 1], inner_stride = str[m - 1];
    std::vector<int64_t> index(m, 0);
    int64_t offset = 0;
    for (int64_t o = 0; o < total; o += inner) {
      if (inner_stride == 1) {
        std::memcpy(dst + o * es, src + offset * es, inner * es);
      } else if (es == sizeof(float)) {
        const float* s = reinterpret_cast<const float*>(src) + offset;
        float* d = reinterpret_cast<float*>(dst) + o;
        for (int64_t j = 0; j < inner; ++j) d[j] = s[j * inner_stride];
      } else {
        const int64_t* s = reinterpret_cast<const int64_t*>(src) + offset;
        int64_t* d = reinterpret_cast<int64_t*>(dst) + o;
        for (int64_t j = 0; j < inner; ++j) d[j] = s[j * inner_stride];
      }
      for (int k = m - 2; k >= 0; --k) {
        offset += str[k];
        if (++index[k] < ext[k]) break;
        offset -= str[k] * ext[k];
        index[k] = 0;
      }
    }
  }

 private:
  std::unique_ptr<Op> generic_;
  std::vector<int64_t> perm_;
};

// The reference backend is the yardstick the fast kernels are tested against: it keeps the
// generic ops.
bool is_reference(const RunContext& ctx) { return ctx.backend.name() == "reference"; }

// Softmax / LogSoftmax on any axis with the vectorised kernel of fast_kernels.h: the axis viewed
// as the middle of [outer, len, inner], so a non-last axis (YOLOv8's DFL: 16 bins on axis 1 of
// [N, 16, 4, A]) runs at memory speed with the columns as vector lanes.
class FastSoftmax : public Op {
 public:
  FastSoftmax(const Node& node, const Graph& graph, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)) {
    legacy_ = graph.opset < 13;
    axis_ = node.attr_i("axis", legacy_ ? 1 : -1);
    log_ = node.op_type == "LogSoftmax";
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    if (is_reference(ctx) || inputs.size() != 1 || !inputs[0] || inputs[0]->dtype != DType::f32 ||
        inputs[0]->rank() < 1 || axis_ < -inputs[0]->rank() || axis_ >= inputs[0]->rank() || outputs.size() != 1)
      return generic_->run(ctx, inputs, outputs);
    const Tensor& x = *inputs[0];
    const int axis = static_cast<int>(axis_ < 0 ? axis_ + x.rank() : axis_);
    const int64_t outer = span(x.shape, 0, axis);
    const int64_t len = legacy_ ? span(x.shape, axis, x.shape.size()) : x.shape[axis];
    const int64_t inner = legacy_ ? 1 : span(x.shape, axis + 1, x.shape.size());
    if (outer * len * inner == 0) return generic_->run(ctx, inputs, outputs);
    outputs[0] = Tensor::zeros_f32(x.shape, node_.describe());
    softmax_f32(x.f(), outputs[0].f(), outer, len, inner, log_);
  }

 private:
  std::unique_ptr<Op> generic_;
  bool legacy_ = false, log_ = false;
  int64_t axis_ = -1;
};

// Sigmoid with the vectorised exp (YOLOv8's class scores: 80 x 8400 of them).
class FastSigmoid : public Op {
 public:
  FastSigmoid(const Node& node, std::unique_ptr<Op> generic) : Op(node), generic_(std::move(generic)) {}

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    if (is_reference(ctx) || inputs.size() != 1 || !inputs[0] || inputs[0]->dtype != DType::f32 || outputs.size() != 1)
      return generic_->run(ctx, inputs, outputs);
    const Tensor& x = *inputs[0];
    outputs[0] = Tensor::zeros_f32(x.shape, node_.describe());
    sigmoid_f32(x.f(), outputs[0].f(), x.numel());
  }

 private:
  std::unique_ptr<Op> generic_;
};

// A 1x1 Conv to one output channel with constant weights (YOLOv8's DFL: the expected bin, weights
// 0..15): a weighted sum of channels, one memory-bound pass. It stays float32 in every mode (not
// quantizable): INT8 would save nothing on 16 MACs per pixel and would round the bin weights.
// Plain float inputs only; anything else (backend-native input, another shape) runs the generic
// Conv, in float32 as well.
class FastChannelSum : public Op {
 public:
  FastChannelSum(const Node& node, std::vector<float> weights, float bias, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)), weights_(std::move(weights)), bias_(bias) {}

  // The op for `node` when it is such a Conv, else nullptr.
  static std::unique_ptr<Op> make(const Node& node, const Graph& graph, std::unique_ptr<Op>& generic) {
    if (node.inputs.size() < 2 || node.inputs.size() > 3 || node.outputs.size() != 1 || node.has("_sum") ||
        node.has("_activation") || node.attr_i("group", 1) != 1 || node.attr_s("auto_pad", "NOTSET") != "NOTSET")
      return nullptr;
    for (const char* key : {"strides", "dilations"})
      for (int64_t v : node.attr_ints(key))
        if (v != 1) return nullptr;
    for (int64_t v : node.attr_ints("pads"))
      if (v != 0) return nullptr;
    auto weight = graph.initializers.find(node.inputs[1]);
    if (weight == graph.initializers.end() || weight->second.dtype != DType::f32 || weight->second.rank() != 4 ||
        weight->second.shape[0] != 1 || weight->second.shape[2] != 1 || weight->second.shape[3] != 1)
      return nullptr;
    float bias = 0.f;
    if (node.inputs.size() == 3 && !node.inputs[2].empty()) {
      auto b = graph.initializers.find(node.inputs[2]);
      if (b == graph.initializers.end() || b->second.dtype != DType::f32 || b->second.numel() != 1) return nullptr;
      bias = b->second.f()[0];
    }
    const float* w = weight->second.f();
    return std::make_unique<FastChannelSum>(node, std::vector<float>(w, w + weight->second.numel()), bias,
                                            std::move(generic));
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const int64_t channels = static_cast<int64_t>(weights_.size());
    if (is_reference(ctx) || inputs.size() < 2 || !inputs[0] || inputs[0]->native || inputs[0]->dtype != DType::f32 ||
        inputs[0]->rank() != 4 || inputs[0]->shape[1] != channels || outputs.size() != 1)
      return generic_->run(ctx, inputs, outputs);
    const Tensor& x = *inputs[0];
    const int64_t pixels = x.shape[2] * x.shape[3];
    outputs[0] = Tensor::zeros_f32({x.shape[0], 1, x.shape[2], x.shape[3]}, node_.describe());
    if (outputs[0].numel() == 0) return;
    channel_sum_f32(x.f(), outputs[0].f(), x.shape[0], channels, pixels, weights_.data(), bias_);
  }

 private:
  std::unique_ptr<Op> generic_;
  std::vector<float> weights_;
  float bias_;
};

// Concat of backend-native tensors (consecutive conv outputs) without leaving the backend's
// layout; anything else goes to the generic op.
class FastConcat : public Op {
 public:
  FastConcat(const Node& node, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)), axis_(node.attr_i("axis", 0)) {}

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    if (!tried_) {
      kernel_ = ctx.backend.concat();
      tried_ = true;
    }
    bool any_native = false;
    for (const Tensor* t : inputs) any_native = any_native || (t && t->native);
    if (kernel_ && outputs.size() == 1 && inputs.size() >= 2 && inputs[0] && any_native) {
      const Tensor& first = *inputs[0];
      const int rank = first.rank();
      bool ok = rank >= 1 && axis_ >= -rank && axis_ < rank;
      const int axis = static_cast<int>(axis_ < 0 ? axis_ + rank : axis_);
      Shape out = first.shape;
      if (ok) out[axis] = 0;
      for (size_t k = 0; ok && k < inputs.size(); ++k) {
        const Tensor* t = inputs[k];
        ok = t && t->dtype == DType::f32 && t->rank() == rank;
        for (int d = 0; ok && d < rank; ++d) ok = d == axis || t->shape[d] == first.shape[d];
        if (ok) out[axis] += t->shape[axis];
      }
      if (ok && kernel_->run(inputs, axis, out, outputs[0])) return;
    }
    generic_->run(ctx, inputs, outputs);
  }

 private:
  std::unique_ptr<Op> generic_;
  int64_t axis_;
  bool tried_ = false;
  std::unique_ptr<ConcatKernel> kernel_;
};

// Resize, nearest / asymmetric / floor with scales over the spatial axes of an NCHW tensor (the
// YOLO upsampling): one row map and one column map, whole rows copied. Else the generic op.
class FastResize : public Op {
 public:
  FastResize(const Node& node, const Graph& graph, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)) {
    legacy_ = graph.opset < 11;
    applies_ = node.attr_s("mode", "nearest") == "nearest" &&
               node.attr_s("coordinate_transformation_mode", legacy_ ? "asymmetric" : "half_pixel") == "asymmetric" &&
               node.attr_s("nearest_mode", legacy_ ? "floor" : "round_prefer_floor") == "floor";
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const size_t scales_at = legacy_ ? 1 : 2;
    const bool has_sizes = !legacy_ && inputs.size() > 3 && inputs[3] && inputs[3]->numel() > 0;
    if (!applies_ || has_sizes || inputs.empty() || !inputs[0] || inputs[0]->dtype != DType::f32 ||
        inputs[0]->rank() != 4 || inputs.size() <= scales_at || !inputs[scales_at] || outputs.size() != 1)
      return generic_->run(ctx, inputs, outputs);
    const std::vector<float> scales = inputs[scales_at]->as_f32();
    if (scales.size() != 4 || scales[0] != 1.f || scales[1] != 1.f) return generic_->run(ctx, inputs, outputs);
    for (float sc : scales)
      if (!(sc > 0 && sc < 1e6f)) return generic_->run(ctx, inputs, outputs);
    const Tensor& x = *inputs[0];
    Shape out(4);
    for (int k = 0; k < 4; ++k) out[k] = static_cast<int64_t>(std::floor(x.shape[k] * static_cast<double>(scales[k])));
    if (checked_numel(out, node_.describe()) == 0) {
      outputs[0] = Tensor::zeros_f32(out, node_.describe());
      return;
    }
    auto source = [](int64_t o, float scale, int64_t in) {
      const int64_t i = static_cast<int64_t>(std::floor(o / static_cast<double>(scale)));
      return std::min(std::max<int64_t>(i, 0), in - 1);
    };
    const int64_t ih = x.shape[2], iw = x.shape[3], oh = out[2], ow = out[3];
    std::vector<int64_t> cols(ow);
    for (int64_t o = 0; o < ow; ++o) cols[o] = source(o, scales[3], iw);
    if (x.native) {  // a conv output in the backend's layout: resized there, no round trip to NCHW
      if (!tried_) {
        kernel_ = ctx.backend.resize();
        tried_ = true;
      }
      std::vector<int64_t> rows(oh);
      for (int64_t r = 0; r < oh; ++r) rows[r] = source(r, scales[2], ih);
      if (kernel_ && kernel_->run(x, rows, cols, outputs[0])) return;
    }
    outputs[0] = Tensor::zeros_f32(out, node_.describe());
    const float* src = x.f();
    float* dst = outputs[0].f();
    for (int64_t plane = 0; plane < out[0] * out[1]; ++plane) {
      const float* in_plane = src + plane * ih * iw;
      float* out_plane = dst + plane * oh * ow;
      int64_t previous = -1;
      for (int64_t r = 0; r < oh; ++r) {
        const int64_t row = source(r, scales[2], ih);
        float* d = out_plane + r * ow;
        if (row == previous) {
          std::memcpy(d, d - ow, ow * sizeof(float));
        } else {
          const float* s = in_plane + row * iw;
          for (int64_t o = 0; o < ow; ++o) d[o] = s[cols[o]];
        }
        previous = row;
      }
    }
  }

 private:
  std::unique_ptr<Op> generic_;
  bool legacy_ = false, applies_ = false;
  bool tried_ = false;
  std::unique_ptr<ResizeKernel> kernel_;
};

}  // namespace

// Split of a backend-native tensor (a conv output) into native parts; the generic Split (which
// also reports every error) otherwise.
class FastSplit : public Op {
 public:
  FastSplit(const Node& node, std::unique_ptr<Op> generic)
      : Op(node), generic_(std::move(generic)), axis_(node.attr_i("axis", 0)), sizes_(node.attr_ints("split")) {}

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    if (!tried_) {
      kernel_ = ctx.backend.split();
      tried_ = true;
    }
    if (kernel_ && !inputs.empty() && inputs[0] && inputs[0]->native && !outputs.empty()) {
      const Tensor& x = *inputs[0];
      const int rank = x.rank();
      const int64_t parts = static_cast<int64_t>(outputs.size());
      if (axis_ >= -rank && axis_ < rank) {
        const int axis = static_cast<int>(axis_ < 0 ? axis_ + rank : axis_);
        std::vector<int64_t> sizes = sizes_;
        if (inputs.size() > 1 && inputs[1]) sizes = inputs[1]->as_i64();
        if (sizes.empty() && x.shape[axis] % parts == 0) sizes.assign(parts, x.shape[axis] / parts);
        int64_t total = 0;
        for (int64_t s : sizes) total += s;
        if (static_cast<int64_t>(sizes.size()) == parts && total == x.shape[axis] &&
            kernel_->run(x, axis, sizes, outputs))
          return;
      }
    }
    generic_->run(ctx, inputs, outputs);
  }

 private:
  std::unique_ptr<Op> generic_;
  int64_t axis_;
  std::vector<int64_t> sizes_;
  bool tried_ = false;
  std::unique_ptr<SplitKernel> kernel_;
};

std::unique_ptr<Op> make_fast_op(const Node& node, const Graph& graph, std::unique_ptr<Op> generic) {
  if (node.op_type == "Transpose") return std::make_unique<FastTranspose>(node, std::move(generic));
  if (node.op_type == "Split") return std::make_unique<FastSplit>(node, std::move(generic));
  if (node.op_type == "Resize") return std::make_unique<FastResize>(node, graph, std::move(generic));
  if (node.op_type == "Concat" && node.has("axis")) return std::make_unique<FastConcat>(node, std::move(generic));
  if (node.op_type == "Softmax" || node.op_type == "LogSoftmax")
    return std::make_unique<FastSoftmax>(node, graph, std::move(generic));
  if (node.op_type == "Sigmoid") return std::make_unique<FastSigmoid>(node, std::move(generic));
  if (node.op_type == "Conv")
    if (auto channel_sum = FastChannelSum::make(node, graph, generic)) return channel_sum;
  return generic;
}

}  // namespace edgequant::engine
