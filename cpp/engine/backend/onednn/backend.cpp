// The oneDNN backend (x86-64). Each kernel builds its primitive once per shape, lets oneDNN choose
// the memory formats (format_tag::any), reorders the constant weights once, and keeps cached
// reorder primitives and buffers for activations, which the graph keeps in plain NCHW. INT8
// kernels quantize their input with a reorder that takes the activation scale / zero point as
// run-time arguments, so one primitive serves static and dynamic quantization alike.
#include <algorithm>

#include "backend/onednn/dnnl_common.h"
#include "backend/portable_kernels.h"
#include "backend/registry.h"
#include "common/error.h"

extern "C" void omp_set_num_threads(int);  // libiomp5: the threading runtime of this oneDNN build
extern "C" int omp_get_num_procs();

namespace edgequant::engine {
namespace onednn {
namespace {

// oneDNN reports unsupported configurations as dnnl::error; the engine speaks InvalidArgument.
template <class F>
auto translate_errors(const char* what, F&& make) {
  try {
    return make();
  } catch (const dnnl::error& e) {
    throw InvalidArgument(std::string("oneDNN could not build a ") + what + " primitive: " + e.what());
  }
}

class OnednnBackend : public Backend {
 public:
  std::string name() const override { return "onednn"; }
  // The block of the CPU's vector width: dnnl_cpu_isa_avx512_core has bit 0x20 (AVX2 kernels take 8).
  void describe_model(const ModelTraits& traits) override {
    const bool avx512 = static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & 0x20u;
    ctx_.blocked_f32_convs = traits.depthwise_convs ? (avx512 ? 16 : 8) : 0;
  }
  std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
                                   const QuantConfig& q) override {
    auto build = [this, g, post, q](const float* weights, const float* bias) {
      return translate_errors("convolution", [&]() -> std::unique_ptr<ConvKernel> {
        if (winograd_fits(g, post, q)) return make_winograd_conv(ctx_, g, weights, bias, post);
        return make_conv(ctx_, g, weights, bias, post, q);
      });
    };
    if (is_channel_sum(g, post, q)) return make_channel_sum_conv(g, w, b, build);
    return build(w, b);
  }
  std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                     const Activation& act, const QuantConfig& q) override {
    return translate_errors("matmul", [&] { return make_dense(ctx_, m, k, n, w, b, act, q); });
  }
  std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) override {
    return translate_errors("pooling", [&] { return make_pool(ctx_, g); });
  }
  // The portable vectorised kernels: the any-axis softmax replaced oneDNN's softmax primitive here
  // (YOLOv8's DFL softmax runs on axis 1 of [N, 16, 4, A]); the sigmoid covers its class scores.
  std::unique_ptr<SoftmaxKernel> softmax(int64_t outer, int64_t len, int64_t inner, bool log) override {
    return make_portable_softmax(outer, len, inner, log);
  }
  std::unique_ptr<UnaryKernel> sigmoid() override { return make_portable_sigmoid(); }
  std::unique_ptr<ConcatKernel> concat() override { return make_concat(ctx_); }
  std::unique_ptr<SplitKernel> split() override { return make_split(ctx_); }
  std::unique_ptr<ResizeKernel> resize() override { return make_resize(ctx_); }
  std::unique_ptr<ChannelPickKernel> channel_pick() override { return make_channel_pick(ctx_); }
  std::unique_ptr<LayoutArithmeticKernel> layout_arithmetic() override { return make_layout_arithmetic(ctx_); }
  std::unique_ptr<CodeAddKernel> code_add(const CodeAddition& arithmetic) override {
    return make_code_add(ctx_, arithmetic);
  }
  bool gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
            int64_t ldc) override {
    if (m == 0 || n == 0) return true;
    if (k == 0) {  // oneDNN's sgemm wants k >= 1: an empty sum
      for (int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, 0.f);
      return true;
    }
    const dnnl_status_t status = dnnl_sgemm('N', 'N', m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
    if (status != dnnl_success) throw InvalidArgument("oneDNN's sgemm failed (status " + std::to_string(status) + ")");
    return true;
  }
  void end_run() override { ctx_.pool->trim(); }
  // No release_cached(): emptying oneDNN's process-wide primitive cache (capacity to 0 and back)
  // saved ~2 MB after calibration but leaked ~35 KB of native memory per primitive rebuilt
  // afterwards (every Engine created and destroyed), and evicted other engines' kernels. The cache
  // is bounded by its capacity (ONEDNN_PRIMITIVE_CACHE_CAPACITY, default 1024 primitives).
  void set_threads(int threads) override { omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs()); }

 private:
  DnnlContext ctx_;
};

}  // namespace
}  // namespace onednn

// Without VNNI (AVX2, AVX-512 before Cascade Lake: AMD Zen 1–3, Intel Haswell–Skylake) oneDNN's
// INT8 kernels multiply u8 by s8 with vpmaddubsw, which adds each pair of products in saturating
// 16 bits: 255·127·2 > 32,767, so full-range weights give silently wrong sums (oneDNN's "Nuances of
// int8 computations"). 7-bit weights keep every pair within 255·128 = 32,640. The ISA bits:
// dnnl_cpu_isa_avx2_vnni (0x8) and dnnl_cpu_isa_avx512_core_vnni (0x40) and every ISA above them.
int onednn_int8_weight_bits() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const bool vnni = (isa & 0x8u) || (isa & 0x40u);
  return vnni ? 8 : 7;
}

BackendInfo onednn_backend_info() {
  return {"onednn", "oneDNN primitives (x86-64): blocked layouts, fused post-ops, INT8",
          [] { return std::unique_ptr<Backend>(std::make_unique<onednn::OnednnBackend>()); },
          onednn_int8_weight_bits};
}

}  // namespace edgequant::engine
