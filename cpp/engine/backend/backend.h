// The compute backend interface. Ops own their shapes and attributes and ask a backend for a
// kernel built once per input shape (the kernel caches whatever the backend prepares: primitives,
// reordered weights, memory formats). The implementations are listed in backend/registry.h:
// `reference` (plain C++ loops written from the ONNX definitions, the yardstick for tests) and
// `onednn` (x86-64, backend/onednn/). A new backend (the portable INT8 kernels of 64-bit ARM)
// implements conv / dense / pool and may reuse the portable float kernels of
// backend/portable_kernels.h for the optional ones.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/int8_support.h"
#include "graph/quant_config.h"  // QuantConfig, QuantizedWeights, Int8Traits
#include "graph/tensor.h"

namespace edgequant::engine {

// An elementwise activation applied to a kernel's output (oneDNN post-op, or a loop).
// hardsigmoid: min(1, max(0, alpha·x + beta)); hardswish: x · hardsigmoid(x) (ONNX's HardSwish is
// alpha = 1/6, beta = 0.5); swish: x · sigmoid(x); gelu: x · Phi(x) (ONNX's Gelu, erf form). Then, where scale != 1 or shift != 0,
// y · scale + shift (two roundings, no FMA): a constant Mul / Add after the activation, folded in.
struct Activation {
  enum class Kind { none, relu, clip, swish, hardsigmoid, hardswish, gelu } kind = Kind::none;
  float lo = 0, hi = 0;        // clip bounds
  float alpha = 0, beta = 0;   // hardsigmoid / hardswish
  float scale = 1, shift = 0;  // the affine step after it
  bool has_affine() const { return scale != 1.f || shift != 0.f; }
};
float apply_activation(const Activation& act, float x);

// What a conv kernel applies to its result, in order: `activation`; if `sum`, adds the tensor its
// destination holds on entry (a residual: Conv+Add fused, oneDNN's sum post-op); `after_sum`.
struct ConvPostOps {
  Activation activation;
  bool sum = false;
  Activation after_sum;
};

// 2-D convolution geometry (a 1-D conv is a 2-D one with height 1). Weights [oc, ic/g, kh, kw].
struct ConvGeometry {
  int64_t n, ic, ih, iw, oc, oh, ow, kh, kw;
  int64_t stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w, groups;
};

struct PoolGeometry {
  enum class Kind { max, average } kind;
  bool count_include_pad;
  int64_t n, c, ih, iw, oh, ow, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right;
};

// Whether every pooling window holds at least one input element (the first and the last window
// of each axis suffice): a max over codes then has a code to give.
inline bool every_window_has_input(const PoolGeometry& g) {
  auto covered = [](int64_t out, int64_t stride, int64_t pad, int64_t window, int64_t in) {
    return out == 0 || (window - pad > 0 && (out - 1) * stride - pad < in);
  };
  return covered(g.oh, g.stride_h, g.pad_top, g.kh, g.ih) && covered(g.ow, g.stride_w, g.pad_left, g.kw, g.iw);
}

class ConvKernel {
 public:
  virtual ~ConvKernel() = default;
  // NCHW in and out. A kernel built with a sum post-op reads the residual from `dst` on entry.
  virtual void run(const float* src, float* dst) = 0;
  // Tensor form: `src` and `residual` (sum kernels only, of `dst_shape`) may hold backend-native
  // data, `dst` may be left in the backend's layout (Tensor::native). `residual_is_free`: nothing
  // reads the residual after this run, so its buffer may become the output. Default: plain data.
  virtual void run(const Tensor& src, const Tensor* residual, bool residual_is_free, Tensor& dst,
                   const Shape& dst_shape) {
    dst = Tensor::zeros_f32(dst_shape, "conv output");
    if (residual) std::copy(residual->f(), residual->f() + dst.numel(), dst.f());
    run(src.f(), dst.f());
  }
  // Whether a later op reads the next run's source too: a kernel that converts the source into
  // another layout may then leave the copy with it (Tensor::converted) for that reader.
  virtual void share_converted_source(bool /*read_later*/) {}
};

// y[m, :] = act(x[m, :] · Wᵀ + b), W is [n, k].
class DenseKernel {
 public:
  virtual ~DenseKernel() = default;
  virtual void run(const float* src, float* dst) = 0;
};

class PoolKernel {
 public:
  virtual ~PoolKernel() = default;
  virtual void run(const float* src, float* dst) = 0;  // NCHW in and out
  // Tensor form, as ConvKernel's.
  virtual void run(const Tensor& src, Tensor& dst, const Shape& dst_shape) {
    dst = Tensor::zeros_f32(dst_shape, "pool output");
    run(src.f(), dst.f());
  }
};

// Softmax (or LogSoftmax) over axis 1 of a plain [outer, len, inner] float32 tensor.
class SoftmaxKernel {
 public:
  virtual ~SoftmaxKernel() = default;
  virtual void run(const float* src, float* dst) = 0;
};

// An elementwise float32 function over `count` plain values.
class UnaryKernel {
 public:
  virtual ~UnaryKernel() = default;
  virtual void run(const float* src, float* dst, int64_t count) = 0;
};

// Concatenation of tensors in the backend's own layout (Tensor::native). run() returns false,
// leaving `dst` alone, where it does not apply (plain inputs, unsupported shapes).
class ConcatKernel {
 public:
  virtual ~ConcatKernel() = default;
  virtual bool run(const std::vector<const Tensor*>& src, int axis, const Shape& dst_shape, Tensor& dst) = 0;
};

// Split of a tensor in the backend's own layout (Tensor::native) along `axis` into parts of
// `sizes`, the parts left in that layout. run() returns false, leaving `dst` alone, where it does
// not apply (plain input, split points inside a channel block).
class SplitKernel {
 public:
  virtual ~SplitKernel() = default;
  virtual bool run(const Tensor& src, int axis, const std::vector<int64_t>& sizes, std::vector<Tensor>& dst) = 0;
};

// Channels picked from a 4-D tensor [N, C, H, W] in the backend's own layout: y[n, c, h, w] =
// x[n, sources[c], h, w], y in that layout too (the halves of an exported channel shuffle, which
// would otherwise leave the layout and come back). run() returns false, leaving `dst` alone, where
// it does not apply (plain input).
class ChannelPickKernel {
 public:
  virtual ~ChannelPickKernel() = default;
  virtual bool run(const Tensor& src, const std::vector<int64_t>& sources, Tensor& dst) = 0;
};

// Add / Sub / Mul of float32 tensors where one or both lie in the backend's own layout: two tensors
// of one layout element by element, or a 4-D one [N, C, H, W] with a plain value per channel (either
// side); the result in that layout (an exported squeeze-excite block x + x·s(x) stays there for the
// conv after it). op is '+', '-' or '*'; or 'p', PRelu of a (in the layout) with slopes b per channel:
// a < 0 ? b·a : a (MTCNN's and other face models' PReLUs between convs and pools). run() returns
// false where it does not apply.
class LayoutArithmeticKernel {
 public:
  virtual ~LayoutArithmeticKernel() = default;
  virtual bool run(char op, const Tensor& a, const Tensor& b, Tensor& dst) = 0;
};

// Nearest-neighbour resize of a 4-D tensor in the backend's own layout: output row r reads input
// row rows[r], column c reads cols[c]. run() returns false where it does not apply.
class ResizeKernel {
 public:
  virtual ~ResizeKernel() = default;
  virtual bool run(const Tensor& src, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
                   Tensor& dst) = 0;
};

// A quantized model's Add of two u8 tensors held in the backend's own layout (ops/code_add.cpp), the
// output in that layout, on the grid (output_scale, the arithmetic's output zero point). run()
// returns false, leaving `dst` alone, where it does not apply (plain codes, shapes that differ).
struct CodeAddition;
class CodeAddKernel {
 public:
  virtual ~CodeAddKernel() = default;
  virtual bool run(const Tensor& a, const Tensor& b, float output_scale, Tensor& dst) = 0;
};

// A quantized model's average pool of u8 codes held in the backend's own layout
// (ops/code_average_pool.cpp): TFLite's integer average — the file's codes c = q + qmin of each
// window's taps inside the input summed, divided by their count, half steps away from zero — the
// output in that layout on the input's grid. run() returns false, leaving `dst` alone, where it does
// not apply (plain codes).
class CodeAveragePoolKernel {
 public:
  virtual ~CodeAveragePoolKernel() = default;
  virtual bool run(const Tensor& x, Tensor& dst) = 0;
};

// What a backend may want to know of the whole model before it builds any kernel.
struct ModelTraits {
  // The model has depthwise convolutions (one input channel per group, several groups): a network
  // of depthwise and pointwise layers (MobileNet, ShuffleNet, EfficientNet-lite ...).
  bool depthwise_convs = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Called once, before the first kernel is built; kernels may be chosen for the whole model.
  virtual void describe_model(const ModelTraits&) {}
  virtual std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* weights, const float* bias,
                                           const ConvPostOps& post, const QuantConfig& q) = 0;
  virtual std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* weights,
                                             const float* bias, const Activation& act, const QuantConfig& q) = 0;
  virtual std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) = 0;
  // Optional kernels: nullptr where the backend has none, and the op runs its own loop, the
  // reference written from the ONNX definition (the reference backend offers none, so tests hold
  // every other backend's kernels against those loops). Ops ask once per input shape.
  virtual std::unique_ptr<SoftmaxKernel> softmax(int64_t outer, int64_t len, int64_t inner, bool log) {
    return nullptr;
  }
  virtual std::unique_ptr<UnaryKernel> sigmoid() { return nullptr; }
  virtual std::unique_ptr<ConcatKernel> concat() { return nullptr; }
  virtual std::unique_ptr<SplitKernel> split() { return nullptr; }
  virtual std::unique_ptr<ResizeKernel> resize() { return nullptr; }
  virtual std::unique_ptr<ChannelPickKernel> channel_pick() { return nullptr; }
  virtual std::unique_ptr<LayoutArithmeticKernel> layout_arithmetic() { return nullptr; }
  virtual std::unique_ptr<CodeAddKernel> code_add(const CodeAddition& /*arithmetic*/) { return nullptr; }
  virtual std::unique_ptr<CodeAveragePoolKernel> code_average_pool(const PoolGeometry& /*g*/, int32_t /*qmin*/) {
    return nullptr;
  }
  // A plain float32 image batch [N, H, W, C] seen as its transpose [N, C, H, W] (`nchw`; the Transpose a
  // TFLite-derived model starts with) held in the backend's own layout where that is NHWC: the values
  // copied as they lie, no transpose there and back. Null where the backend has no such layout.
  virtual std::shared_ptr<NativeData> from_nhwc(const float* /*values*/, const Shape& /*nchw*/) { return nullptr; }
  // c[m, n] = a[m, k] · b[k, n], float32, row-major with leading dimensions: a plain GEMM on data as
  // it lies (ConvTranspose's products, where a 1x1 conv would reorder NCHW in and out). False where
  // the backend has none (nothing is written).
  virtual bool gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc) {
    return false;
  }
  // Called after each run, every tensor of it released: pooled memory the run did not use is freed.
  virtual void end_run() {}
  // After a mode change: drops what the backend caches for kernels that no longer exist.
  virtual void release_cached() {}
  // Threads for the next runs on the calling thread; 0 = all cores.
  virtual void set_threads(int threads) {}
};

}  // namespace edgequant::engine
