// What the oneDNN kernels share: the engine / stream / activation pool of one backend, the
// native tensor (data left in a primitive's layout), post-op and INT8 attribute helpers, and the
// factories of the kernels, one file per primitive family. Internal to backend/onednn/.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/buffer_pool.h"
#include "backend/int8_support.h"

namespace edgequant::engine::onednn {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// The reorders that convert native tensors to plain ones, by (from, to, quantized): made once per
// layout and shape rather than per run (making one costs about as much as running a small layer).
class ReorderCache {
 public:
  // Reorders `from` into `dst`, laid out as `to`; a u8 source holds s·(q − z) for (scale, zero_point).
  void run(const dnnl::engine& eng, dnnl::stream& strm, const memory& from, const memory::desc& to, void* dst,
           bool quantized, float scale, int32_t zero_point);

 private:
  struct Entry {
    memory::desc from, to;
    bool quantized;
    dnnl::reorder reorder;
    // Kept with the primitive and repointed per call: building them costs allocations in oneDNN.
    memory out, scale, zero_point;
    std::unordered_map<int, memory> args;
  };
  Entry& entry(const dnnl::engine& eng, const memory::desc& from, const memory::desc& to, bool quantized);
  std::mutex mutex_;
  std::vector<Entry> entries_;  // a handful: the graph outputs, the Concats' inputs ...
};

struct DnnlContext {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  mutable dnnl::stream strm{eng};  // handles: waiting on a stream does not change the context
  std::shared_ptr<BufferPool> pool = std::make_shared<BufferPool>();  // activations (DnnlNative)
  std::shared_ptr<ReorderCache> reorders = std::make_shared<ReorderCache>();
  // Channels per block (16 with AVX-512, else 8) in which float32 convs keep their activations
  // instead of letting oneDNN choose; 0: oneDNN chooses. Set for networks of depthwise and pointwise
  // layers (conv.cpp says why).
  int blocked_f32_convs = 0;
};

void append_activation(dnnl::post_ops& ops, const Activation& act);
dnnl::primitive_attr attr_with_activation(const Activation& act);
// `sum_scale` / `sum_zero_point`: how the destination's previous (u8) contents read as real values.
// `bias`: where given, a per-channel addend applied first, as post-op 0 (conv.cpp says why).
dnnl::primitive_attr attr_with_post_ops(const ConvPostOps& post, float sum_scale = 1.f, int32_t sum_zero_point = 0,
                                        const memory::desc* bias = nullptr);

// Moves `pd` past kernels of oneDNN 3.2 that write outside their buffers: the INT8 1x1 conv for AMX
// (jit_1x1:avx512_core_amx) overruns its NHWC source / destination at 27, 33, 36, 39 ... 48 pixels
// (a 6x6 map: MediaPipe's palm detector; measured against guard pages), which corrupts the heap.
// The next kernel oneDNN offers (jit:avx512_core_amx) runs every such shape. No-op elsewhere.
void skip_faulty_kernels(dnnl::convolution_forward::primitive_desc& pd);

// A tensor left in a primitive's layout, its memory a block of the backend's pool (back there
// when the last reader releases it); the engine and stream handles are kept (reference counted),
// so the data stays readable whatever happens to the kernel that made it. Kernels make a new one
// per run: holding none between runs is what lets blocks move between layers.
class DnnlNative : public NativeData {
 public:
  // `desc` f32, or u8 holding s·(q − z) for (scale, zero_point) = (s, z).
  DnnlNative(const DnnlContext& ctx, const memory::desc& desc, const memory::desc& plain, float scale = 1,
             int32_t zero_point = 0)
      : DnnlNative(ctx, desc, plain, scale, zero_point, ctx.pool->acquire(desc.get_size())) {
    pool_ = ctx.pool;
  }
  // Over an existing block (a conv accumulating into its residual's buffer).
  DnnlNative(const DnnlContext& ctx, const memory::desc& desc, const memory::desc& plain, float scale,
             int32_t zero_point, std::shared_ptr<void> block)
      : eng_(ctx.eng), strm_(ctx.strm), reorders_(ctx.reorders), block_(std::move(block)),
        mem_(desc, ctx.eng, block_.get()), desc_(desc), type_(desc.get_data_type()), plain_(plain), scale_(scale),
        zero_point_(zero_point) {}
  const std::shared_ptr<void>& block() const { return block_; }
  // The conversion is built on first use: most native tensors never leave the backend.
  void to_plain(float* dst) const override;
  // Where `row` is the size of a trailing group of the dims: one reorder into the strided rows.
  bool to_plain_rows(float* dst, int64_t row, int64_t row_stride) const override;
  bool to_plain_codes(uint8_t* dst) const override;
  std::shared_ptr<NativeData> with_codes_mapped(const uint8_t* tables, int64_t channels, float scale,
                                                int32_t zero_point) const override;
  std::string layout() const override;
  const memory& mem() const { return mem_; }
  // Kept: memory::get_desc() clones the descriptor on the heap at every call.
  const memory::desc& desc() const { return desc_; }
  const memory::desc& plain() const { return plain_; }  // the float32 NCHW form of the same dims
  bool quantized() const { return type_ != dt::f32; }
  bool is_f32() const { return !quantized(); }
  float scale() const { return scale_; }
  int32_t zero_point() const { return zero_point_; }

