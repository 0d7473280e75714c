// The oneDNN backend (x86-64). Each kernel builds its primitive once per shape, lets oneDNN choose
// the memory formats (format_tag::any), reorders the constant weights once, and keeps cached
// reorder primitives and buffers for activations, which the graph keeps in plain NCHW. INT8
// kernels quantize their input with a reorder that takes the activation scale / zero point as
// run-time arguments, so one primitive serves static and dynamic quantization alike.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/buffer_pool.h"
#include "backend/int8_support.h"
#include "common/error.h"

extern "C" void omp_set_num_threads(int);  // libiomp5: the threading runtime of this oneDNN build
extern "C" int omp_get_num_procs();

namespace edgequant::engine {

namespace {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct DnnlContext {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  mutable dnnl::stream strm{eng};  // handles: waiting on a stream does not change the context
  std::shared_ptr<BufferPool> pool = std::make_shared<BufferPool>();  // activations (DnnlNative)
};

void append_activation(dnnl::post_ops& ops, const Activation& act) {
  switch (act.kind) {
    case Activation::Kind::relu: ops.append_eltwise(dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::Kind::clip: ops.append_eltwise(dnnl::algorithm::eltwise_clip, act.lo, act.hi); break;
    case Activation::Kind::swish: ops.append_eltwise(dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
    default: break;
  }
}

dnnl::primitive_attr attr_with_activation(const Activation& act) {
  dnnl::post_ops ops;
  append_activation(ops, act);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// `sum_scale` / `sum_zero_point`: how the destination's previous (u8) contents read as real values.
dnnl::primitive_attr attr_with_post_ops(const ConvPostOps& post, float sum_scale = 1.f, int32_t sum_zero_point = 0) {
  dnnl::post_ops ops;
  append_activation(ops, post.activation);
  if (post.sum) {
    ops.append_sum(sum_scale, sum_zero_point);
    append_activation(ops, post.after_sum);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// Brings a plain float32 activation into the primitive's source layout: as is when the layouts
// agree, else through a cached reorder; for INT8 through a quantizing reorder (u8, x / s + z).
class SourceStage {
 public:
  SourceStage(const DnnlContext& ctx, const memory::desc& user, const memory::desc& wanted, const QuantConfig& q)
      : ctx_(ctx), plain_(user), wanted_(wanted), q_(q) {
    if (q.mode != QuantConfig::Mode::f32) {
      scale_ = memory({{1}, dt::f32, tag::x}, ctx.eng);
      zero_point_ = memory({{1}, dt::s32, tag::x}, ctx.eng);
    }
    prepare(user);
  }

  // Returns the memory to feed the primitive; sets the scale / zero point it was quantized with.
  memory stage(const float* src, float& scale, int32_t& zero_point) {
    return stage(memory(plain_, ctx_.eng, const_cast<float*>(src)), scale, zero_point);
  }
  // The same from a memory in any layout of the source's dims (a previous primitive's output).
  memory stage(const memory& user, float& scale, int32_t& zero_point) {
    if (user.get_desc() != user_) prepare(user.get_desc());
    if (!needed_) return user;
    block_ = ctx_.pool->acquire(wanted_.get_size());  // scratch until the primitive has run
    staged_.set_data_handle(block_.get());
    if (q_.mode != QuantConfig::Mode::f32) {
      quant::AffineParams p{q_.scale, q_.zero_point};
      if (q_.mode == QuantConfig::Mode::int8_dynamic) {
        float lo, hi;  // padding of blocked layouts is zero, and the range always holds 0
        range_of(static_cast<const float*>(user.get_data_handle()),
                 static_cast<int64_t>(user_.get_size() / sizeof(float)), lo, hi);
        p = activation_params(lo, hi);
      }
      scale = static_cast<float>(p.scale);
      zero_point = p.zero_point;
      *static_cast<float*>(scale_.get_data_handle()) = scale;
      *static_cast<int32_t*>(zero_point_.get_data_handle()) = zero_point;
    }
    if (flat_) {  // same dense layout: quantize as one flat vector (the 4-D reorder is far slower)
      memory from(flat_src_, ctx_.eng, user.get_data_handle()), to(flat_dst_, ctx_.eng, staged_.get_data_handle());
      reorder_.execute(ctx_.strm, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to},
                                   {DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST, scale_},
                                   {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zero_point_}});
      return staged_;
    }
    if (two_step_) {  // quantize in the source layout, then transpose the u8 data
      reorder_.execute(ctx_.strm, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, quantized_plain_},
                                   {DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST, scale_},
                                   {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zero_point_}});
      transpose_.execute(ctx_.strm, quantized_plain_, staged_);
      return staged_;
    }
    reorder_.execute(ctx_.strm, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, staged_},
                                 {DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST, scale_},
                                 {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zero_point_}});
    return staged_;
  }

  // The staged copy is no longer read: its block goes back to the pool.
  void release() { block_.reset(); }

