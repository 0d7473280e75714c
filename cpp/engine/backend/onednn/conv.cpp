// Convolution: f32, or INT8 (u8 source, s8 weights) with the source quantized by the staging
// reorder, optionally a u8 destination for u8 readers and a residual accumulated by a sum post-op.
#include <algorithm>
#include <string>

#include "backend/onednn/stages.h"

namespace edgequant::engine::onednn {
namespace {

class DnnlConv : public ConvKernel {
 public:
  DnnlConv(const DnnlContext& ctx, const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
           const QuantConfig& q)
      : ctx_(ctx), int8_(q.mode != QuantConfig::Mode::f32), q_(q), sum_(post.sum) {
    const memory::dims src_dims{g.n, g.ic, g.ih, g.iw}, dst_dims{g.n, g.oc, g.oh, g.ow};
    const bool grouped = g.groups > 1;
    const memory::dims w_dims = grouped ? memory::dims{g.groups, g.oc / g.groups, g.ic / g.groups, g.kh, g.kw}
                                        : memory::dims{g.oc, g.ic, g.kh, g.kw};
    const tag w_plain = grouped ? tag::goihw : tag::oihw;
    const dt src_type = int8_ ? dt::u8 : dt::f32, w_type = int8_ ? dt::s8 : dt::f32;
    quantize_output_ = int8_ && q.mode == QuantConfig::Mode::int8_static && q.quantize_output;
    // A float conv's bias is added to the finished sum, as its first post-op: oneDNN's direct
    // kernels in channel blocks otherwise start each accumulator at the bias, so every product is
    // rounded at the bias's magnitude. Where a bias outweighs the sum (a scale folded into the conv,
    // a BN's mean), that doubled the error of PP-OCR's seal detector against a float64 evaluation
    // (2.6e-4 -> 1.2e-4 of its map; ONNX Runtime 7e-5). brgemm kernels add it last either way.
    const memory::desc bias_channels({1, g.oc, 1, 1}, dt::f32, tag::abcd);
    bias_post_op_ = !int8_ && b && std::any_of(b, b + g.oc, [](float v) { return v != 0.f; });
    auto make_attr = [&](bool bias_first) {
      // A u8 destination holds the residual as u8 with its own parameters, read back by the sum.
      dnnl::primitive_attr attr = quantize_output_ && post.sum
                                      ? attr_with_post_ops(post, q.residual_scale, q.residual_zero_point)
                                      : attr_with_post_ops(post, 1.f, 0, bias_first ? &bias_channels : nullptr);
      if (int8_) add_int8_attributes(attr, grouped ? 0b11 : 0b1);
      if (quantize_output_) {
        attr.set_scales_mask(DNNL_ARG_DST, 0);
        attr.set_zero_points_mask(DNNL_ARG_DST, 0);
      }
      return attr;
    };
    if (quantize_output_) {
      out_scale_ = q.output_scale;
      out_zero_point_ = q.output_zero_point;
      dst_scale_ = memory({{1}, dt::f32, tag::x}, ctx.eng);
      dst_zero_point_ = memory({{1}, dt::s32, tag::x}, ctx.eng);
      *static_cast<float*>(dst_scale_.get_data_handle()) = out_scale_;
      *static_cast<int32_t*>(dst_zero_point_.get_data_handle()) = out_zero_point_;
    }
    const dt dst_type = quantize_output_ ? dt::u8 : dt::f32;
    auto describe = [&](tag src_tag, tag dst_tag, bool bias_first) {
      dnnl::convolution_forward::primitive_desc pd(
          ctx.eng, dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
          memory::desc(src_dims, src_type, src_tag), memory::desc(w_dims, w_type, tag::any),
          bias_first ? memory::desc() : memory::desc({g.oc}, dt::f32, tag::x),
          memory::desc(dst_dims, dst_type, dst_tag), {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1},
          {g.pad_top, g.pad_left}, {g.pad_bottom, g.pad_right}, make_attr(bias_first));
      skip_faulty_kernels(pd);
      return pd;
    };
    // Left to choose (format_tag::any), oneDNN 3.2 runs float depthwise and 1x1 convs on NHWC brgemm
    // kernels; in 16-channel blocks (AVX-512; 8 with AVX2) its direct kernels (jit_dw, jit_1x1) took MobileNetV2's 112x112
    // layers in about half the time (depthwise 32 channels 0.41 -> 0.19 ms, 1x1 16 -> 96 0.80 -> 0.44),
    // and a network of such layers then has no reorder between them. Other networks keep oneDNN's
    // choice (ResNet's 3x3 convs at 512 channels: 1.82 ms NHWC, 2.46 blocked). A blocked combination
    // that only oneDNN's reference loop runs is not taken.
    const int64_t block = ctx.blocked_f32_convs;
    auto choose = [&](bool bias_first) {
      if (block && !int8_ && (g.ic >= block || g.oc >= block)) {
        const tag blocked = block == 16 ? tag::nChw16c : tag::nChw8c;
        auto pd = describe(g.ic >= block ? blocked : tag::any, g.oc >= block ? blocked : tag::any, bias_first);
        if (std::string(pd.impl_info_str()).find("ref") == std::string::npos) return pd;
      }
      return describe(tag::any, tag::any, bias_first);
    };
    dnnl::convolution_forward::primitive_desc pd = choose(bias_post_op_);
    if (bias_post_op_) {  // only where the post-op keeps the kernel (and layouts) the bias would get
      dnnl::convolution_forward::primitive_desc with_bias = choose(false);
      if (std::string(with_bias.impl_info_str()) != pd.impl_info_str() || with_bias.src_desc() != pd.src_desc() ||
          with_bias.dst_desc() != pd.dst_desc()) {
        pd = with_bias;
        bias_post_op_ = false;
      }
    }
    prim_ = dnnl::convolution_forward(pd);
    const int64_t per_oc = g.ic / g.groups * g.kh * g.kw;
    if (int8_) {
      const QuantizedWeights qw = q.weights ? QuantizedWeights() : quantize_weights(w, g.oc, per_oc, q.weight_bits);
      const QuantizedWeights& use = q.weights ? *q.weights : qw;
      weights_ = prepare_weights(ctx, memory::desc(w_dims, dt::s8, w_plain), use.values.data(), pd.weights_desc());
      int8_args_.init(ctx, use.scales);
    } else {
      weights_ = prepare_weights(ctx, memory::desc(w_dims, dt::f32, w_plain), w, pd.weights_desc());
    }
    bias_ = memory(bias_post_op_ ? bias_channels : pd.bias_desc(), ctx.eng);
    float* bias = static_cast<float*>(bias_.get_data_handle());
    for (int64_t c = 0; c < g.oc; ++c) bias[c] = b ? b[c] : 0.f;
    src_.emplace(ctx, memory::desc(src_dims, dt::f32, tag::nchw), pd.src_desc(), q);
    if (quantize_output_) {  // the plain-pointer run() writes float32: a second primitive
      dnnl::primitive_attr f32_attr = attr_with_post_ops(post);
      add_int8_attributes(f32_attr, grouped ? 0b11 : 0b1);
      dnnl::convolution_forward::primitive_desc f32_pd(
          ctx.eng, dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, pd.src_desc(),
          pd.weights_desc(), memory::desc({g.oc}, dt::f32, tag::x), memory::desc(dst_dims, dt::f32, tag::any),
          {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1}, {g.pad_top, g.pad_left},
          {g.pad_bottom, g.pad_right}, f32_attr);
      skip_faulty_kernels(f32_pd);
      f32_prim_ = dnnl::convolution_forward(f32_pd);
      dst_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), f32_pd.dst_desc());
    } else {
      dst_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), pd.dst_desc());
    }
    if (sum_)
      residual_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), q.residual_scale, q.residual_zero_point);
    residual_scale_ = q.residual_scale;
    residual_zero_point_ = q.residual_zero_point;
    src_dims_ = src_dims;
    wanted_src_ = pd.src_desc();
    dst_desc_ = pd.dst_desc();
    plain_dst_desc_ = memory::desc(dst_dims, dt::f32, tag::nchw);
    dst_plain_ = dst_desc_ == plain_dst_desc_;
  }

 private:
  void execute(const memory& src, const memory& dst, float scale, int32_t zero_point, bool f32_output = false) {
    // The map is kept between runs (its nodes too): only the handles change.
    std::unordered_map<int, memory>& args = f32_output ? f32_args_ : args_;
    args[DNNL_ARG_SRC] = src;
    args[DNNL_ARG_WEIGHTS] = weights_;
    args[bias_post_op_ ? DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1 : DNNL_ARG_BIAS] = bias_;
    args[DNNL_ARG_DST] = dst;
    if (int8_) int8_args_.add_to(args, scale, zero_point);
    if (f32_output) {
      f32_prim_.execute(ctx_.strm, args);
      return;
    }
    if (quantize_output_) {
      args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST] = dst_scale_;
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst_zero_point_;
    }
    prim_.execute(ctx_.strm, args);
  }

 public:
  void share_converted_source(bool read_later) override { share_source_ = read_later; }

  void run(const float* src, float* dst) override {
    float scale = 1;
    int32_t zero_point = 0;
    if (sum_) dst_->prefill(dst);
    execute(src_->stage(src, scale, zero_point), dst_->target(dst), scale, zero_point, quantize_output_);
    dst_->finish(dst);
    ctx_.strm.wait();
    src_->release();
  }

  // Keeps the output in the primitive's layout (no reorder back to NCHW); takes the input in
  // whatever layout the previous primitive left it.
  void run(const Tensor& x, const Tensor* residual, bool residual_is_free, Tensor& y, const Shape& shape) override {
    float scale = 1;
    int32_t zero_point = 0;
    const auto* native = dynamic_cast<const DnnlNative*>(x.native.get());
    memory src;
    if (native && native->quantized() && q_.mode == QuantConfig::Mode::int8_static &&
        native->desc() == wanted_src_ && native->scale() == q_.scale &&
        native->zero_point() == q_.zero_point) {
      src = native->mem();  // quantized by its producer with this layer's parameters
      scale = q_.scale;
      zero_point = q_.zero_point;
    } else if (const auto* converted = int8_ ? nullptr : dynamic_cast<const DnnlNative*>(x.converted.get());
               converted && converted->desc() == wanted_src_) {
      src = converted->mem();  // an earlier reader's conversion of the same tensor
    } else {
      if ((native = native_f32(x, src_dims_))) {
        src = src_->stage(*native, scale, zero_point);
      } else {
        src = src_->stage(x.f(), scale, zero_point);
      }
      if (share_source_ && !int8_) {
        if (auto copy = src_->take_staged()) x.converted = std::move(copy);
      }
    }
    y = Tensor();
    y.dtype = DType::f32;
    y.shape = shape;
    if (dst_plain_) {  // the primitive writes NCHW itself: a plain buffer, reused when free
      if (!plain_out_ || plain_out_.use_count() > 1)
        plain_out_ = std::make_shared<std::vector<float>>(dst_desc_.get_size() / sizeof(float));
      y.f32 = plain_out_;
      memory dst(dst_desc_, ctx_.eng, plain_out_->data());
      if (sum_) residual_->copy(*residual, dst);
      execute(src, dst, scale, zero_point);
    } else if (sum_ && residual_is_free &&
               writable_in_place(*residual, dst_desc_, residual_scale_, residual_zero_point_)) {
      // Accumulate into the residual's own buffer: no copy. The output carries its own parameters.
      const auto& in_place = static_cast<const DnnlNative&>(*residual->native);
      auto out = std::make_shared<DnnlNative>(ctx_, dst_desc_, plain_dst_desc_, out_scale_, out_zero_point_,
                                              in_place.block());
      y = native_tensor(shape, out);
      execute(src, out->mem(), scale, zero_point);
    } else {
      auto out = std::make_shared<DnnlNative>(ctx_, dst_desc_, plain_dst_desc_, out_scale_, out_zero_point_);
      y = native_tensor(shape, out);
      if (sum_) residual_->copy(*residual, out->mem());
      execute(src, out->mem(), scale, zero_point);
    }
    ctx_.strm.wait();
    src_->release();
  }

 private:
  const DnnlContext& ctx_;
  bool int8_;
  dnnl::convolution_forward prim_;
  memory weights_, bias_;
  bool bias_post_op_ = false;  // the bias is post-op 0, not the primitive's own
  std::unordered_map<int, memory> args_, f32_args_;
  bool share_source_ = false;
  Int8Arguments int8_args_;
  std::optional<SourceStage> src_;
  std::optional<DestinationStage> dst_;
  memory::dims src_dims_;
  memory::desc wanted_src_, dst_desc_, plain_dst_desc_;
  bool dst_plain_ = false;
  QuantConfig q_;
  bool quantize_output_ = false;
  bool sum_ = false;
  std::optional<ResidualStage> residual_;
  float residual_scale_ = 1;
  int32_t residual_zero_point_ = 0;
  float out_scale_ = 1;
  int32_t out_zero_point_ = 0;
  memory dst_scale_, dst_zero_point_;
  dnnl::convolution_forward f32_prim_;
  std::shared_ptr<std::vector<float>> plain_out_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv(const DnnlContext& ctx, const ConvGeometry& g, const float* weights,
                                      const float* bias, const ConvPostOps& post, const QuantConfig& q) {
  return std::make_unique<DnnlConv>(ctx, g, weights, bias, post, q);
}

}  // namespace edgequant::engine::onednn
