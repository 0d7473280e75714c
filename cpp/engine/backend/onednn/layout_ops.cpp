// Data movement without leaving the backend's layouts: Concat, Split and nearest Resize of native
// tensors (consecutive conv outputs, float32 or u8), so YOLO-style necks stay blocked.
#include "backend/onednn/channel_gather.h"
#include "backend/onednn/stages.h"

namespace edgequant::engine::onednn {
namespace {

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
                  native->desc().get_data_type() == first->desc().get_data_type() &&
                  native->desc().get_dims() == memory::dims(t->shape.begin(), t->shape.end());
    }
    // Inputs not all native (some reshaped away from their layout, or made by a plain op): the op's
    // own copy into a plain output, converting native inputs straight into their slice. oneDNN's
    // concat of mixed layouts is its slow reference one, and its output would be copied again by
    // the plain readers such a mix usually has (a channel shuffle after a ShuffleNet block).
    bool usable = true;
    for (const Tensor* t : src)
      usable = usable && t && t->is_real() &&
               (quantized || native_f32(*t, memory::dims(t->shape.begin(), t->shape.end())));
    if (!usable) return false;
    const float scale = quantized ? first->scale() : 1.f;
    const int32_t zero_point = quantized ? first->zero_point() : 0;
    const dt type = quantized ? first->desc().get_data_type() : dt::f32;
    for (const Tensor* t : src) {
      if (!t || !t->is_real()) return false;
      const memory::dims dims(t->shape.begin(), t->shape.end());
      const auto* native = quantized ? dynamic_cast<const DnnlNative*>(t->native.get()) : native_f32(*t, dims);
      if (native) {
        mems.push_back(native->mem());
        descs.push_back(native->desc());
        any_native = true;
      } else {
        descs.push_back(memory::desc(dims, dt::f32, plain_strides(t->shape)));
        mems.push_back(memory(descs.back(), ctx_.eng, const_cast<float*>(t->f())));
      }
    }
    if (!any_native) return false;
    if (axis == 1 && channels_last(descs, type)) return concat_channels_last(mems, descs, shape, type, scale, zero_point, y);
    if (axis == 1 && cuts_channel_blocks(descs)) return concat_by_gather(src, shape, y);
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
    y = native_tensor(shape, out);
    return true;
  }

 private:
  // Blocked inputs (nChw16c / nChw8c) whose channel counts are not whole blocks: oneDNN 3.2 has no
  // fast concat for them (the inputs went plain, and the convs after reordered back).
  static bool cuts_channel_blocks(const std::vector<memory::desc>& descs) {
    bool cut = false;
    for (const memory::desc& d : descs) {
      const std::optional<int64_t> width = pixel_vector_width(d);
      if (!width || layout_tag(d) == tag::nhwc) return false;
      cut = cut || d.get_dims()[1] % *width != 0;
    }
    return cut;
  }

  bool concat_by_gather(const std::vector<const Tensor*>& src, const Shape& shape, Tensor& y) {
    std::vector<const DnnlNative*> inputs;
    std::vector<ChannelSource> sources;
    for (const Tensor* t : src) {
      inputs.push_back(dynamic_cast<const DnnlNative*>(t->native.get()));
      for (int64_t c = 0; c < t->shape[1]; ++c) sources.push_back({inputs.size() - 1, c});
    }
    std::shared_ptr<DnnlNative> out = gather_channels(ctx_, inputs, sources, src[0]->shape);
    if (!out) return false;
    y = native_tensor(shape, out);
    return true;
  }

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

  bool concat_channels_last(const std::vector<memory>& mems, const std::vector<memory::desc>& descs,
                            const Shape& shape, dt type, float scale, int32_t zero_point, Tensor& y) {
    const memory::dims dims(shape.begin(), shape.end());
    const memory::desc desc(dims, type, tag::acdb);
    auto out = std::make_shared<DnnlNative>(ctx_, desc, memory::desc(dims, dt::f32, plain_strides(shape)), scale,
                                            zero_point);
    const size_t es = memory::data_type_size(type);
    const int64_t pixels = dims[0] * dims[2] * dims[3], out_row = dims[1] * static_cast<int64_t>(es);
    char* dst = static_cast<char*>(out->mem().get_data_handle());
    std::vector<const char*> srcs;
    std::vector<int64_t> rows;
    bool whole_lines = true;  // every pixel's channels a whole number of 64-byte lines
    for (size_t k = 0; k < mems.size(); ++k) {
      srcs.push_back(static_cast<const char*>(mems[k].get_data_handle()));
      rows.push_back(descs[k].get_dims()[1] * static_cast<int64_t>(es));
      whole_lines = whole_lines && rows.back() % 64 == 0;
    }
    // Pixel by pixel, so the output is written once in order; fixed 64-byte copies (inlined)
    // where the channel counts allow, instead of a library call per pixel and input. Large ones
    // over the engine's threads (a YOLOv8n neck's Concats at 80x80 are 0.4-1.6 MB).
#pragma omp parallel for schedule(static) if (pixels * out_row >= kParallelCopyBytes)
    for (int64_t p = 0; p < pixels; ++p) {
      char* out_pixel = dst + p * out_row;
      for (size_t k = 0; k < srcs.size(); ++k) {
        const char* src = srcs[k] + p * rows[k];
        if (whole_lines) {
          for (int64_t b = 0; b < rows[k]; b += 64) std::memcpy(out_pixel + b, src + b, 64);
        } else {
          std::memcpy(out_pixel, src, static_cast<size_t>(rows[k]));
        }
        out_pixel += rows[k];
      }
    }
    y = native_tensor(shape, out);
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

// Nearest resize of a native tensor (float32, or u8 with its scale and zero point, copied as it
// is) in a pixel-vector layout (blocked nChw{8,16}c or NHWC: [outer][H][W][inner] elements),
// written in the same layout: one copy per output pixel.
class DnnlResize : public ResizeKernel {
 public:
  explicit DnnlResize(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const Tensor& src, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
           Tensor& dst) override {
    const auto* native = dynamic_cast<const DnnlNative*>(src.native.get());
    if (!native || src.rank() != 4) return false;
    const memory::desc& desc = native->desc();
    if (desc.get_dims() != memory::dims(src.shape.begin(), src.shape.end())) return false;  // reshaped
    const std::optional<tag> layout = layout_tag(desc);
    const std::optional<int64_t> width = pixel_vector_width(desc);
    if (!width) return false;
    const dt type = desc.get_data_type();
    const memory::dims in = desc.get_dims();
    const memory::dims out{in[0], in[1], static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols.size())};
    const memory::desc out_desc(out, type, *layout);
    const int64_t block = *width;
    const int64_t outer = *layout == tag::nhwc ? in[0] : in[0] * ((in[1] + block - 1) / block);
    auto result = std::make_shared<DnnlNative>(ctx_, out_desc, memory::desc(out, dt::f32, tag::nchw),
                                               native->scale(), native->zero_point());
    const char* s = static_cast<const char*>(native->mem().get_data_handle());
    char* d = static_cast<char*>(result->mem().get_data_handle());
    const int64_t ih = in[2], iw = in[3], oh = out[2], ow = out[3];
    const int64_t pixel = block * static_cast<int64_t>(memory::data_type_size(type));
    // An output row sampling the same input row as the one before it is a copy of that row (one
    // memcpy instead of a copy per pixel): first the rows that start a run, then the repeats, each
    // phase over the engine's threads when the output is large.
    std::vector<int64_t> first_of_run(oh);
    for (int64_t r = 0; r < oh; ++r) first_of_run[r] = r > 0 && rows[r] == rows[r - 1] ? first_of_run[r - 1] : r;
    const auto out_row = [&](int64_t o, int64_t r) { return d + ((o * oh + r) * ow) * pixel; };
#pragma omp parallel if (outer * oh * ow * pixel >= kParallelCopyBytes)
    {
#pragma omp for collapse(2) schedule(static)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t r = 0; r < oh; ++r) {
          if (first_of_run[r] != r) continue;
          char* row = out_row(o, r);
          const char* in_row = s + ((o * ih + rows[r]) * iw) * pixel;
          for (int64_t c = 0; c < ow; ++c) std::memcpy(row + c * pixel, in_row + cols[c] * pixel, pixel);
        }
#pragma omp for collapse(2) schedule(static)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t r = 0; r < oh; ++r)
          if (first_of_run[r] != r) std::memcpy(out_row(o, r), out_row(o, first_of_run[r]), ow * pixel);
    }
    dst = native_tensor(Shape(out.begin(), out.end()), result);
    return true;
  }

 private:
  const DnnlContext& ctx_;
};