 private:
  void prepare(const memory::desc& user) {
    user_ = user;
    const bool int8 = q_.mode != QuantConfig::Mode::f32;
    needed_ = int8 || user != wanted_;
    if (!needed_) return;
    dnnl::primitive_attr attr;
    if (int8) {
      attr.set_scales_mask(DNNL_ARG_DST, 0);
      attr.set_zero_points_mask(DNNL_ARG_DST, 0);
    }
    if (!staged_) staged_ = memory(wanted_, ctx_.eng, DNNL_MEMORY_NONE);
    // NCHW float32 into NHWC u8 (a graph input into an INT8 conv): the one-pass quantizing
    // reorder is slow there; quantizing to u8 NCHW and transposing the bytes is faster.
    const memory::desc nchw_u8 = user.get_ndims() == 4 ? memory::desc(user.get_dims(), dt::u8, tag::nchw) : memory::desc();
    two_step_ = int8 && user.get_ndims() == 4 && user == memory::desc(user.get_dims(), dt::f32, tag::nchw) &&
                wanted_ == memory::desc(user.get_dims(), dt::u8, tag::nhwc);
    flat_ = int8 && user.get_inner_nblks() == 0 && wanted_.get_inner_nblks() == 0 &&
            user.get_dims() == wanted_.get_dims() && user.get_padded_dims() == user.get_dims() &&
            wanted_.get_padded_dims() == wanted_.get_dims() && user.get_strides() == wanted_.get_strides() &&
            user.get_data_type() == dt::f32 && user.get_size() == wanted_.get_size() * sizeof(float) /
                                                                       memory::data_type_size(wanted_.get_data_type());
    if (flat_) {
      const memory::dim n = static_cast<memory::dim>(user.get_size() / sizeof(float));
      flat_src_ = memory::desc({n}, dt::f32, tag::a);
      flat_dst_ = memory::desc({n}, wanted_.get_data_type(), tag::a);
      reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, flat_src_, ctx_.eng, flat_dst_, attr));
      return;
    }
    if (two_step_) {
      quantized_plain_ = memory(nchw_u8, ctx_.eng);
      reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, user, ctx_.eng, nchw_u8, attr));
      transpose_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, nchw_u8, ctx_.eng, wanted_));
      return;
    }
    reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, user, ctx_.eng, wanted_, attr));
  }

  const DnnlContext& ctx_;
  memory::desc plain_, user_, wanted_;
  QuantConfig q_;
  bool needed_ = false, two_step_ = false, flat_ = false;
  memory::desc flat_src_, flat_dst_;
  std::shared_ptr<void> block_;
  memory staged_, scale_, zero_point_, quantized_plain_;
  dnnl::reorder reorder_, transpose_;
};

// A tensor left in a primitive's layout, its memory a block of the backend's pool (back there
// when the last reader releases it); the engine and stream handles are kept (reference counted),
// so the data stays readable whatever happens to the kernel that made it. Kernels make a new one
// per run: holding none between runs is what lets blocks move between layers.
class DnnlNative : public NativeData {
 public:
  // `desc` f32, or u8 holding s·(q − z) for (scale, zero_point) = (s, z).
  DnnlNative(const DnnlContext& ctx, const memory::desc& desc, const memory::desc& plain, float scale = 1,
             int32_t zero_point = 0)
      : DnnlNative(ctx, desc, plain, scale, zero_point, ctx.pool->acquire(desc.get_size())) {}
  // Over an existing block (a conv accumulating into its residual's buffer).
  DnnlNative(const DnnlContext& ctx, const memory::desc& desc, const memory::desc& plain, float scale,
             int32_t zero_point, std::shared_ptr<void> block)
      : eng_(ctx.eng), strm_(ctx.strm), block_(std::move(block)), mem_(desc, ctx.eng, block_.get()), plain_(plain),
        scale_(scale), zero_point_(zero_point) {}
  const std::shared_ptr<void>& block() const { return block_; }
  // The conversion is built on first use: most native tensors never leave the backend.
  void to_plain(float* dst) const override {
    dnnl::primitive_attr attr;
    memory scale, zero_point;
    if (quantized()) {
      attr.set_scales_mask(DNNL_ARG_SRC, 0);
      attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
      scale = memory({{1}, dt::f32, tag::x}, eng_);
      zero_point = memory({{1}, dt::s32, tag::x}, eng_);
      *static_cast<float*>(scale.get_data_handle()) = scale_;
      *static_cast<int32_t*>(zero_point.get_data_handle()) = zero_point_;
    }
    dnnl::reorder to_plain(dnnl::reorder::primitive_desc(eng_, mem_.get_desc(), eng_, plain_, attr));
    memory out(plain_, eng_, dst);
    std::unordered_map<int, memory> args{{DNNL_ARG_FROM, mem_}, {DNNL_ARG_TO, out}};
    if (quantized()) {
      args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC] = scale;
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zero_point;
    }
    to_plain.execute(strm_, args);
    strm_.wait();
  }
  const memory& mem() const { return mem_; }
  bool quantized() const { return mem_.get_desc().get_data_type() != dt::f32; }
  bool is_f32() const { return !quantized(); }
  float scale() const { return scale_; }
  int32_t zero_point() const { return zero_point_; }

 private:
  dnnl::engine eng_;
  mutable dnnl::stream strm_;
  std::shared_ptr<void> block_;
  memory mem_;
  memory::desc plain_;
  float scale_;
  int32_t zero_point_;
};

