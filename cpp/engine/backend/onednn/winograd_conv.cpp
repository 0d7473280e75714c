// Float32 3x3 stride-1 convolutions by Winograd F(4x4, 3x3) (backend/winograd_f43.h): the input
// and output transforms portable, the 36 products per block of tiles one batched oneDNN matmul.
// Chosen where it measured faster than oneDNN 3.2's direct brgconv on AVX-512 (Zen 4, one thread):
// both channel counts >= 32 (64 -> 64 at 80x80 1.6x, 128 -> 128 at 20x20 1.8x, 32 -> 32 at 80x80
// 1.1x; 16 -> 16 at 160x160 0.85x: with few channels the transforms cost more than the products
// saved), and outputs of at least 20x20 unless ic >= 128 (SqueezeNet's 48 -> 192 and 64 -> 256 at
// 13x13: 0.87x and 0.96x, a quarter of each edge tile wasted). On Intel cores with AMX (Sapphire
// Rapids on: two 512-bit FMA units, where Zen 4 splits each 512-bit FMA in two) the direct kernels
// are twice as fast per cycle and Winograd wins only on large images with 64 channels or more,
// measured inside whole models (direct time / Winograd time): 64 -> 64 at 80x80 1.28x, 56x56 1.14-1.23x,
// 96 -> 96 at 52x52 1.17x, 128 -> 64 at 40x40 1.14x; but 96 -> 96 at 26x26 0.70x, 192 -> 192 at 13x13
// 0.66x, 256 -> 256 at 14x14 0.81x, 32 -> 32 at 80x80 0.86x, 48 -> 48 at 52x52 0.87x. A fused residual
// sum is added in the output transform. EDGEQUANT_WINOGRAD=0 in the environment, read when a kernel
// is built, keeps every conv direct; EDGEQUANT_WINOGRAD=1 takes Winograd past the size thresholds.
//
// Each run first reads its input once (max |x| and the mean exponent of |x|, winograd::exact_for)
// and hands inputs whose range makes Winograd inexact (non-finite values, values large enough to
// overflow in the transforms, an outlier over 2^10 times the typical |x|, all values below 2^-64)
// to oneDNN's direct conv, built from U the first time one does. A per-run fallback rather than an error bound by
// construction: the error Winograd puts on a tile is proportional to the tile's largest input, so
// no rescaling keeps an outlier's rounding off its neighbours; the direct conv's error is local.
// Per conv rather than per tile: a tile's fallback would need a second direct kernel written here,
// and these inputs are rare (real activations stay far below the outlier ratio). A separate read
// rather than one fused into the input transform: rounds interleave input and output transforms,
// so a verdict reached in a later round would come after earlier tiles were written (and a fused
// residual consumed in place). The read costs ~1-3 % of a Winograd conv (0.2-0.4 ms of YOLOv8n's 42).
#include <omp.h>

#include <cmath>
#include <cstdlib>

#include "backend/onednn/stages.h"
#include "backend/winograd_f43.h"

namespace edgequant::engine::onednn {
namespace {

constexpr int64_t kBlock = 32;  // tiles per thread and matmul: V and M of a block stay in L2 (36 x 32 x 64 floats = 288 KB)

class WinogradConv : public ConvKernel {
 public:
  WinogradConv(const DnnlContext& ctx, const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post)
      : ctx_(ctx), g_(g), post_(post), tiling_{g.ih, g.iw, g.oh, g.ow, g.pad_top, g.pad_left},
        block_(std::min(kBlock, tiling_.tiles())) {
    std::vector<float> u(static_cast<size_t>(winograd::kPositions * g.ic * g.oc));
    winograd::transform_weights(w, g.oc, g.ic, u.data());
    gain_ = winograd::weight_gain(u.data(), g.oc, g.ic);
    bias_.assign(static_cast<size_t>(g.oc), 0.f);
    if (b) std::copy(b, b + g.oc, bias_.begin());
    // Weights whose transform overflows: every run direct (exact_for), no matmul.
    if (std::isfinite(gain_)) build_round(std::max(1, omp_get_max_threads()), u.data());
    else direct_ = make_conv(ctx, g, w, b, post, QuantConfig{});
    const memory::dims src_dims{g.n, g.ic, g.ih, g.iw}, dst_dims{g.n, g.oc, g.oh, g.ow};
    nhwc_dst_ = memory::desc(dst_dims, dt::f32, tag::nhwc);
    plain_dst_ = memory::desc(dst_dims, dt::f32, tag::nchw);
    src_.emplace(ctx, memory::desc(src_dims, dt::f32, tag::nchw), memory::desc(src_dims, dt::f32, tag::nhwc),
                 QuantConfig{});
    dst_.emplace(ctx, plain_dst_, nhwc_dst_);
    if (post.sum) residual_.emplace(ctx, plain_dst_);
  }

