#include "backend/onednn/dnnl_common.h"

#include <string>
#include <cstdlib>

#include <vector>

#include "backend/code_map.h"

namespace edgequant::engine::onednn {

void append_activation(dnnl::post_ops& ops, const Activation& act) {
  switch (act.kind) {
    case Activation::Kind::relu: ops.append_eltwise(dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::Kind::clip: ops.append_eltwise(dnnl::algorithm::eltwise_clip, act.lo, act.hi); break;
    case Activation::Kind::swish: ops.append_eltwise(dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
    case Activation::Kind::hardsigmoid:
      ops.append_eltwise(dnnl::algorithm::eltwise_hardsigmoid, act.alpha, act.beta);
      break;
    case Activation::Kind::hardswish: ops.append_eltwise(dnnl::algorithm::eltwise_hardswish, act.alpha, act.beta); break;
    case Activation::Kind::gelu: ops.append_eltwise(dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f); break;
    default: break;
  }
  if (act.has_affine()) ops.append_eltwise(dnnl::algorithm::eltwise_linear, act.scale, act.shift);
}

dnnl::primitive_attr attr_with_activation(const Activation& act) {
  dnnl::post_ops ops;
  append_activation(ops, act);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

void skip_faulty_kernels(dnnl::convolution_forward::primitive_desc& pd) {
  while (std::string(pd.impl_info_str()) == "jit_1x1:avx512_core_amx")
    if (!pd.next_impl()) break;  // (none else: kept, as oneDNN chose)
}

dnnl::primitive_attr attr_with_post_ops(const ConvPostOps& post, float sum_scale, int32_t sum_zero_point,
                                        const memory::desc* bias) {
  dnnl::post_ops ops;
  if (bias) ops.append_binary(dnnl::algorithm::binary_add, *bias);
  append_activation(ops, post.activation);
  if (post.sum) {
    ops.append_sum(sum_scale, sum_zero_point);
    append_activation(ops, post.after_sum);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

ReorderCache::Entry& ReorderCache::entry(const dnnl::engine& eng, const memory::desc& from, const memory::desc& to,
                                         bool quantized) {
  for (Entry& e : entries_)
    if (e.quantized == quantized && e.from == from && e.to == to) return e;
  dnnl::primitive_attr attr;
  if (quantized) {
    attr.set_scales_mask(DNNL_ARG_SRC, 0);
    attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
  }
  if (entries_.size() >= 64) entries_.erase(entries_.begin());  // shapes that keep changing: bounded
  Entry e{from, to, quantized, dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, to, attr)), {}, {}, {}, {}};
  e.out = memory(to, eng, DNNL_MEMORY_NONE);
  e.args = {{DNNL_ARG_TO, e.out}};
  if (quantized) {
    e.scale = memory({{1}, dt::f32, tag::x}, eng);
    e.zero_point = memory({{1}, dt::s32, tag::x}, eng);
    e.args[DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC] = e.scale;
    e.args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = e.zero_point;
  }
  entries_.push_back(std::move(e));
  return entries_.back();
}

void ReorderCache::run(const dnnl::engine& eng, dnnl::stream& strm, const memory& from, const memory::desc& to,
                       void* dst, bool quantized, float scale, int32_t zero_point) {
  std::lock_guard<std::mutex> lock(mutex_);  // the entry's memory objects are repointed per call
  Entry& e = entry(eng, from.get_desc(), to, quantized);
  if (quantized) {
    *static_cast<float*>(e.scale.get_data_handle()) = scale;
    *static_cast<int32_t*>(e.zero_point.get_data_handle()) = zero_point;
  }
  e.out.set_data_handle(dst);
  e.args[DNNL_ARG_FROM] = from;
  e.reorder.execute(strm, e.args);
  strm.wait();
  e.args[DNNL_ARG_FROM] = memory();  // holds no tensor's memory between calls
}

void DnnlNative::to_plain(float* dst) const {
  if (!quantized()) return reorder_to(plain_, dst);
  // u8 codes: moved to plain order as they are, then x = s·(q − z) here, as Tensor's own
  // dequantization. oneDNN 3.2's reorder out of some blocked u8 layouts drops the source zero point
  // (ResNet-18's 512-channel codes read back about 6x too large).
  std::vector<uint8_t> codes(plain_.get_size() / sizeof(float));
  to_plain_codes(codes.data());
  for (size_t k = 0; k < codes.size(); ++k) dst[k] = scale_ * static_cast<float>(static_cast<int32_t>(codes[k]) - zero_point_);
}

bool DnnlNative::to_plain_codes(uint8_t* dst) const {
  if (!quantized()) return false;
  const memory::dims dims = plain_.get_dims();
  memory::dims strides(dims.size(), 1);
  for (int k = static_cast<int>(dims.size()) - 2; k >= 0; --k) strides[k] = strides[k + 1] * dims[k + 1];
  reorders_->run(eng_, strm_, mem_, memory::desc(dims, type_, strides), dst, false, 1, 0);
  return true;
}

std::shared_ptr<NativeData> DnnlNative::with_codes_mapped(const uint8_t* tables, int64_t channels, float scale,
                                                      int32_t zero_point) const {
  if (!quantized() || type_ != dt::u8) return nullptr;
  const memory::dims dims = desc_.get_dims();
  // Per channel: only where a byte's channel is its place in a pixel's row (nhwc, unpadded).
  const bool rows_of_channels = dims.size() >= 2 && dims[1] == channels && layout_tag(desc_) == tag::nhwc &&
                                desc_.get_size() == plain_.get_size() / sizeof(float);
  if (channels != 1 && !rows_of_channels) return nullptr;
  const size_t bytes = desc_.get_size();
  std::shared_ptr<void> block = pool_ ? pool_->acquire(bytes) : std::shared_ptr<void>(std::malloc(bytes), std::free);
  if (!block) return nullptr;
  const auto* in = static_cast<const uint8_t*>(block_.get());
  auto* out = static_cast<uint8_t*>(block.get());
  if (channels == 1) {  // every byte of the layout, padding included: a code maps alone, whatever its place
    map_codes(in, out, static_cast<int64_t>(bytes), tables);
  } else {
    map_codes_by_channel(in, out, static_cast<int64_t>(bytes) / channels, channels, tables);
  }
  auto copy = std::make_shared<DnnlNative>(*this);
  copy->block_ = std::move(block);
  copy->mem_ = memory(desc_, eng_, copy->block_.get());
  copy->scale_ = scale, copy->zero_point_ = zero_point;
  return copy;
}

bool DnnlNative::to_plain_rows(float* dst, int64_t row, int64_t row_stride) const {
  if (quantized()) return false;  // the caller copies to_plain's values (codes are dequantized here)
  const memory::dims dims = plain_.get_dims();
  // Plain strides, then the dims before the first one whose trailing product is `row` moved to
  // rows `row_stride` apart.
  memory::dims strides(dims.size(), 1);
  for (int k = static_cast<int>(dims.size()) - 2; k >= 0; --k) strides[k] = strides[k + 1] * dims[k + 1];
  int split = -1;
  for (int k = 0; k < static_cast<int>(dims.size()); ++k)
    if (strides[k] * dims[k] == row) split = k;
  if (split < 0 || row <= 0 || row_stride < row) return false;
  for (int k = 0; k < split; ++k) strides[k] = strides[k] / row * row_stride;
  reorder_to(memory::desc(dims, dt::f32, strides), dst);
  return true;
}

std::string DnnlNative::layout() const {
  const std::optional<tag> t = layout_tag(desc_);
  if (!t) return "blocked";
  switch (*t) {
    case tag::nChw16c: return "nChw16c";
    case tag::nChw8c: return "nChw8c";
    case tag::nhwc: return "nhwc";
    default: return "nchw";
  }
}

void DnnlNative::reorder_to(const memory::desc& to, float* dst) const {
  reorders_->run(eng_, strm_, mem_, to, dst, quantized(), scale_, zero_point_);
}

const DnnlNative* native_f32(const Tensor& t, const memory::dims& dims) {
  const auto* native = dynamic_cast<const DnnlNative*>(t.native.get());
  return native && native->is_f32() && native->desc().get_dims() == dims ? native : nullptr;
}

std::optional<tag> layout_tag(const memory::desc& desc) {
  if (desc.get_ndims() != 4) return std::nullopt;
  for (tag t : {tag::nChw16c, tag::nChw8c, tag::nhwc, tag::nchw})
    if (memory::desc(desc.get_dims(), desc.get_data_type(), t) == desc) return t;
  return std::nullopt;
}

std::optional<int64_t> pixel_vector_width(const memory::desc& desc) {
  const std::optional<tag> t = layout_tag(desc);
  if (!t || *t == tag::nchw) return std::nullopt;
  return *t == tag::nChw16c ? 16 : *t == tag::nChw8c ? 8 : desc.get_dims()[1];
}

void add_int8_attributes(dnnl::primitive_attr& attr, int weight_mask) {
  attr.set_scales_mask(DNNL_ARG_SRC, 0);
  attr.set_scales_mask(DNNL_ARG_WEIGHTS, weight_mask);
  attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
}

memory prepare_weights(const DnnlContext& ctx, const memory::desc& plain, const void* data, const memory::desc& wanted) {
  memory user(plain, ctx.eng, const_cast<void*>(data));
  memory out(wanted, ctx.eng);
  dnnl::reorder(user, out).execute(ctx.strm, user, out);
  ctx.strm.wait();
  return out;
}

}  // namespace edgequant::engine::onednn