// A native tensor usable as float32 source of `dims` (u8 ones are read through Tensor::f()).
const DnnlNative* native_f32(const Tensor& t, const memory::dims& dims) {
  const auto* native = dynamic_cast<const DnnlNative*>(t.native.get());
  return native && native->is_f32() && native->mem().get_desc().get_dims() == dims ? native : nullptr;
}

// The primitive's output: written straight into the user's plain buffer when layouts agree, else
// into a cached buffer and reordered out.
class DestinationStage {
 public:
  DestinationStage(const DnnlContext& ctx, const memory::desc& user, const memory::desc& produced)
      : ctx_(ctx), user_(user), produced_(produced), needed_(user != produced) {}
  // Built on first use: kernels run on tensors (run(Tensor...)) never need it.
  memory target(float* dst) {
    if (!needed_) return memory(user_, ctx_.eng, dst);
    if (!staged_) {
      staged_ = memory(produced_, ctx_.eng);
      reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, produced_, ctx_.eng, user_));
    }
    return staged_;
  }
  // Sum post-op: the residual in `dst` goes into the primitive's layout first.
  void prefill(const float* dst) {
    if (!needed_) return;
    target(nullptr);
    if (!to_staged_) to_staged_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, user_, ctx_.eng, staged_.get_desc()));
    memory user(user_, ctx_.eng, const_cast<float*>(dst));
    to_staged_.execute(ctx_.strm, user, staged_);
  }
  void finish(float* dst) {
    if (!needed_) return;
    memory user(user_, ctx_.eng, dst);
    reorder_.execute(ctx_.strm, staged_, user);
  }

 private:
  const DnnlContext& ctx_;
  memory::desc user_, produced_;
  bool needed_;
  memory staged_;
  dnnl::reorder reorder_, to_staged_;
};

// Sum post-op: copies the residual (plain, or native in any layout, float32 or u8) into the
// destination the primitive accumulates into: a plain copy when the bytes already are what the
// destination holds, else one reorder (dequantizing a u8 source, quantizing into a u8 destination
// with the residual's own (scale, zero point)).
class ResidualStage {
 public:
  ResidualStage(const DnnlContext& ctx, const memory::desc& plain, float scale = 1, int32_t zero_point = 0)
      : ctx_(ctx), plain_(plain), scale_(scale), zero_point_(zero_point) {
    for (auto* m : {&src_scale_, &dst_scale_}) *m = memory({{1}, dt::f32, tag::x}, ctx.eng);
    for (auto* m : {&src_zero_point_, &dst_zero_point_}) *m = memory({{1}, dt::s32, tag::x}, ctx.eng);
    *static_cast<float*>(dst_scale_.get_data_handle()) = scale;
    *static_cast<int32_t*>(dst_zero_point_.get_data_handle()) = zero_point;
  }
  void copy(const Tensor& residual, const memory& dst) {
    const memory::desc& want = dst.get_desc();
    const bool to_u8 = want.get_data_type() != dt::f32;
    const auto* native = dynamic_cast<const DnnlNative*>(residual.native.get());
    if (native && native->mem().get_desc() == want &&
        (!to_u8 || (native->scale() == scale_ && native->zero_point() == zero_point_))) {
      std::memcpy(dst.get_data_handle(), native->mem().get_data_handle(), want.get_size());
      return;
    }
    memory from;
    bool from_u8 = false;
    if (native && native->mem().get_desc().get_dims() == plain_.get_dims()) {
      from = native->mem();
      from_u8 = native->quantized();
      if (from_u8) {
        *static_cast<float*>(src_scale_.get_data_handle()) = native->scale();
        *static_cast<int32_t*>(src_zero_point_.get_data_handle()) = native->zero_point();
      }
    } else {
      from = memory(plain_, ctx_.eng, const_cast<float*>(residual.f()));
      if (!to_u8 && want == plain_) {
        std::memcpy(dst.get_data_handle(), from.get_data_handle(), want.get_size());
        return;
      }
    }
    if (!reorder_ || from.get_desc() != from_ || want != to_) {
      from_ = from.get_desc();
      to_ = want;
      dnnl::primitive_attr attr;
      if (from_u8) {
        attr.set_scales_mask(DNNL_ARG_SRC, 0);
        attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
      }
      if (to_u8) {
        attr.set_scales_mask(DNNL_ARG_DST, 0);
        attr.set_zero_points_mask(DNNL_ARG_DST, 0);
      }
      reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, from_, ctx_.eng, to_, attr));
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, dst}};
    if (from_u8) {
      args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC] = src_scale_;
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src_zero_point_;
    }
    if (to_u8) {
      args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST] = dst_scale_;
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst_zero_point_;
    }
    reorder_.execute(ctx_.strm, args);
  }

 private:
  const DnnlContext& ctx_;
  memory::desc plain_, from_, to_;  // from_ / to_: the cached reorder's (the data type tells u8)
  float scale_;
  int32_t zero_point_;
  memory src_scale_, src_zero_point_, dst_scale_, dst_zero_point_;
  dnnl::reorder reorder_;
};

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

