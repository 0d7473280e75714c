// Conv (1-D and 2-D; groups, dilations, pads, strides, auto_pad), with whatever the graph passes
// folded in: BatchNormalization into the weights, activations and a residual Add as post-ops.
// Weights and bias must be constants; the backend kernel is rebuilt only when the input shape
// changes. A residual whose shape is not the output's (an Add that broadcasts) is added by the
// generic Add after a kernel without the sum.
#include <algorithm>

#include "backend/fixed_point_requantization.h"
#include "graph/padding.h"
#include "graph/qdq.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Conv : public Op {
 public:
  Conv(const Node& node, const Graph& graph) : Op(node) {
    post_.activation = fused_activation(node);
    post_.sum = node.has("_sum");
    post_.after_sum = fused_activation(node, "_after_sum");
    check(node.inputs.size() >= 2 && node.inputs.size() <= (post_.sum ? 4 : 3) && node.outputs.size() == 1,
          "expects 2-3 inputs, 1 output");
    if (post_.sum) {
      Node add;
      add.name = node.name + "/residual_add";
      add.op_type = "Add";
      add.inputs = {node.outputs[0] + "/conv", node.inputs[3]};
      add.outputs = node.outputs;
      broadcast_add_ = make_op(add, graph);
    }
    check(graph.is_constant(node.inputs[1]), "weights must be an initializer");
    weights_ = graph.initializers.at(node.inputs[1]);
    check(weights_.dtype == DType::f32, "weights must be float");
    if (weights_.rank() >= 1) given_scales_ = given_weight_scales(graph, node.inputs[1], 0, weights_.shape[0]);
    check(weights_.rank() == 3 || weights_.rank() == 4, "only 1-D and 2-D convolutions are supported");
    spatial_ = weights_.rank() - 2;
    check(weights_.shape[0] >= 1 && weights_.shape[1] >= 1, [&] { return "weights " + shape_string(weights_.shape) +
                                                                " have no output or no input channels"; });
    if (node.inputs.size() >= 3 && !node.inputs[2].empty()) {
      check(graph.is_constant(node.inputs[2]), "bias must be an initializer");
      bias_ = graph.initializers.at(node.inputs[2]);
      check(bias_.dtype == DType::f32 && bias_.numel() == weights_.shape[0], "bias must hold one float per output channel");
      has_bias_ = true;
    }
    groups_ = node.attr_i("group", 1);
    check(groups_ >= 1 && weights_.shape[0] % groups_ == 0, "group must divide the output channels");
    strides_ = node.attr_ints("strides", std::vector<int64_t>(spatial_, 1));
    dilations_ = node.attr_ints("dilations", std::vector<int64_t>(spatial_, 1));
    pads_ = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_, 0));
    auto_pad_ = node.attr_s("auto_pad", "NOTSET");
    check(static_cast<int>(strides_.size()) == spatial_ && static_cast<int>(dilations_.size()) == spatial_ &&
              static_cast<int>(pads_.size()) == 2 * spatial_, "strides / dilations / pads have the wrong length");
    for (int k = 0; k < spatial_; ++k) check(strides_[k] >= 1 && dilations_[k] >= 1, "strides and dilations must be >= 1");
    for (int64_t p : pads_) check(p >= 0 && p < (1 << 20), "pads must be non-negative");
    if (node.has("kernel_shape")) {
      auto ks = node.attr_ints("kernel_shape");
      check(ks == Shape(weights_.shape.begin() + 2, weights_.shape.end()), "kernel_shape disagrees with the weights");
    }
    // A 2-D 1x1 conv to one channel (YOLOv8's DFL: the expected bin, weights 0..15) stays float32
    // in every mode: INT8 would save nothing on its few MACs per pixel and would round the bin
    // weights. Backends may run it as a weighted sum of channels (backend/portable_kernels.h).
    bool unit = auto_pad_ == "NOTSET" && groups_ == 1 && !post_.sum && post_.activation.kind == Activation::Kind::none;
    for (int k = 0; k < spatial_; ++k) unit = unit && strides_[k] == 1 && dilations_[k] == 1;
    for (int64_t p : pads_) unit = unit && p == 0;
    // (Not where the file quantizes it: quantize_dynamic's window sums, graph/qdq.h, are such a conv.)
    stays_float_ = unit && spatial_ == 2 && weights_.shape[0] == 1 && weights_.shape[2] == 1 && weights_.shape[3] == 1 &&
                   !node_.has("_dynamic_int8");
    const Activation::Kind act = post_.activation.kind;
    pointwise_ = (auto_pad_ == "NOTSET" || auto_pad_ == "VALID") && groups_ == 1 && !post_.sum && !stays_float_ &&
                 (act == Activation::Kind::none || act == Activation::Kind::relu || act == Activation::Kind::clip) &&
                 !post_.activation.has_affine();
    for (int k = 0; k < spatial_; ++k) pointwise_ = pointwise_ && strides_[k] == 1 && weights_.shape[2 + k] == 1;
    for (int64_t p : pads_) pointwise_ = pointwise_ && (p == 0 || auto_pad_ == "VALID");
  }

  // INT8: reads u8 input (and a u8 residual), may write u8 for u8 readers.
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    if (stays_float_) return traits;
    traits.quantized = true;
    if (node_.has("_dynamic_int8")) {  // ONNX Runtime's quantize_dynamic form (graph/qdq.h)
      traits.dynamic_in_file = true;
      return traits;
    }
    traits.u8_inputs = {0};
    traits.u8_output = true;
    if (post_.sum) {
      traits.residual_input = 3;
      traits.u8_inputs.push_back(3);
    }
    return traits;
  }
  void set_quantization(const QuantConfig& q) override {
    check(q.mode != QuantConfig::Mode::f32 || weights_.f32, "float weights were released: INT8 only");
    quant_ = q;
    if (q.mode != QuantConfig::Mode::f32) {
      if (q.weights) quantized_ = q.weights;  // another session's op quantized them already
      if (!quantized_ || quantized_->bits != q.weight_bits) {
        check(weights_.f32 != nullptr, "float weights were released: the INT8 weights keep their grid");
        quantized_ = std::make_shared<QuantizedWeights>(quantize_weights(
            weights_.f(), weights_.shape[0], weights_.numel() / weights_.shape[0], given_scales_, q.weight_bits));
      }
      quant_.weights = quantized_;
      // Integer requantization where the layer writes u8 codes and its activation is a clamp
      quant_.fixed_point = prepare_fixed_point(quant_, quantized_->scales, has_bias_ ? bias_.f() : nullptr, post_);
    }
    kernel_.reset();
  }
  const QuantConfig* quantization() const override { return &quant_; }
  std::shared_ptr<const QuantizedWeights> quantized_weights() const override {
    return quant_.mode == QuantConfig::Mode::f32 ? nullptr : quantized_;
  }
  const char* precision() const override { return precision_name(quant_.mode); }
  void release_float_weights() override {
    check(quant_.mode != QuantConfig::Mode::f32, "float weights are released only in an INT8 mode");
    weights_.f32.reset();
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() == spatial_ + 2, [&] { return "input of rank " + std::to_string(x.rank()) + " for a " +
                                        std::to_string(spatial_) + "-D convolution"; });
    const int64_t ic_per_group = weights_.shape[1];
    check(x.shape[1] == ic_per_group * groups_, [&] { return "input has " + std::to_string(x.shape[1]) + " channels, weights expect " +
                                                     std::to_string(ic_per_group * groups_); });
    ConvGeometry g{};
    g.n = x.shape[0];
    g.ic = x.shape[1];
    g.oc = weights_.shape[0];
    g.groups = groups_;
    // 1-D: height 1.
    const int64_t ih = spatial_ == 2 ? x.shape[2] : 1, iw = x.shape[spatial_ + 1];
    const int64_t kh = spatial_ == 2 ? weights_.shape[2] : 1, kw = weights_.shape[spatial_ + 1];
    const int64_t sh = spatial_ == 2 ? strides_[0] : 1, sw = strides_[spatial_ - 1];
    const int64_t dh = spatial_ == 2 ? dilations_[0] : 1, dw = dilations_[spatial_ - 1];
    int64_t pt = spatial_ == 2 ? pads_[0] : 0, pl = pads_[spatial_ - 1];
    int64_t pb = spatial_ == 2 ? pads_[2] : 0, pr = pads_[2 * spatial_ - 1];
    if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
      auto same = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& lo, int64_t& hi) {
        const Padding pad = same_padding(in, same_output_size(in, s), k, s, d, auto_pad_ == "SAME_UPPER");
        lo = pad.begin;
        hi = pad.end;
      };
      if (spatial_ == 2) same(ih, kh, sh, dh, pt, pb);
      same(iw, kw, sw, dw, pl, pr);
    } else if (auto_pad_ == "VALID") {
      pt = pl = pb = pr = 0;
    } else {
      check(auto_pad_ == "NOTSET", [&] { return "unknown auto_pad '" + auto_pad_ + "'"; });
    }
    g.ih = ih; g.iw = iw; g.kh = kh; g.kw = kw; g.stride_h = sh; g.stride_w = sw; g.dilation_h = dh; g.dilation_w = dw;
    g.pad_top = pt; g.pad_left = pl; g.pad_bottom = pb; g.pad_right = pr;
    g.oh = (ih + pt + pb - (kh - 1) * dh - 1) / sh + 1;
    g.ow = (iw + pl + pr - (kw - 1) * dw - 1) / sw + 1;
    check(ih + pt + pb >= (kh - 1) * dh + 1 && iw + pl + pr >= (kw - 1) * dw + 1,
          [&] { return "input " + shape_string(x.shape) + " is smaller than the kernel"; });
    Shape out_shape = spatial_ == 2 ? Shape{g.n, g.oc, g.oh, g.ow} : Shape{g.n, g.oc, g.ow};
    if (g.n == 0) {
      outputs[0] = Tensor::zeros_f32(out_shape, description());
      return;
    }
    if (pointwise_ && quant_.mode == QuantConfig::Mode::f32 && x.dtype == DType::f32 && !x.native && !x.converted &&
        run_as_gemm(ctx, x, g, out_shape, outputs[0]))
      return;
    const Tensor* residual = post_.sum ? &float_input(inputs, 3) : nullptr;
    const bool broadcast = residual && residual->shape != out_shape;
    if (!kernel_ || !same_geometry(g) || broadcast != broadcast_) {
      ConvPostOps post = post_;
      if (broadcast) post = ConvPostOps{post_.activation, false, {}};
      kernel_ = ctx.backend.conv(g, weights_.f32 ? weights_.f() : nullptr, has_bias_ ? bias_.f() : nullptr, post,
                                 quant_);
      geometry_ = g;
      broadcast_ = broadcast;
    }
    const bool residual_is_free = ctx.is_free(3);
    kernel_->share_converted_source(ctx.is_read_later(0));
    if (!broadcast) {  // x, the residual and the output may be in the backend's layout
      kernel_->run(x, residual, residual_is_free, outputs[0], out_shape);
      return;
    }
    Tensor conv_out;
    kernel_->run(x, nullptr, false, conv_out, out_shape);
    std::vector<const Tensor*> add_inputs{&conv_out, residual};
    broadcast_add_->run(ctx, add_inputs, outputs);
    Tensor& y = outputs[0];
    if (post_.after_sum.kind != Activation::Kind::none)
      for (float *v = y.f(), *end = v + y.numel(); v != end; ++v) *v = apply_activation(post_.after_sum, *v);
  }

 private:
  // A 1x1 conv on a plain NCHW input is one matrix product per image, W [oc, ic] · X [ic, h·w],
  // written NCHW: no reorder into the backend's layout and back (a 16->64 conv at 120x120 spent
  // more in those two reorders than in the conv). False where the backend has no GEMM.
  bool run_as_gemm(RunContext& ctx, const Tensor& x, const ConvGeometry& g, const Shape& out_shape, Tensor& y) {
    const int64_t hw = g.ih * g.iw;
    Tensor out = Tensor::unspecified_f32(out_shape, description());  // the products write every value
    const float* src = x.f();
    float* dst = out.f();
    // Columns in bands whose oc rows of products stay in L2 (~256 KiB) while the bias and activation
    // pass reads them back: one pass over the whole output after the products read it from memory
    // again (16->64 at 120x120: 3.7 MB, a third of the run).
    const int64_t band = std::max<int64_t>(256, (int64_t{64} << 10) / std::max<int64_t>(g.oc, 1) / 16 * 16);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t col = 0; col < hw; col += band) {
        const int64_t cols = std::min(band, hw - col);
        float* block = dst + n * g.oc * hw + col;
        if (!ctx.backend.gemm(g.oc, cols, g.ic, weights_.f(), g.ic, src + n * g.ic * hw + col, hw, block, hw))
          return false;
        add_bias_and_activation(block, g.oc, cols, hw);
      }
    y = std::move(out);
    return true;
  }

  // Bias and activation on `rows` output channels of `cols` products (row stride `stride`), after the products
  // (measured faster than products added onto a bias-filled output, sgemm's beta = 1, for 16 to 96
  // input channels). NaN as the reference backend: Relu gives 0, Clip NaN.
  void add_bias_and_activation(float* block, int64_t rows, int64_t cols, int64_t stride) const {
    const float* bias = has_bias_ ? bias_.f() : nullptr;
    const Activation& act = post_.activation;
    for (int64_t c = 0; c < rows; ++c) {
      const float b = bias ? bias[c] : 0.f;
      float* v = block + c * stride;
      switch (act.kind) {
        case Activation::Kind::relu:
          for (int64_t i = 0; i < cols; ++i) v[i] = v[i] + b > 0.f ? v[i] + b : 0.f;
          break;
        case Activation::Kind::clip:
          for (int64_t i = 0; i < cols; ++i) v[i] = std::min(std::max(v[i] + b, act.lo), act.hi);
          break;
        default:
          if (b != 0.f)
            for (int64_t i = 0; i < cols; ++i) v[i] += b;
      }
    }
  }

  bool same_geometry(const ConvGeometry& g) const {
    return g.n == geometry_.n && g.ih == geometry_.ih && g.iw == geometry_.iw && g.pad_top == geometry_.pad_top &&
           g.pad_left == geometry_.pad_left && g.pad_bottom == geometry_.pad_bottom && g.pad_right == geometry_.pad_right;
  }

  Tensor weights_, bias_;  // weights_ keeps its shape when its data is released
  std::shared_ptr<const QuantizedWeights> quantized_;
  std::vector<float> given_scales_;  // a quantized model's weight scales (graph/qdq.h), or {}
  bool has_bias_ = false;
  bool stays_float_ = false;
  bool pointwise_ = false;  // 1x1, stride 1, no pads, one group, no residual: run_as_gemm may take it
  int spatial_ = 2;
  int64_t groups_ = 1;
  std::vector<int64_t> strides_, dilations_, pads_;
  std::string auto_pad_;
  ConvPostOps post_;
  std::unique_ptr<Op> broadcast_add_;  // residual Adds only
  bool broadcast_ = false;
  QuantConfig quant_;
  ConvGeometry geometry_{};
  std::unique_ptr<ConvKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_conv(const Node& node, const Graph& graph) { return std::make_unique<Conv>(node, graph); }

}  // namespace edgequant::engine