// Channels picked from a native tensor in a pixel-vector layout, kept in that layout (gather_channels).
class DnnlChannelPick : public ChannelPickKernel {
 public:
  explicit DnnlChannelPick(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const Tensor& src, const std::vector<int64_t>& sources, Tensor& dst) override {
    const auto* native = dynamic_cast<const DnnlNative*>(src.native.get());
    if (!native || src.rank() != 4 || sources.empty()) return false;
    std::vector<ChannelSource> from;
    for (int64_t c : sources) from.push_back({0, c});
    std::shared_ptr<DnnlNative> out = gather_channels(ctx_, {native}, from, src.shape);
    if (!out) return false;
    dst = native_tensor({src.shape[0], static_cast<int64_t>(sources.size()), src.shape[2], src.shape[3]}, out);
    return true;
  }

 private:
  const DnnlContext& ctx_;
};

// Split of a native tensor (float32, or u8 with its scale and zero point): each part is a
// sub-memory of the source (valid where the split points fall on channel-block boundaries),
// copied by a reorder into a dense buffer of the source's own layout, so the readers (convs, a
// Concat) take it without leaving that layout.
class DnnlSplit : public SplitKernel {
 public:
  explicit DnnlSplit(const DnnlContext& ctx) : ctx_(ctx) {}
  bool run(const Tensor& src, int axis, const std::vector<int64_t>& sizes, std::vector<Tensor>& dst) override {
    const auto* native = dynamic_cast<const DnnlNative*>(src.native.get());
    if (!native || src.rank() != 4 || dst.size() != sizes.size()) return false;
    const memory::desc& desc = native->desc();
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
      dst[p] = native_tensor(part.shape, out);
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

}  // namespace

std::unique_ptr<ConcatKernel> make_concat(const DnnlContext& ctx) { return std::make_unique<DnnlConcat>(ctx); }
std::unique_ptr<SplitKernel> make_split(const DnnlContext& ctx) { return std::make_unique<DnnlSplit>(ctx); }
std::unique_ptr<ResizeKernel> make_resize(const DnnlContext& ctx) { return std::make_unique<DnnlResize>(ctx); }
std::unique_ptr<ChannelPickKernel> make_channel_pick(const DnnlContext& ctx) {
  return std::make_unique<DnnlChannelPick>(ctx);
}

}  // namespace edgequant::engine::onednn