void add_int8_attributes(dnnl::primitive_attr& attr, int weight_mask) {
  attr.set_scales_mask(DNNL_ARG_SRC, 0);
  attr.set_scales_mask(DNNL_ARG_WEIGHTS, weight_mask);
  attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
}

// Constant weights, reordered once into the layout the primitive wants.
memory prepare_weights(const DnnlContext& ctx, const memory::desc& plain, const void* data, const memory::desc& wanted) {
  memory user(plain, ctx.eng, const_cast<void*>(data));
  memory out(wanted, ctx.eng);
  dnnl::reorder(user, out).execute(ctx.strm, user, out);
  ctx.strm.wait();
  return out;
}

class DnnlConv : public ConvKernel {
 public:
  DnnlConv(const DnnlContext& ctx, const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
           const QuantConfig& q)
      : ctx_(ctx), int8_(q.mode != QuantConfig::Mode::f32), q_(q), sum_(post.sum) {
    const memory::dims src_dims{g.n, g.ic, g.ih, g.iw}, dst_dims{g.n, g.oc, g.oh, g.ow};
    const bool grouped = g.groups > 1;
    const memory::dims w_dims = grouped ? memory::dims{g.groups, g.oc / g.groups, g.ic / g.groups, g.kh, g.kw}
                                        : memory::dims{g.oc, g.ic, g.kh, g.kw};
    const tag w_plain = grouped ? tag::goihw : tag::oihw;
    const dt src_type = int8_ ? dt::u8 : dt::f32, w_type = int8_ ? dt::s8 : dt::f32;
    dnnl::primitive_attr attr;
    quantize_output_ = int8_ && q.mode == QuantConfig::Mode::int8_static && q.quantize_output;
    // A u8 destination holds the residual as u8 with its own parameters, read back by the sum.
    if (quantize_output_ && post.sum) attr = attr_with_post_ops(post, q.residual_scale, q.residual_zero_point);
    else attr = attr_with_post_ops(post);
    if (int8_) add_int8_attributes(attr, grouped ? 0b11 : 0b1);
    if (quantize_output_) {
      attr.set_scales_mask(DNNL_ARG_DST, 0);
      attr.set_zero_points_mask(DNNL_ARG_DST, 0);
      out_scale_ = q.output_scale;
      out_zero_point_ = q.output_zero_point;
      dst_scale_ = memory({{1}, dt::f32, tag::x}, ctx.eng);
      dst_zero_point_ = memory({{1}, dt::s32, tag::x}, ctx.eng);
      *static_cast<float*>(dst_scale_.get_data_handle()) = out_scale_;
      *static_cast<int32_t*>(dst_zero_point_.get_data_handle()) = out_zero_point_;
    }
    dnnl::convolution_forward::primitive_desc pd(
        ctx.eng, dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src_dims, src_type, tag::any), memory::desc(w_dims, w_type, tag::any),
        memory::desc({g.oc}, dt::f32, tag::x), memory::desc(dst_dims, quantize_output_ ? dt::u8 : dt::f32, tag::any),
        {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1}, {g.pad_top, g.pad_left},
        {g.pad_bottom, g.pad_right}, attr);
    prim_ = dnnl::convolution_forward(pd);
    const int64_t per_oc = g.ic / g.groups * g.kh * g.kw;
    if (int8_) {
      const QuantizedWeights qw = q.weights ? QuantizedWeights() : quantize_weights(w, g.oc, per_oc);
      const QuantizedWeights& use = q.weights ? *q.weights : qw;
      weights_ = prepare_weights(ctx, memory::desc(w_dims, dt::s8, w_plain), use.values.data(), pd.weights_desc());
      int8_args_.init(ctx, use.scales);
    } else {
      weights_ = prepare_weights(ctx, memory::desc(w_dims, dt::f32, w_plain), w, pd.weights_desc());
    }
    bias_ = memory(pd.bias_desc(), ctx.eng);
    float* bias = static_cast<float*>(bias_.get_data_handle());
    for (int64_t c = 0; c < g.oc; ++c) bias[c] = b ? b[c] : 0.f;
    src_.emplace(ctx, memory::desc(src_dims, dt::f32, tag::nchw), pd.src_desc(), q);
    if (quantize_output_) {  // the plain-pointer run() writes float32: a second primitive
      dnnl::primitive_attr f32_attr = attr_with_post_ops(post);
      add_int8_attributes(f32_attr, grouped ? 0b11 : 0b1);
      dnnl::convolution_forward::primitive_desc f32_pd(
          ctx.eng, dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, pd.src_desc(),
          pd.weights_desc(), memory::desc({g.oc}, dt::f32, tag::x), memory::desc(dst_dims, dt::f32, tag::any),
          {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1}, {g.pad_top, g.pad_left},
          {g.pad_bottom, g.pad_right}, f32_attr);
      f32_prim_ = dnnl::convolution_forward(f32_pd);
      dst_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), f32_pd.dst_desc());
    } else {
      dst_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), pd.dst_desc());
    }
    if (sum_)
      residual_.emplace(ctx, memory::desc(dst_dims, dt::f32, tag::nchw), q.residual_scale, q.residual_zero_point);
    residual_scale_ = q.residual_scale;
    residual_zero_point_ = q.residual_zero_point;
    src_dims_ = src_dims;
    wanted_src_ = pd.src_desc();
    dst_desc_ = pd.dst_desc();
    plain_dst_desc_ = memory::desc(dst_dims, dt::f32, tag::nchw);
    dst_plain_ = dst_desc_ == plain_dst_desc_;
  }

 private:
  // A residual in this conv's destination layout (u8: with the parameters the sum reads it with)
  // that only its (released) value slot holds: kernels keep no native tensors between runs, so a
  // use count of 1 means no other value shares the buffer.
  bool writable_in_place(const Tensor& residual) const {
    const auto* native = dynamic_cast<const DnnlNative*>(residual.native.get());
    return native && native->mem().get_desc() == dst_desc_ && residual.native.use_count() == 1 &&
           (native->is_f32() || (native->scale() == residual_scale_ && native->zero_point() == residual_zero_point_));
  }

  void execute(const memory& src, const memory& dst, float scale, int32_t zero_point, bool f32_output = false) {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_},
                                         {DNNL_ARG_DST, dst}};
    if (int8_) int8_args_.add_to(args, scale, zero_point);
    if (f32_output) {
      f32_prim_.execute(ctx_.strm, args);
      return;
    }
    if (quantize_output_) {
      args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST] = dst_scale_;
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst_zero_point_;
    }
    prim_.execute(ctx_.strm, args);
  }

 public:

  void run(const float* src, float* dst) override {
    float scale = 1;
    int32_t zero_point = 0;
    if (sum_) dst_->prefill(dst);
    execute(src_->stage(src, scale, zero_point), dst_->target(dst), scale, zero_point, quantize_output_);
    dst_->finish(dst);
    ctx_.strm.wait();
    src_->release();
  }

  // Keeps the output in the primitive's layout (no reorder back to NCHW); takes the input in
  // whatever layout the previous primitive left it.
  void run(const Tensor& x, const Tensor* residual, bool residual_is_free, Tensor& y, const Shape& shape) override {
    float scale = 1;
    int32_t zero_point = 0;
    const auto* native = dynamic_cast<const DnnlNative*>(x.native.get());
    memory src;
    if (native && native->quantized() && q_.mode == QuantConfig::Mode::int8_static &&
        native->mem().get_desc() == wanted_src_ && native->scale() == q_.scale &&
        native->zero_point() == q_.zero_point) {
      src = native->mem();  // quantized by its producer with this layer's parameters
      scale = q_.scale;
      zero_point = q_.zero_point;
    } else if ((native = native_f32(x, src_dims_))) {
      src = src_->stage(native->mem(), scale, zero_point);
    } else {
      src = src_->stage(x.f(), scale, zero_point);
    }
    y = Tensor();
    y.dtype = DType::f32;
    y.shape = shape;
    if (dst_plain_) {  // the primitive writes NCHW itself: a plain buffer, reused when free
      if (!plain_out_ || plain_out_.use_count() > 1)
        plain_out_ = std::make_shared<std::vector<float>>(dst_desc_.get_size() / sizeof(float));
      y.f32 = plain_out_;
      memory dst(dst_desc_, ctx_.eng, plain_out_->data());
      if (sum_) residual_->copy(*residual, dst);
      execute(src, dst, scale, zero_point);
    } else if (sum_ && residual_is_free && writable_in_place(*residual)) {
      // Accumulate into the residual's own buffer: no copy. The output carries its own parameters.
      const auto& in_place = static_cast<const DnnlNative&>(*residual->native);
      auto out = std::make_shared<DnnlNative>(ctx_, dst_desc_, plain_dst_desc_, out_scale_, out_zero_point_,
                                              in_place.block());
      y.native = out;
      execute(src, out->mem(), scale, zero_point);
    } else {
      auto out = std::make_shared<DnnlNative>(ctx_, dst_desc_, plain_dst_desc_, out_scale_, out_zero_point_);
      y.native = out;
      if (sum_) residual_->copy(*residual, out->mem());
      execute(src, out->mem(), scale, zero_point);
    }
    ctx_.strm.wait();
    src_->release();
  }

 private:
  const DnnlContext& ctx_;
  bool int8_;
  dnnl::convolution_forward prim_;
  memory weights_, bias_;
  Int8Arguments int8_args_;
  std::optional<SourceStage> src_;
  std::optional<DestinationStage> dst_;
  memory::dims src_dims_;
  memory::desc wanted_src_, dst_desc_, plain_dst_desc_;
  bool dst_plain_ = false;
  QuantConfig q_;
  bool quantize_output_ = false;
  bool sum_ = false;
  std::optional<ResidualStage> residual_;
  float residual_scale_ = 1;
  int32_t residual_zero_point_ = 0;
  float out_scale_ = 1;
  int32_t out_zero_point_ = 0;
  memory dst_scale_, dst_zero_point_;
  dnnl::convolution_forward f32_prim_;
  std::shared_ptr<std::vector<float>> plain_out_;
};

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
      const QuantizedWeights qw = q.weights ? QuantizedWeights() : quantize_weights(w, n, k);
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
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_->stage(src, scale, zero_point)},
                                         {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_},
                                         {DNNL_ARG_DST, memory(dst_desc_, ctx_.eng, dst)}};
    if (int8_) int8_args_.add_to(args, scale, zero_point);
    prim_.execute(ctx_.strm, args);
    ctx_.strm.wait();
    src_->release();
  }

 private:
  const DnnlContext& ctx_;
  bool int8_;
  dnnl::matmul prim_;
  memory weights_, bias_;
  memory::desc dst_desc_;
  Int8Arguments int8_args_;
  std::optional<SourceStage> src_;
};

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

