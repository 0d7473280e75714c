// Max and average pooling, on plain NCHW or in a native input's own layout. Plain NCHW max pools
// (float or u8 codes) run backend/plain_max_pool.h: oneDNN has only a reference loop for them.
//
// oneDNN's average pooling sums a window in float32: values over FLT_MAX / window (a 2x2 window of
// 1e38) overflow to Inf where the average is finite. Where an average pool's output holds a non-finite
// value, the pool is run again by the reference backend's loops (a double sum: the exact average,
// Inf and NaN where an input holds them). The check reads the output once.
//
// A global average (one window over the whole map) is the engine's own sum in double instead, in the
// input's layout: oneDNN's float32 chain over a map rounds far from the mean where the values cancel, and
// a squeeze-excitation block scales a whole feature map by it (PP-OCRv4's recogniser: 1.3e-4 of its
// output from ONNX Runtime's; 2e-5 with the double sums). It reads the input once, as oneDNN's does.
#include <algorithm>
#include <cstring>

#include "backend/onednn/stages.h"
#include "backend/plain_max_pool.h"
#include "backend/registry.h"
#include "common/double_sum.h"
#include "common/simd.h"

namespace edgequant::engine::onednn {
namespace {

// An OR over the bit patterns: vectorised (per-ISA clones), no early exit.
EDGEQUANT_KERNEL bool any_non_finite(const float* x, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof(bits));
    bad |= static_cast<uint32_t>((bits & 0x7fffffffu) >= 0x7f800000u);  // Inf or NaN
  }
  return bad != 0;
}

// One window over the whole map, no padding: a global average.
bool global_average(const PoolGeometry& g) {
  return g.kind == PoolGeometry::Kind::average && g.oh == 1 && g.ow == 1 && g.kh == g.ih && g.kw == g.iw &&
         g.pad_top == 0 && g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0;
}

// Means of `rows` rows of n values each, summed in double (common/double_sum.h).
EDGEQUANT_KERNEL void row_means(const float* x, int64_t rows, int64_t n, float* out) {
  for (int64_t r = 0; r < rows; ++r, x += n) out[r] = static_cast<float>(sum_in_double(x, n) / static_cast<double>(n));
}

// The same over `pixels` vectors of `width` channels ([blocks][pixels][width] of a native layout): a
// double sum per channel lane, over the pixels in order. out[j] for j < width.
EDGEQUANT_KERNEL void lane_means(const float* x, int64_t pixels, int64_t width, double* sums, float* out) {
  for (int64_t j = 0; j < width; ++j) sums[j] = 0;
  for (int64_t p = 0; p < pixels; ++p, x += width)
    for (int64_t j = 0; j < width; ++j) sums[j] += x[j];
  for (int64_t j = 0; j < width; ++j) out[j] = static_cast<float>(sums[j] / static_cast<double>(pixels));
}

class DnnlPool : public PoolKernel {
 public:
  DnnlPool(const DnnlContext& ctx, const PoolGeometry& g) : ctx_(ctx), g_(g) {
    src_desc_ = memory::desc({g.n, g.c, g.ih, g.iw}, dt::f32, tag::nchw);
    dst_desc_ = memory::desc({g.n, g.c, g.oh, g.ow}, dt::f32, tag::nchw);
    prim_ = dnnl::pooling_forward(make_pd(src_desc_, dst_desc_));
    if (g.kind == PoolGeometry::Kind::average) exact_ = make_backend("reference")->pool(g);
  }
  void run(const float* src, float* dst) override {
    if (g_.kind == PoolGeometry::Kind::max) return max_pool_plain(g_, src, dst);
    if (global_average(g_)) return row_means(src, g_.n * g_.c, g_.ih * g_.iw, dst);
    if (plain_args_.empty()) {
      plain_src_ = memory(src_desc_, ctx_.eng, DNNL_MEMORY_NONE);
      plain_dst_ = memory(dst_desc_, ctx_.eng, DNNL_MEMORY_NONE);
      plain_args_ = {{DNNL_ARG_SRC, plain_src_}, {DNNL_ARG_DST, plain_dst_}};
    }
    plain_src_.set_data_handle(const_cast<float*>(src));
    plain_dst_.set_data_handle(dst);
    prim_.execute(ctx_.strm, plain_args_);
    ctx_.strm.wait();
    if (exact_ && any_non_finite(dst, static_cast<int64_t>(dst_desc_.get_size() / sizeof(float))))
      exact_->run(src, dst);
  }
  // A native (blocked) input is pooled in its own layout and the output left in it; u8 data (a
  // quantized conv's output, static INT8) is max-pooled as u8, on the same grid.
  void run(const Tensor& x, Tensor& y, const Shape& shape) override {
    const auto* quantized = dynamic_cast<const DnnlNative*>(x.native.get());
    if (quantized && quantized->quantized() && g_.kind == PoolGeometry::Kind::max &&
        quantized->desc().get_dims() == src_desc_.get_dims())
      return run_u8(*quantized, y, shape);
    if (g_.kind == PoolGeometry::Kind::max && x.dtype == DType::u8 && x.bytes && !x.native && x.quant.single() &&
        every_window_has_input(g_)) {
      y = Tensor::quantized(DType::u8, shape, x.quant, "pool output");
      return max_pool_plain(g_, x.u8(), y.u8());
    }
    const auto* native = native_f32(x, src_desc_.get_dims());
    if (native && global_average(g_) && global_average_native(*native, y, shape)) return;
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
    const memory::desc& src = native->desc();
    if (!native_prim_ || src != native_src_) {
      auto pd = make_pd(src, memory::desc(dst_desc_.get_dims(), dt::f32, tag::any));
      native_prim_ = dnnl::pooling_forward(pd);
      native_src_ = src;
      native_dst_ = pd.dst_desc();
    }
    auto out = std::make_shared<DnnlNative>(ctx_, native_dst_, dst_desc_);
    y = native_tensor(shape, out);
    native_args_[DNNL_ARG_SRC] = native->mem();  // the map outlives the run: no allocation per run
    native_args_[DNNL_ARG_DST] = out->mem();
    native_prim_.execute(ctx_.strm, native_args_);
    ctx_.strm.wait();
    if (exact_ && any_non_finite(static_cast<const float*>(out->mem().get_data_handle()),
                                 static_cast<int64_t>(native_dst_.get_size() / sizeof(float)))) {
      y.native.reset();  // a plain output from the plain input
      y.f32 = std::make_shared<std::vector<float>>(dst_desc_.get_size() / sizeof(float));
      exact_->run(x.f(), y.f32->data());
    }
  }

