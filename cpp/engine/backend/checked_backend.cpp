// The `checked` backend: the reference backend with every kernel call checked, for tests. It
// refuses inconsistent geometry (an output size that is not the formula's, groups that do not
// divide the channels, missing weights) and fills each destination with a sentinel bit pattern
// that no arithmetic produces, so an element a kernel leaves unwritten is reported by index. A
// second registered backend: every backend-agnostic test runs on it by registration.
#include <cstring>
#include <string>

#include "backend/registry.h"
#include "common/error.h"

namespace edgequant::engine {
namespace {

constexpr uint32_t kSentinel = 0x7fa5a5a5u;  // a signalling NaN payload: never an arithmetic result

void expect(bool ok, const std::string& what) {
  if (!ok) throw InvalidArgument("checked backend: " + what);
}

void fill_sentinel(float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i, &kSentinel, sizeof(float));
}

void expect_written(const float* dst, int64_t n, const char* kernel) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, dst + i, sizeof bits);
    expect(bits != kSentinel, std::string(kernel) + " left output element " + std::to_string(i) + " of " +
                                  std::to_string(n) + " unwritten");
  }
}

// Output extent of a window over `in` padded by `pads`: floor or ceil of the division (ceil_mode).
bool extent_ok(int64_t out, int64_t in, int64_t pads, int64_t window, int64_t stride, bool ceil_allowed) {
  const int64_t span = in + pads - window;
  if (span < 0 || stride < 1) return false;
  return out == span / stride + 1 || (ceil_allowed && out == (span + stride - 1) / stride + 1);
}

class CheckedConv : public ConvKernel {
 public:
  CheckedConv(std::unique_ptr<ConvKernel> inner, const ConvGeometry& g, bool sum)
      : inner_(std::move(inner)), src_(g.n * g.ic * g.ih * g.iw), dst_(g.n * g.oc * g.oh * g.ow), sum_(sum) {}
  void run(const float* src, float* dst) override {
    expect(src || src_ == 0, "conv source is null");
    if (!sum_) fill_sentinel(dst, dst_);  // a sum kernel reads its residual from dst
    inner_->run(src, dst);
    expect_written(dst, dst_, "conv");
  }

 private:
  std::unique_ptr<ConvKernel> inner_;
  int64_t src_, dst_;
  bool sum_;
};

class CheckedDense : public DenseKernel {
 public:
  CheckedDense(std::unique_ptr<DenseKernel> inner, int64_t m, int64_t n) : inner_(std::move(inner)), dst_(m * n) {}
  void run(const float* src, float* dst) override {
    fill_sentinel(dst, dst_);
    inner_->run(src, dst);
    expect_written(dst, dst_, "dense");
  }

 private:
  std::unique_ptr<DenseKernel> inner_;
  int64_t dst_;
};

class CheckedPool : public PoolKernel {
 public:
  CheckedPool(std::unique_ptr<PoolKernel> inner, const PoolGeometry& g)
      : inner_(std::move(inner)), dst_(g.n * g.c * g.oh * g.ow) {}
  void run(const float* src, float* dst) override {
    fill_sentinel(dst, dst_);
    inner_->run(src, dst);
    expect_written(dst, dst_, "pool");
  }

 private:
  std::unique_ptr<PoolKernel> inner_;
  int64_t dst_;
};

class CheckedBackend : public Backend {
 public:
  explicit CheckedBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return "checked"; }
  void describe_model(const ModelTraits& traits) override { inner_->describe_model(traits); }

  std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
                                   const QuantConfig& q) override {
    expect(g.n >= 0 && g.ic > 0 && g.oc > 0 && g.groups > 0 && g.ic % g.groups == 0 && g.oc % g.groups == 0,
           "conv channels " + std::to_string(g.ic) + " -> " + std::to_string(g.oc) + " in " +
               std::to_string(g.groups) + " groups");
    expect(g.dilation_h >= 1 && g.dilation_w >= 1, "conv dilations below 1");
    expect(extent_ok(g.oh, g.ih, g.pad_top + g.pad_bottom, (g.kh - 1) * g.dilation_h + 1, g.stride_h, false) &&
               extent_ok(g.ow, g.iw, g.pad_left + g.pad_right, (g.kw - 1) * g.dilation_w + 1, g.stride_w, false),
           "conv output " + std::to_string(g.oh) + "x" + std::to_string(g.ow) + " is not the geometry's");
    expect(q.mode == QuantConfig::Mode::f32 ? w != nullptr : (w != nullptr || q.weights != nullptr), "conv weights missing");
    return std::make_unique<CheckedConv>(inner_->conv(g, w, b, post, q), g, post.sum);
  }
  std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                     const Activation& act, const QuantConfig& q) override {
    expect(m >= 0 && k > 0 && n > 0, "dense sizes m=" + std::to_string(m) + " k=" + std::to_string(k) +
                                         " n=" + std::to_string(n));
    expect(q.mode == QuantConfig::Mode::f32 ? w != nullptr : (w != nullptr || q.weights != nullptr), "dense weights missing");
    return std::make_unique<CheckedDense>(inner_->dense(m, k, n, w, b, act, q), m, n);
  }
  std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) override {
    expect(g.n >= 0 && g.c >= 0 && g.kh > 0 && g.kw > 0, "pool window or channels");
    expect(extent_ok(g.oh, g.ih, g.pad_top + g.pad_bottom, g.kh, g.stride_h, true) &&
               extent_ok(g.ow, g.iw, g.pad_left + g.pad_right, g.kw, g.stride_w, true),
           "pool output " + std::to_string(g.oh) + "x" + std::to_string(g.ow) + " is not the geometry's");
    return std::make_unique<CheckedPool>(inner_->pool(g), g);
  }
  // The optional kernels are the wrapped backend's (none for the reference backend).
  std::unique_ptr<SoftmaxKernel> softmax(int64_t outer, int64_t len, int64_t inner, bool log) override {
    return inner_->softmax(outer, len, inner, log);
  }
  std::unique_ptr<UnaryKernel> sigmoid() override { return inner_->sigmoid(); }
  std::unique_ptr<ConcatKernel> concat() override { return inner_->concat(); }
  std::unique_ptr<SplitKernel> split() override { return inner_->split(); }
  std::unique_ptr<CodeAddKernel> code_add(const CodeAddition& p) override { return inner_->code_add(p); }
  std::unique_ptr<CodeAveragePoolKernel> code_average_pool(const PoolGeometry& g, int32_t qmin) override {
    return inner_->code_average_pool(g, qmin);
  }
  std::unique_ptr<ResizeKernel> resize() override { return inner_->resize(); }
  std::unique_ptr<ChannelPickKernel> channel_pick() override { return inner_->channel_pick(); }
  bool gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
            int64_t ldc) override {
    expect(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldb >= n && ldc >= n, "gemm sizes or leading dimensions");
    return inner_->gemm(m, n, k, a, lda, b, ldb, c, ldc);
  }
  void end_run() override { inner_->end_run(); }
  void release_cached() override { inner_->release_cached(); }
  void set_threads(int threads) override { inner_->set_threads(threads); }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace

BackendInfo checked_backend_info() {
  return {"checked", "the reference backend with every kernel call checked (geometry, unwritten outputs): tests",
          [] { return std::unique_ptr<Backend>(std::make_unique<CheckedBackend>(make_backend("reference"))); }};
}

}  // namespace edgequant::engine