class DnnlSoftmax : public SoftmaxKernel {
 public:
  DnnlSoftmax(const DnnlContext& ctx, int64_t outer, int64_t len, int64_t inner, bool log)
      : ctx_(ctx), desc_({outer, len, inner}, dt::f32, tag::abc) {
    prim_ = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
        ctx.eng, dnnl::prop_kind::forward_inference,
        log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate, desc_, desc_, 1));
  }
  void run(const float* src, float* dst) override {
    prim_.execute(ctx_.strm, {{DNNL_ARG_SRC, memory(desc_, ctx_.eng, const_cast<float*>(src))},
                              {DNNL_ARG_DST, memory(desc_, ctx_.eng, dst)}});
    ctx_.strm.wait();
  }

 private:
  const DnnlContext& ctx_;
  memory::desc desc_;
  dnnl::softmax_forward prim_;
};

class DnnlConcat : public ConcatKernel {
 public:
  explicit DnnlConcat(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const std::vector<const Tensor*>& src, int axis, const Shape& shape, Tensor& y) override {
    // Native inputs as they are, plain ones (at least one must be native) wrapped as NCHW.
    std::vector<memory::desc> descs;
    std::vector<memory> mems;
    bool any_native = false;
    // All u8 with one (scale, zero point): quantized by their producers for the readers of the
    // result; concatenated as they are.
    const auto* first = src.empty() || !src[0] ? nullptr : dynamic_cast<const DnnlNative*>(src[0]->native.get());
    bool quantized = first && first->quantized();
    for (const Tensor* t : src) {
      const auto* native = t ? dynamic_cast<const DnnlNative*>(t->native.get()) : nullptr;
      quantized = quantized && native && native->quantized() && native->scale() == first->scale() &&
                  native->zero_point() == first->zero_point() &&
                  native->mem().get_desc().get_data_type() == first->mem().get_desc().get_data_type() &&
                  native->mem().get_desc().get_dims() == memory::dims(t->shape.begin(), t->shape.end());
    }
    const float scale = quantized ? first->scale() : 1.f;
    const int32_t zero_point = quantized ? first->zero_point() : 0;
    const dt type = quantized ? first->mem().get_desc().get_data_type() : dt::f32;
    for (const Tensor* t : src) {
      if (!t || t->dtype != DType::f32) return false;
      const memory::dims dims(t->shape.begin(), t->shape.end());
      const auto* native = quantized ? dynamic_cast<const DnnlNative*>(t->native.get()) : native_f32(*t, dims);
      if (native) {
        mems.push_back(native->mem());
        any_native = true;
      } else {
        mems.push_back(memory(memory::desc(dims, dt::f32, plain_strides(t->shape)), ctx_.eng, const_cast<float*>(t->f())));
      }
      descs.push_back(mems.back().get_desc());
    }
    if (!any_native) return false;
    if (axis == 1 && channels_last(descs, type)) return concat_channels_last(mems, shape, type, scale, zero_point, y);
    if (!built_ || axis != axis_ || descs != descs_ || scale != scale_ || zero_point != zero_point_) {
      built_ = false;
      try {
        dnnl::concat::primitive_desc pd(ctx_.eng, memory::desc(memory::dims(shape.begin(), shape.end()), type,
                                                               memory::format_tag::any), axis, descs);
        prim_ = dnnl::concat(pd);
        dst_desc_ = pd.dst_desc();
        plain_desc_ = memory::desc(memory::dims(shape.begin(), shape.end()), dt::f32,
                                   plain_strides(shape));
      } catch (const dnnl::error&) {
        return false;
      }
      built_ = true;
      axis_ = axis;
      descs_ = descs;
      scale_ = scale;
      zero_point_ = zero_point;
    }
    auto out = std::make_shared<DnnlNative>(ctx_, dst_desc_, plain_desc_, scale, zero_point);
    std::unordered_map<int, memory> args{{DNNL_ARG_DST, out->mem()}};
    for (size_t k = 0; k < mems.size(); ++k) args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = mems[k];
    prim_.execute(ctx_.strm, args);
    ctx_.strm.wait();
    y = Tensor();
    y.dtype = DType::f32;
    y.shape = shape;
    y.native = out;
    return true;
  }

