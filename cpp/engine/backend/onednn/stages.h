// Moving activations in and out of a primitive's layouts: the source (plain or native float32,
// quantized to u8 for INT8 kernels), the destination (back to a plain buffer where asked) and the
// residual a sum post-op accumulates into. Internal to backend/onednn/.
#pragma once
#include <cstring>

#include "backend/int8_support.h"
#include "backend/onednn/dnnl_common.h"

namespace edgequant::engine::onednn {

// Brings a plain float32 activation into the primitive's source layout: as is when the layouts
// agree, else through a cached reorder; for INT8 quantized to u8 codes, q = rint(x / s) + z.
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
    // One memory object repointed each run: creating one costs several allocations in oneDNN.
    if (!plain_source_) plain_source_ = memory(plain_, ctx_.eng, DNNL_MEMORY_NONE);
    plain_source_.set_data_handle(const_cast<float*>(src));
    return stage_from(plain_source_, plain_, scale, zero_point);
  }
  // The same from a native tensor in any layout of the source's dims (a previous primitive's output).
  memory stage(const DnnlNative& user, float& scale, int32_t& zero_point) {
    return stage_from(user.mem(), user.desc(), scale, zero_point);
  }
  // `user` described by `user_desc` (asking the memory for its desc copies it).
  memory stage_from(const memory& user, const memory::desc& user_desc, float& scale, int32_t& zero_point) {
    if (user_desc != user_) prepare(user_desc);
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
    if (own_quantize_) {  // a dense float32 buffer: our rounding, then the bytes moved if the layout differs
      const quant::Affine a(activation_format(), quant::AffineParams{scale, zero_point});
      void* codes = direct_ ? staged_.get_data_handle() : quantized_plain_.get_data_handle();
      quantize_activations_u8(static_cast<const float*>(user.get_data_handle()),
                              static_cast<int64_t>(user_.get_size() / sizeof(float)), a, static_cast<uint8_t*>(codes));
      if (!direct_) transpose_.execute(ctx_.strm, quantized_plain_, staged_);
      return staged_;
    }
    if (reorder_args_.empty())
      reorder_args_ = {{DNNL_ARG_TO, staged_}, {DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST, scale_},
                       {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zero_point_}};
    reorder_args_[DNNL_ARG_FROM] = user;
    reorder_.execute(ctx_.strm, reorder_args_);
    return staged_;
  }

  // The staged copy is no longer read: its block goes back to the pool.
  void release() { block_.reset(); }
  // The float32 copy the last stage() made, as a native tensor owning its block (nullptr where it
  // made none: the source was used as it was, or quantized).
  std::shared_ptr<DnnlNative> take_staged() {
    if (!block_ || q_.mode != QuantConfig::Mode::f32) return nullptr;
    return std::make_shared<DnnlNative>(ctx_, wanted_, plain_, 1.f, 0, std::move(block_));
  }

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
    // A dense float32 source (the plain layout the graph keeps) is quantized by
    // quantize_activations_u8 — the reference backend's rounding, ties to even — into u8 of the
    // same layout, which is the primitive's source or is moved into it by a plain byte reorder
    // (NCHW into NHWC: also faster than oneDNN's one-pass quantizing reorder). A source in a
    // blocked layout (a previous primitive's output) goes through oneDNN's quantizing reorder.
    memory::dim elements = 1;
    for (memory::dim d : user.get_dims()) elements *= d;
    own_quantize_ = int8 && user.get_data_type() == dt::f32 && user.get_inner_nblks() == 0 &&
                    user.get_padded_dims() == user.get_dims() &&
                    user.get_size() == static_cast<size_t>(elements) * sizeof(float);
    if (own_quantize_) {
      const memory::desc codes(user.get_dims(), dt::u8, user.get_strides());
      direct_ = codes == wanted_;
      if (!direct_) {
        quantized_plain_ = memory(codes, ctx_.eng);
        transpose_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, codes, ctx_.eng, wanted_));
      }
      return;
    }
    reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx_.eng, user, ctx_.eng, wanted_, attr));
  }

  const DnnlContext& ctx_;
  memory::desc plain_, user_, wanted_;
  QuantConfig q_;
  bool needed_ = false, own_quantize_ = false, direct_ = false;
  std::shared_ptr<void> block_;
  memory staged_, scale_, zero_point_, quantized_plain_;
  memory plain_source_;  // plain_, pointed at each run's plain source
  std::unordered_map<int, memory> reorder_args_;
  dnnl::reorder reorder_, transpose_;
};

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

// A residual whose buffer may become a sum kernel's output: in the destination's layout `dst` (u8:
// with the parameters the sum reads it with) and held only by its (released) value slot — kernels
// keep no native tensors between runs, so a use count of 1 means no other value shares the buffer.
inline bool writable_in_place(const Tensor& residual, const memory::desc& dst, float scale = 1,
                              int32_t zero_point = 0) {
  const auto* native = dynamic_cast<const DnnlNative*>(residual.native.get());
  return native && native->desc() == dst && residual.native.use_count() == 1 &&
         (native->is_f32() || (native->scale() == scale && native->zero_point() == zero_point));
}

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
    if (native && native->desc() == want &&
        (!to_u8 || (native->scale() == scale_ && native->zero_point() == zero_point_))) {
      std::memcpy(dst.get_data_handle(), native->mem().get_data_handle(), want.get_size());
      return;
    }
    memory from;
    bool from_u8 = false;
    if (native && native->desc().get_dims() == plain_.get_dims()) {
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

}  // namespace edgequant::engine::onednn