  void run(const float* src, float* dst) override {
    if (!exact_for(src, g_.n * g_.ic * g_.ih * g_.iw)) return direct().run(src, dst);
    float scale = 1;
    int32_t zero_point = 0;
    if (post_.sum) dst_->prefill(dst);  // the residual, in NHWC
    compute(src_->stage(src, scale, zero_point), dst_->target(dst));
    dst_->finish(dst);
    ctx_.strm.wait();
    src_->release();
  }

  void run(const Tensor& x, const Tensor* residual, bool residual_is_free, Tensor& y, const Shape& shape) override {
    float scale = 1;
    int32_t zero_point = 0;
    const memory::dims src_dims{g_.n, g_.ic, g_.ih, g_.iw};
    const DnnlNative* native = native_f32(x, src_dims);
    const bool exact = native ? exact_for(static_cast<const float*>(native->mem().get_data_handle()),
                                          static_cast<int64_t>(native->desc().get_size() / sizeof(float)))
                              : exact_for(x.f(), x.numel());
    if (!exact) return direct().run(x, residual, residual_is_free, y, shape);
    const memory src = native ? src_->stage(*native, scale, zero_point) : src_->stage(x.f(), scale, zero_point);
    std::shared_ptr<DnnlNative> out;
    if (post_.sum && residual_is_free && writable_in_place(*residual, nhwc_dst_)) {  // accumulate in its buffer
      const auto& in_place = static_cast<const DnnlNative&>(*residual->native);
      out = std::make_shared<DnnlNative>(ctx_, nhwc_dst_, plain_dst_, 1.f, 0, in_place.block());
    } else {
      out = std::make_shared<DnnlNative>(ctx_, nhwc_dst_, plain_dst_);
      if (post_.sum) residual_->copy(*residual, out->mem());
    }
    compute(src, out->mem());
    src_->release();
    y = native_tensor(shape, out);
  }

 private:
  // oneDNN's direct conv, built the first time an input needs it, from the weights restored from U
  // (no second copy of the weights while every input suits Winograd).
  ConvKernel& direct() {
    if (!direct_) {
      const memory::desc u_desc({winograd::kPositions, g_.ic, g_.oc}, dt::f32, tag::abc);
      memory plain(u_desc, ctx_.eng);
      dnnl::reorder(weights_, plain).execute(ctx_.strm, weights_, plain);
      ctx_.strm.wait();
      std::vector<float> w(static_cast<size_t>(g_.oc * g_.ic * 9));
      winograd::restore_weights(static_cast<const float*>(plain.get_data_handle()), g_.oc, g_.ic, w.data());
      direct_ = make_conv(ctx_, g_, w.data(), bias_.data(), post_, QuantConfig{});
    }
    return *direct_;
  }