 private:
  // Dense NHWC (acdb) 4-D inputs of one type: a channel concat is one copy per pixel and input,
  // cheaper here than oneDNN's simple concat.
  static bool channels_last(const std::vector<memory::desc>& descs, dt type) {
    for (const memory::desc& d : descs) {
      if (d.get_ndims() != 4 || d.get_data_type() != type || d.get_inner_nblks() != 0) return false;
      const memory::dims dims = d.get_dims(), st = d.get_strides();
      if (d.get_padded_dims() != dims || st[1] != 1 || st[3] != dims[1] || st[2] != dims[3] * dims[1] ||
          st[0] != dims[2] * dims[3] * dims[1])
        return false;
    }
    return true;
  }

  bool concat_channels_last(const std::vector<memory>& mems, const Shape& shape, dt type, float scale,
                            int32_t zero_point, Tensor& y) {
    const memory::dims dims(shape.begin(), shape.end());
    const memory::desc desc(dims, type, tag::acdb);
    auto out = std::make_shared<DnnlNative>(ctx_, desc, memory::desc(dims, dt::f32, plain_strides(shape)), scale,
                                            zero_point);
    const size_t es = memory::data_type_size(type);
    const int64_t pixels = dims[0] * dims[2] * dims[3], out_row = dims[1] * static_cast<int64_t>(es);
    char* dst = static_cast<char*>(out->mem().get_data_handle());
    int64_t offset = 0;
    for (const memory& m : mems) {
      const int64_t row = m.get_desc().get_dims()[1] * static_cast<int64_t>(es);
      const char* src = static_cast<const char*>(m.get_data_handle());
      for (int64_t p = 0; p < pixels; ++p) std::memcpy(dst + p * out_row + offset, src + p * row, row);
      offset += row;
    }
    y = Tensor();
    y.dtype = DType::f32;
    y.shape = shape;
    y.native = out;
    return true;
  }

