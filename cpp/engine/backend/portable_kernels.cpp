#include "backend/portable_kernels.h"

#include <vector>

#include "backend/fast_kernels.h"

namespace edgequant::engine {
namespace {

class PortableSoftmax : public SoftmaxKernel {
 public:
  PortableSoftmax(int64_t outer, int64_t len, int64_t inner, bool log)
      : outer_(outer), len_(len), inner_(inner), log_(log) {}
  void run(const float* src, float* dst) override { softmax_f32(src, dst, outer_, len_, inner_, log_); }

 private:
  int64_t outer_, len_, inner_;
  bool log_;
};

class PortableSigmoid : public UnaryKernel {
 public:
  void run(const float* src, float* dst, int64_t count) override { sigmoid_f32(src, dst, count); }
};

class ChannelSumConv : public ConvKernel {
 public:
  ChannelSumConv(const ConvGeometry& g, const float* w, const float* b, ConvFactory fallback)
      : g_(g), weights_(w, w + g.ic), bias_(b ? b[0] : 0.f), fallback_(std::move(fallback)) {}

  void run(const float* src, float* dst) override {
    channel_sum_f32(src, dst, g_.n, g_.ic, g_.ih * g_.iw, weights_.data(), bias_);
  }

  void run(const Tensor& src, const Tensor* residual, bool residual_is_free, Tensor& dst,
           const Shape& dst_shape) override {
    if (!src.native) return ConvKernel::run(src, residual, residual_is_free, dst, dst_shape);
    if (!native_) native_ = fallback_(weights_.data(), &bias_);
    native_->run(src, residual, residual_is_free, dst, dst_shape);
  }

 private:
  ConvGeometry g_;
  std::vector<float> weights_;
  float bias_;
  ConvFactory fallback_;
  std::unique_ptr<ConvKernel> native_;
};

}  // namespace

std::unique_ptr<SoftmaxKernel> make_portable_softmax(int64_t outer, int64_t len, int64_t inner, bool log) {
  return std::make_unique<PortableSoftmax>(outer, len, inner, log);
}

std::unique_ptr<UnaryKernel> make_portable_sigmoid() { return std::make_unique<PortableSigmoid>(); }

bool is_channel_sum(const ConvGeometry& g, const ConvPostOps& post, const QuantConfig& q) {
  return q.mode == QuantConfig::Mode::f32 && g.oc == 1 && g.groups == 1 && g.kh == 1 && g.kw == 1 &&
         g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0 && post.activation.kind == Activation::Kind::none &&
         !post.sum;
}

std::unique_ptr<ConvKernel> make_channel_sum_conv(const ConvGeometry& g, const float* weights, const float* bias,
                                                  ConvFactory fallback) {
  return std::make_unique<ChannelSumConv>(g, weights, bias, std::move(fallback));
}

}  // namespace edgequant::engine
