// The ARM backend (64-bit ARM: Raspberry Pi 5 / 4 / 3): NEON FP32 kernels and INT8 kernels on the
// dot-product instructions where the CPU has them (plain NEON otherwise), chosen at run time.
// NCHW float at the interface, except between static INT8 layers, which pass NHWC s8 codes
// (nhwc_codes.h); the kernels work on NHWC internally. INT8 outputs are bit-identical to the
// reference backend's (int8_conv.cpp says how).
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/portable_kernels.h"
#include "backend/registry.h"

namespace edgequant::engine {
namespace {

class ArmBackend : public Backend {
 public:
  std::string name() const override { return "arm"; }
  std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
                                   const QuantConfig& q) override {
    if (q.mode != QuantConfig::Mode::f32) return arm::make_int8_conv(g, w, b, post, q, threads());
    if (arm::winograd_fits_arm(g, q)) return arm::make_f32_winograd_conv(g, w, b, post, threads());
    return arm::make_f32_conv(g, w, b, post, threads());
  }
  std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                     const Activation& act, const QuantConfig& q) override {
    if (q.mode != QuantConfig::Mode::f32) return arm::make_int8_dense(m, k, n, w, b, act, q, threads());
    return arm::make_f32_dense(m, k, n, w, b, act, threads());
  }
  std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) override { return arm::make_pool(g, threads()); }
  std::unique_ptr<SoftmaxKernel> softmax(int64_t outer, int64_t len, int64_t inner, bool log) override {
    return arm::make_softmax(outer, len, inner, log);
  }
  std::unique_ptr<UnaryKernel> sigmoid() override { return arm::make_sigmoid(); }
  std::unique_ptr<ConcatKernel> concat() override { return arm::make_concat(); }
  std::unique_ptr<SplitKernel> split() override { return arm::make_split(); }
  std::unique_ptr<CodeAddKernel> code_add(const CodeAddition& p) override { return arm::make_code_add(p); }
  std::unique_ptr<CodeAveragePoolKernel> code_average_pool(const PoolGeometry& g, int32_t qmin) override {
    return arm::make_code_average_pool(g, qmin);
  }
  std::shared_ptr<NativeData> from_nhwc(const float* values, const Shape& nchw) override {
    return arm::nhwc_image(values, nchw);
  }
  // The next runs of every kernel of this backend use `threads` (0: all cores).
  void set_threads(int threads) override { threads_.set(threads); }

 private:
  arm::ThreadCount threads() const { return threads_; }
  arm::ThreadCount threads_;
};

}  // namespace

BackendInfo arm_backend_info() {
  return {"arm", "64-bit ARM NEON kernels, INT8 on the dot-product instructions where the CPU has them",
          [] { return std::unique_ptr<Backend>(std::make_unique<ArmBackend>()); }};
}

}  // namespace edgequant::engine