  static memory::dims plain_strides(const Shape& shape) {
    memory::dims strides(shape.size(), 1);
    for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) strides[k] = strides[k + 1] * shape[k + 1];
    return strides;
  }

  const DnnlContext& ctx_;
  bool built_ = false;
  int axis_ = 0;
  float scale_ = 1;
  int32_t zero_point_ = 0;
  std::vector<memory::desc> descs_;
  memory::desc dst_desc_, plain_desc_;
  dnnl::concat prim_;
};

// oneDNN reports unsupported configurations as dnnl::error; the engine speaks InvalidArgument.
// The 4-D layouts native tensors take, as a tag (nullopt for any other).
std::optional<tag> layout_tag(const memory::desc& desc) {
  if (desc.get_ndims() != 4) return std::nullopt;
  for (tag t : {tag::nChw16c, tag::nChw8c, tag::nhwc, tag::nchw})
    if (memory::desc(desc.get_dims(), desc.get_data_type(), t) == desc) return t;
  return std::nullopt;
}

// Nearest resize of a float32 native tensor in a pixel-vector layout (blocked nChw{8,16}c or
// NHWC: [outer][H][W][inner] floats), written in the same layout: one copy per output pixel.
class DnnlResize : public ResizeKernel {
 public:
  explicit DnnlResize(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const Tensor& src, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
           Tensor& dst) override {
    const auto* native = dynamic_cast<const DnnlNative*>(src.native.get());
    if (!native || !native->is_f32() || src.rank() != 4) return false;
    const memory::desc& desc = native->mem().get_desc();
    const std::optional<tag> layout = layout_tag(desc);
    if (!layout || *layout == tag::nchw) return false;
    const memory::dims in = desc.get_dims();
    const memory::dims out{in[0], in[1], static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols.size())};
    const memory::desc out_desc(out, dt::f32, *layout);
    const int64_t block = *layout == tag::nChw16c ? 16 : *layout == tag::nChw8c ? 8 : in[1];
    const int64_t outer = *layout == tag::nhwc ? in[0] : in[0] * ((in[1] + block - 1) / block);
    auto result = std::make_shared<DnnlNative>(ctx_, out_desc, memory::desc(out, dt::f32, tag::nchw));
    const float* s = static_cast<const float*>(native->mem().get_data_handle());
    float* d = static_cast<float*>(result->mem().get_data_handle());
    const int64_t ih = in[2], iw = in[3], oh = out[2], ow = out[3];
    const size_t pixel = static_cast<size_t>(block) * sizeof(float);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t r = 0; r < oh; ++r) {
        float* row = d + ((o * oh + r) * ow) * block;
        if (r > 0 && rows[r] == rows[r - 1]) {
          std::memcpy(row, row - ow * block, ow * pixel);
          continue;
        }
        const float* in_row = s + ((o * ih + rows[r]) * iw) * block;
        for (int64_t c = 0; c < ow; ++c) std::memcpy(row + c * block, in_row + cols[c] * block, pixel);
      }
    dst = Tensor();
    dst.dtype = DType::f32;
    dst.shape = Shape(out.begin(), out.end());
    dst.native = result;
    return true;
  }

 private:
  const DnnlContext& ctx_;
};