 private:
  dnnl::engine eng_;
  mutable dnnl::stream strm_;
  std::shared_ptr<ReorderCache> reorders_;
  std::shared_ptr<BufferPool> pool_;  // where a mapped copy's block comes from (null: over a given block)
  std::shared_ptr<void> block_;
  memory mem_;
  memory::desc desc_;
  dt type_;
  memory::desc plain_;
  float scale_;
  void reorder_to(const memory::desc& to, float* dst) const;
  int32_t zero_point_;
};

// The engine's tensor of `shape` over native data: float32, or u8 codes read through their (scale,
// zero point) (Tensor::quant), as the INT8 plan passes them between layers.
inline Tensor native_tensor(const Shape& shape, std::shared_ptr<DnnlNative> data) {
  Tensor t;
  t.shape = shape;
  if (data->quantized()) {
    t.dtype = DType::u8;
    t.quant = QuantParams::per_tensor(data->scale(), data->zero_point());
  }
  t.native = std::move(data);
  return t;
}

// A native tensor usable as float32 source of `dims` (u8 ones are read through Tensor::f()).
const DnnlNative* native_f32(const Tensor& t, const memory::dims& dims);
// The 4-D layouts native tensors take, as a tag (nullopt for any other).
std::optional<tag> layout_tag(const memory::desc& desc);
// Concats and Resizes of native tensors that write at least this many bytes run over the engine's
// threads (OpenMP, the runtime oneDNN uses). Measured at 2 threads: YOLOv8n's 640x640 neck gains
// (Concats 3.5 -> 2.6 ms a run); ShuffleNetV2's 64-360 KB channel gathers did not, so they stay serial.
constexpr int64_t kParallelCopyBytes = int64_t{256} << 10;
// Elements of a pixel-vector in a 4-D layout [N][blocks][H][W][width]: 16 (nChw16c), 8 (nChw8c) or
// the channel count (NHWC, one block); nullopt for plain NCHW and other layouts.
std::optional<int64_t> pixel_vector_width(const memory::desc& desc);

// Quantization arguments shared by conv and matmul: src scale / zero point, weight scales.
struct Int8Arguments {
  memory src_scale, src_zero_point, weight_scales;
  void init(const DnnlContext& ctx, const std::vector<float>& scales) {
    src_scale = memory({{1}, dt::f32, tag::x}, ctx.eng);
    src_zero_point = memory({{1}, dt::s32, tag::x}, ctx.eng);
    weight_scales = memory({{static_cast<int64_t>(scales.size())}, dt::f32, tag::x}, ctx.eng);
    std::copy(scales.begin(), scales.end(), static_cast<float*>(weight_scales.get_data_handle()));
  }
  void add_to(std::unordered_map<int, memory>& args, float scale, int32_t zero_point) {
    *static_cast<float*>(src_scale.get_data_handle()) = scale;
    *static_cast<int32_t*>(src_zero_point.get_data_handle()) = zero_point;
    args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC] = src_scale;
    args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS] = weight_scales;
    args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src_zero_point;
  }
};

void add_int8_attributes(dnnl::primitive_attr& attr, int weight_mask);
// Constant weights, reordered once into the layout the primitive wants.
memory prepare_weights(const DnnlContext& ctx, const memory::desc& plain, const void* data, const memory::desc& wanted);

// The kernels, one file per primitive family. They throw dnnl::error on configurations oneDNN
// does not support (the backend translates it).
std::unique_ptr<ConvKernel> make_conv(const DnnlContext& ctx, const ConvGeometry& g, const float* weights,
                                      const float* bias, const ConvPostOps& post, const QuantConfig& q);
// Float32 3x3 stride-1 convs by Winograd F(4x4, 3x3) where that is faster (winograd_conv.cpp).
bool winograd_fits(const ConvGeometry& g, const ConvPostOps& post, const QuantConfig& q);
std::unique_ptr<ConvKernel> make_winograd_conv(const DnnlContext& ctx, const ConvGeometry& g, const float* weights,
                                               const float* bias, const ConvPostOps& post);
std::unique_ptr<DenseKernel> make_dense(const DnnlContext& ctx, int64_t m, int64_t k, int64_t n, const float* weights,
                                        const float* bias, const Activation& act, const QuantConfig& q);
std::unique_ptr<PoolKernel> make_pool(const DnnlContext& ctx, const PoolGeometry& g);
std::unique_ptr<ConcatKernel> make_concat(const DnnlContext& ctx);
std::unique_ptr<SplitKernel> make_split(const DnnlContext& ctx);
std::unique_ptr<ChannelPickKernel> make_channel_pick(const DnnlContext& ctx);
std::unique_ptr<LayoutArithmeticKernel> make_layout_arithmetic(const DnnlContext& ctx);
std::unique_ptr<ResizeKernel> make_resize(const DnnlContext& ctx);
std::unique_ptr<CodeAddKernel> make_code_add(const DnnlContext& ctx, const CodeAddition& arithmetic);

}  // namespace edgequant::engine::onednn