 private:
  void run_u8(const DnnlNative& x, Tensor& y, const Shape& shape) {
    const memory::desc& src = x.desc();
    if (!u8_prim_ || src != u8_src_) {
      auto pd = make_pd(src, memory::desc(dst_desc_.get_dims(), src.get_data_type(), tag::any));
      u8_prim_ = dnnl::pooling_forward(pd);
      u8_src_ = src;
      u8_dst_ = pd.dst_desc();
    }
    auto out = std::make_shared<DnnlNative>(ctx_, u8_dst_, dst_desc_, x.scale(), x.zero_point());
    y = native_tensor(shape, out);
    native_args_[DNNL_ARG_SRC] = x.mem();
    native_args_[DNNL_ARG_DST] = out->mem();
    u8_prim_.execute(ctx_.strm, native_args_);
    ctx_.strm.wait();
  }

  // A global average of a native input in a [N][blocks][H][W][width] layout, to a plain output.
  bool global_average_native(const DnnlNative& x, Tensor& y, const Shape& shape) {
    const std::optional<int64_t> width = pixel_vector_width(x.desc());
    if (!width || x.quantized()) return false;
    const int64_t blocks = (g_.c + *width - 1) / *width, pixels = g_.ih * g_.iw;
    if (static_cast<int64_t>(x.desc().get_size()) != g_.n * blocks * pixels * *width * 4) return false;
    y = Tensor::zeros_f32(shape, "pool output");
    sums_.resize(static_cast<size_t>(*width));
    means_.resize(static_cast<size_t>(*width));
    const float* in = static_cast<const float*>(x.mem().get_data_handle());
    for (int64_t n = 0; n < g_.n; ++n)
      for (int64_t b = 0; b < blocks; ++b) {
        lane_means(in + (n * blocks + b) * pixels * *width, pixels, *width, sums_.data(), means_.data());
        const int64_t first = b * *width, count = std::min(*width, g_.c - first);  // past C: the padding
        std::copy_n(means_.data(), count, y.f() + n * g_.c + first);
      }
    return true;
  }

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
  memory::desc u8_src_, u8_dst_;
  dnnl::pooling_forward u8_prim_;
  std::shared_ptr<std::vector<float>> plain_out_;
  // Argument maps kept between runs (their memory objects are repointed, not rebuilt).
  memory plain_src_, plain_dst_;
  std::unordered_map<int, memory> plain_args_, native_args_;
  std::unique_ptr<PoolKernel> exact_;  // average pools: the reference loops, for outputs that overflowed
  std::vector<double> sums_;  // a global average's per-lane sums and means
  std::vector<float> means_;
};

}  // namespace

std::unique_ptr<PoolKernel> make_pool(const DnnlContext& ctx, const PoolGeometry& g) {
  return std::make_unique<DnnlPool>(ctx, g);
}

}  // namespace edgequant::engine::onednn