  // Whether Winograd is exact on this input (winograd::exact_for): `stored` values, the logical
  // ones and a blocked layout's zero padding (zeros do not count). Read by the threads the tiles
  // will use.
  bool exact_for(const float* x, int64_t stored) const {
    if (!std::isfinite(gain_)) return false;
    constexpr int64_t kPerThread = 1 << 16;  // below this a second thread costs more than it saves
    const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), stored / kPerThread));
    std::vector<winograd::InputRange> ranges(static_cast<size_t>(threads));
    const int64_t share = (stored + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int64_t k = 0; k < threads; ++k) {
      const int64_t begin = std::min(stored, k * share), end = std::min(stored, begin + share);
      ranges[k] = winograd::input_range(x + begin, end - begin);
    }
    for (size_t k = 1; k < ranges.size(); ++k) ranges[0].merge(ranges[k]);
    return winograd::exact_for(ranges[0], gain_);
  }

  // Rounds of `threads` blocks of kBlock tiles: each thread transforms its block into its rows of
  // V (OpenMP, the runtime oneDNN is built on), one matmul (oneDNN's threads) multiplies the round,
  // each thread transforms its block's products back. oneDNN is never called inside a parallel
  // region: its kernels plan their own split over the threads when the primitive is built.
  void compute(const memory& src, const memory& dst) {
    ctx_.strm.wait();  // the staging reorder has written the source
    const float* x = static_cast<const float*>(src.get_data_handle());
    float* y = static_cast<float*>(dst.get_data_handle());
    const int64_t tiles = tiling_.tiles(), per_image = (tiles + block_ - 1) / block_, blocks = g_.n * per_image;
    const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), blocks));
    if (threads != round_threads_) build_round(threads);
    float* v = static_cast<float*>(v_.get_data_handle());
    const float* m = static_cast<const float*>(m_.get_data_handle());
    const int64_t rows = threads * block_;  // V's and M's rows per position
    for (int64_t round = 0; round < blocks; round += threads) {
      const int64_t in_round = std::min(threads, blocks - round);
#pragma omp parallel for num_threads(in_round) schedule(static, 1) if (in_round > 1)
      for (int64_t k = 0; k < in_round; ++k) {
        const int64_t b = round + k, image = b / per_image, first = b % per_image * block_;
        winograd::transform_input(x + image * g_.ih * g_.iw * g_.ic, g_.ic, tiling_, first,
                                  std::min(block_, tiles - first), rows, v + k * block_ * g_.ic);
      }
      matmul_.execute(ctx_.strm, {{DNNL_ARG_SRC, v_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, m_}});
      ctx_.strm.wait();
#pragma omp parallel for num_threads(in_round) schedule(static, 1) if (in_round > 1)
      for (int64_t k = 0; k < in_round; ++k) {
        const int64_t b = round + k, image = b / per_image, first = b % per_image * block_;
        winograd::transform_output(m + k * block_ * g_.oc, g_.oc, tiling_, first, std::min(block_, tiles - first),
                                   rows, bias_.data(), post_, y + image * g_.oh * g_.ow * g_.oc);
      }
    }
  }

  // The matmul of a round of `threads` blocks and its buffers, rebuilt when the thread count changes
  // (the weights then reordered into the layout the new matmul wants); `plain` the first time: U
  // as [36, ic, oc].
  void build_round(int64_t threads, const float* plain = nullptr) {
    const int64_t positions = winograd::kPositions, rows = threads * block_;
    const memory::desc v_desc({positions, rows, g_.ic}, dt::f32, tag::abc);
    const memory::desc m_desc({positions, rows, g_.oc}, dt::f32, tag::abc);
    const memory::desc u_desc({positions, g_.ic, g_.oc}, dt::f32, tag::abc);
    dnnl::matmul::primitive_desc pd(ctx_.eng, v_desc, memory::desc({positions, g_.ic, g_.oc}, dt::f32, tag::any),
                                    m_desc);
    if (plain) {
      weights_ = prepare_weights(ctx_, u_desc, plain, pd.weights_desc());
    } else if (pd.weights_desc() != weights_.get_desc()) {
      memory moved(pd.weights_desc(), ctx_.eng);
      dnnl::reorder(weights_, moved).execute(ctx_.strm, weights_, moved);
      ctx_.strm.wait();
      weights_ = moved;
    }
    matmul_ = dnnl::matmul(pd);
    v_ = memory(v_desc, ctx_.eng);
    m_ = memory(m_desc, ctx_.eng);
    round_threads_ = threads;
  }

  const DnnlContext& ctx_;
  ConvGeometry g_;
  ConvPostOps post_;
  winograd::Tiling tiling_;
  int64_t block_;  // tiles per thread and round: kBlock, or all of a smaller image's
  dnnl::matmul matmul_;
  memory weights_, v_, m_;
  int64_t round_threads_ = 0;
  std::vector<float> bias_;
  memory::desc nhwc_dst_, plain_dst_;
  std::optional<SourceStage> src_;
  std::optional<DestinationStage> dst_;
  std::optional<ResidualStage> residual_;
  double gain_ = 0;                      // winograd::weight_gain of U
  std::unique_ptr<ConvKernel> direct_;  // for the inputs Winograd is not exact on (see direct())
};

}  // namespace

bool winograd_fits(const ConvGeometry& g, const ConvPostOps& post, const QuantConfig& q) {
  if (!winograd::enabled() || !winograd::shape_fits(g, q) || g.ic < 32 || g.oc < 32 || g.oh < 8 || g.ow < 8)
    return false;
  if (winograd::forced()) return true;
  // dnnl_cpu_isa_avx512_core_amx (0xfef) has bits 0xe00 over avx512_core_fp16 (0x1ef).
  const bool amx = (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & 0xe00u) == 0xe00u;
  if (amx) return g.ic >= 64 && g.oc >= 64 && g.oh * g.ow >= 1600;
  return g.oh * g.ow >= 400 || g.ic >= 128;
}

std::unique_ptr<ConvKernel> make_winograd_conv(const DnnlContext& ctx, const ConvGeometry& g, const float* weights,
                                               const float* bias, const ConvPostOps& post) {
  return std::make_unique<WinogradConv>(ctx, g, weights, bias, post);
}

}  // namespace edgequant::engine::onednn