// Split of a native tensor (float32, or u8 with its scale and zero point): each part is a sub-memory of the source (valid where the split
// points fall on channel-block boundaries), copied by a reorder into a dense buffer of the
// source's own layout, so the readers (convs, a Concat) take it without leaving that layout.
class DnnlSplit : public SplitKernel {
 public:
  explicit DnnlSplit(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const Tensor& src, int axis, const std::vector<int64_t>& sizes, std::vector<Tensor>& dst) override {
    const auto* native = dynamic_cast<const DnnlNative*>(src.native.get());
    if (!native || src.rank() != 4 || dst.size() != sizes.size()) return false;
    const memory::desc& desc = native->mem().get_desc();
    if (desc != desc_ || axis != axis_ || sizes != sizes_) {
      planned_ = plan(desc, src.shape, axis, sizes);  // remembered either way: no retry per run
      desc_ = desc;
      axis_ = axis;
      sizes_ = sizes;
    }
    if (!planned_) return false;
    for (size_t p = 0; p < parts_.size(); ++p) {
      Part& part = parts_[p];
      // u8 parts keep the source's (scale, zero point): the data is copied, not requantized.
      auto out = std::make_shared<DnnlNative>(ctx_, part.dense, part.plain, native->scale(), native->zero_point());
      memory from(part.view, ctx_.eng, native->mem().get_data_handle());
      memory to = out->mem();
      part.copy.execute(ctx_.strm, from, to);
      dst[p] = Tensor();
      dst[p].dtype = DType::f32;
      dst[p].shape = part.shape;
      dst[p].native = out;
    }
    ctx_.strm.wait();
    return true;
  }

 private:
  struct Part {
    Shape shape;
    memory::desc view, dense, plain;
    dnnl::reorder copy;
  };

  bool plan(const memory::desc& desc, const Shape& shape, int axis, const std::vector<int64_t>& sizes) {
    const memory::dims dims(shape.begin(), shape.end());
    const std::optional<tag> layout = layout_tag(desc);  // to make dense parts of the same layout
    if (!layout) return false;
    std::vector<Part> parts;
    int64_t offset = 0;
    try {
      for (int64_t size : sizes) {
        Part part;
        part.shape = shape;
        part.shape[axis] = size;
        const memory::dims part_dims(part.shape.begin(), part.shape.end());
        memory::dims offsets(dims.size(), 0);
        offsets[axis] = offset;
        offset += size;
        if (size == 0) return false;
        part.view = desc.submemory_desc(part_dims, offsets);
        part.dense = memory::desc(part_dims, desc.get_data_type(), *layout);
        part.plain = memory::desc(part_dims, dt::f32, tag::nchw);
        part.copy = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, part.view, ctx_.eng, part.dense));
        parts.push_back(std::move(part));
      }
    } catch (const dnnl::error&) {  // a split point inside a block: not expressible as a sub-memory
      return false;
    }
    parts_ = std::move(parts);
    return true;
  }

  const DnnlContext& ctx_;
  bool planned_ = false;
  memory::desc desc_;
  int axis_ = -1;
  std::vector<int64_t> sizes_;
  std::vector<Part> parts_;
};

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
  std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
                                   const QuantConfig& q) override {
    return translate_errors("convolution", [&] { return std::unique_ptr<ConvKernel>(new DnnlConv(ctx_, g, w, b, post, q)); });
  }
  std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                     const Activation& act, const QuantConfig& q) override {
    return translate_errors("matmul", [&] { return std::unique_ptr<DenseKernel>(new DnnlDense(ctx_, m, k, n, w, b, act, q)); });
  }
  std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) override {
    return translate_errors("pooling", [&] { return std::unique_ptr<PoolKernel>(new DnnlPool(ctx_, g)); });
  }
  std::unique_ptr<SoftmaxKernel> softmax(int64_t outer, int64_t len, int64_t inner, bool log) override {
    try {
      return std::make_unique<DnnlSoftmax>(ctx_, outer, len, inner, log);
    } catch (const dnnl::error&) {
      return nullptr;
    }
  }
  std::unique_ptr<ConcatKernel> concat() override { return std::make_unique<DnnlConcat>(ctx_); }
  std::unique_ptr<SplitKernel> split() override { return std::make_unique<DnnlSplit>(ctx_); }
  std::unique_ptr<ResizeKernel> resize() override { return std::make_unique<DnnlResize>(ctx_); }
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

std::unique_ptr<Backend> make_onednn_backend() { return std::make_unique<OnednnBackend>(); }

}  // namespace edgequant::engine
