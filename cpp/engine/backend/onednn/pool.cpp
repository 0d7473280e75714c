// Max and average pooling, on plain NCHW or in a native input's own layout.
#include "backend/onednn/stages.h"

namespace edgequant::engine::onednn {
namespace {

class DnnlPool : public PoolKernel {
 public:
  DnnlPool(const DnnlContext& ctx, const PoolGeometry& g) : ctx_(ctx), g_(g) {
    src_desc_ = memory::desc({g.n, g.c, g.ih, g.iw}, dt::f32, tag::nchw);
    dst_desc_ = memory::desc({g.n, g.c, g.oh, g.ow}, dt::f32, tag::nchw);
    prim_ = dnnl::pooling_forward(make_pd(src_desc_, dst_desc_));
  }
  void run(const float* src, float* dst) override {
    prim_.execute(ctx_.strm, {{DNNL_ARG_SRC, memory(src_desc_, ctx_.eng, const_cast<float*>(src))},
                              {DNNL_ARG_DST, memory(dst_desc_, ctx_.eng, dst)}});
    ctx_.strm.wait();
  }
  // A native (blocked) input is pooled in its own layout and the output left in it.
  void run(const Tensor& x, Tensor& y, const Shape& shape) override {
    const auto* native = native_f32(x, src_desc_.get_dims());
    if (!native) {
      y = Tensor();
      y.dtype = DType::f32;
      y.shape = shape;
      if (!plain_out_ || plain_out_.use_count() > 1)
        plain_out_ = std::make_shared<std::vector<float>>(dst_desc_.get_size() / sizeof(float));
      y.f32 = plain_out_;
      run(x.f(), y.f32->data());
      return;
    }
    const memory::desc src = native->mem().get_desc();
    if (!native_prim_ || src != native_src_) {
      auto pd = make_pd(src, memory::desc(dst_desc_.get_dims(), dt::f32, tag::any));
      native_prim_ = dnnl::pooling_forward(pd);
      native_src_ = src;
      native_dst_ = pd.dst_desc();
    }
    auto out = std::make_shared<DnnlNative>(ctx_, native_dst_, dst_desc_);
    y = Tensor();
    y.dtype = DType::f32;
    y.shape = shape;
    y.native = out;
    native_prim_.execute(ctx_.strm, {{DNNL_ARG_SRC, native->mem()}, {DNNL_ARG_DST, out->mem()}});
    ctx_.strm.wait();
  }

 private:
  dnnl::pooling_forward::primitive_desc make_pd(const memory::desc& src, const memory::desc& dst) const {
    const auto algorithm = g_.kind == PoolGeometry::Kind::max ? dnnl::algorithm::pooling_max
                           : g_.count_include_pad          ? dnnl::algorithm::pooling_avg_include_padding
                                                           : dnnl::algorithm::pooling_avg_exclude_padding;
    return dnnl::pooling_forward::primitive_desc(ctx_.eng, dnnl::prop_kind::forward_inference, algorithm, src, dst,
                                                 {g_.stride_h, g_.stride_w}, {g_.kh, g_.kw}, {0, 0},
                                                 {g_.pad_top, g_.pad_left}, {g_.pad_bottom, g_.pad_right});
  }

  const DnnlContext& ctx_;
  PoolGeometry g_;
  memory::desc src_desc_, dst_desc_;
  dnnl::pooling_forward prim_;
  memory::desc native_src_, native_dst_;
  dnnl::pooling_forward native_prim_;
  std::shared_ptr<std::vector<float>> plain_out_;
};

}  // namespace

std::unique_ptr<PoolKernel> make_pool(const DnnlContext& ctx, const PoolGeometry& g) {
  return std::make_unique<DnnlPool>(ctx, g);
}

}  // namespace edgequant::engine::onednn
