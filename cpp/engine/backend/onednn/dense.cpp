// Dense layers (Gemm, MatMul with constant weights) as a oneDNN matmul, f32 or INT8.
#include "backend/onednn/stages.h"

namespace edgequant::engine::onednn {
namespace {

class DnnlDense : public DenseKernel {
 public:
  DnnlDense(const DnnlContext& ctx, int64_t m, int64_t k, int64_t n, const float* w, const float* b,
            const Activation& act, const QuantConfig& q)
      : ctx_(ctx), int8_(q.mode != QuantConfig::Mode::f32) {
    dnnl::primitive_attr attr = attr_with_activation(act);
    if (int8_) add_int8_attributes(attr, 0b10);  // one scale per column n of the [k, n] weights
    const dt src_type = int8_ ? dt::u8 : dt::f32, w_type = int8_ ? dt::s8 : dt::f32;
    dnnl::matmul::primitive_desc pd(ctx.eng, memory::desc({m, k}, src_type, tag::ab),
                                    memory::desc({k, n}, w_type, tag::any), memory::desc({1, n}, dt::f32, tag::ab),
                                    memory::desc({m, n}, dt::f32, tag::ab), attr);
    prim_ = dnnl::matmul(pd);
    // Our weights are [n, k] row-major: the [k, n] matrix in column-major ("ba") order.
    if (int8_) {
      const QuantizedWeights qw = q.weights ? QuantizedWeights() : quantize_weights(w, n, k, q.weight_bits);
      const QuantizedWeights& use = q.weights ? *q.weights : qw;
      weights_ = prepare_weights(ctx, memory::desc({k, n}, dt::s8, tag::ba), use.values.data(), pd.weights_desc());
      int8_args_.init(ctx, use.scales);
    } else {
      weights_ = prepare_weights(ctx, memory::desc({k, n}, dt::f32, tag::ba), w, pd.weights_desc());
    }
    bias_ = memory(pd.bias_desc(), ctx.eng);
    float* bias = static_cast<float*>(bias_.get_data_handle());
    for (int64_t c = 0; c < n; ++c) bias[c] = b ? b[c] : 0.f;
    src_.emplace(ctx, memory::desc({m, k}, dt::f32, tag::ab), pd.src_desc(), q);
    dst_desc_ = pd.dst_desc();
  }

  void run(const float* src, float* dst) override {
    float scale = 1;
    int32_t zero_point = 0;
    // The argument map and the output's memory object live across runs: only pointers change.
    if (args_.empty()) {
      dst_ = memory(dst_desc_, ctx_.eng, DNNL_MEMORY_NONE);
      args_ = {{DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, dst_}};
    }
    args_[DNNL_ARG_SRC] = src_->stage(src, scale, zero_point);
    dst_.set_data_handle(dst);
    if (int8_) int8_args_.add_to(args_, scale, zero_point);
    prim_.execute(ctx_.strm, args_);
    ctx_.strm.wait();
    src_->release();
  }

 private:
  const DnnlContext& ctx_;
  bool int8_;
  dnnl::matmul prim_;
  memory weights_, bias_, dst_;
  memory::desc dst_desc_;
  std::unordered_map<int, memory> args_;
  Int8Arguments int8_args_;
  std::optional<SourceStage> src_;
};

}  // namespace

std::unique_ptr<DenseKernel> make_dense(const DnnlContext& ctx, int64_t m, int64_t k, int64_t n, const float* weights,
                                        const float* bias, const Activation& act, const QuantConfig& q) {
  return std::make_unique<DnnlDense>(ctx, m, k, n, weights, bias, act, q);
}

}  // namespace edgequant::engine::onednn
