// Add / Sub / Mul and PRelu on float32 conv outputs left in oneDNN's layouts ([N][blocks][H][W][width]:
// nChw16c, nChw8c, NHWC): two tensors of one layout element by element, or one with a value per
// channel. Made plain, each such op reordered its inputs out of the layout and the conv or pool after
// it reordered back (PP-OCR's DB necks: x + x·hardsigmoid(...) per channel, then + an upsampled map;
// MTCNN's O-Net: its first PReLU 0.24 ms of 0.79).
#include "backend/onednn/dnnl_common.h"
#include "common/simd.h"

namespace edgequant::engine::onednn {
namespace {

template <char Op>
EDGEQUANT_INLINE float apply(float a, float b) {
  if constexpr (Op == '+') return a + b;
  if constexpr (Op == '-') return a - b;
  if constexpr (Op == 'r') return b - a;  // a value per channel minus the tensor
  if constexpr (Op == 'p') return a < 0 ? b * a : a;  // PRelu, slope b
  return a * b;
}

template <char Op>
EDGEQUANT_INLINE void elementwise(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] = apply<Op>(a[k], b[k]);
}

// `pixels` vectors of `width` channels, each against v[j] for channel j of the vector.
template <char Op>
EDGEQUANT_INLINE void by_channel(const float* x, const float* v, int64_t pixels, int64_t width, float* y) {
  for (int64_t p = 0; p < pixels; ++p, x += width, y += width)
    for (int64_t j = 0; j < width; ++j) y[j] = apply<Op>(x[j], v[j]);
}

EDGEQUANT_KERNEL void elementwise_rows(char op, const float* a, const float* b, float* y, int64_t n) {
  if (op == '+') return elementwise<'+'>(a, b, y, n);
  if (op == '-') return elementwise<'-'>(a, b, y, n);
  if (op == 'r') return elementwise<'r'>(a, b, y, n);
  return elementwise<'*'>(a, b, y, n);
}

EDGEQUANT_KERNEL void channel_rows(char op, const float* x, const float* v, int64_t pixels, int64_t width, float* y) {
  if (op == '+') return by_channel<'+'>(x, v, pixels, width, y);
  if (op == '-') return by_channel<'-'>(x, v, pixels, width, y);
  if (op == 'r') return by_channel<'r'>(x, v, pixels, width, y);
  if (op == 'p') return by_channel<'p'>(x, v, pixels, width, y);
  return by_channel<'*'>(x, v, pixels, width, y);
}

const DnnlNative* native_float(const Tensor& t) {
  const DnnlNative* n = t.native ? native_f32(t, memory::dims(t.shape.begin(), t.shape.end())) : nullptr;
  return n && !n->quantized() ? n : nullptr;
}

// Whether `v` broadcasts against a 4-D [N, C, H, W] as one value per channel, or per image and channel
// ([N, C, 1, 1]: a squeeze-excite's scales of a batch); right-aligned, only those axes longer than 1.
bool per_channel(const Tensor& v, const Shape& x) {
  if (x.size() != 4 || v.rank() > 4 || x[1] == 1) return false;
  for (int k = 0; k < v.rank(); ++k) {
    const int64_t d = v.shape[v.rank() - 1 - k];
    const int axis = 3 - k;
    if (d != 1 && !(axis == 1 && d == x[1]) && !(axis == 0 && d == x[0])) return false;
  }
  return v.numel() == x[1] || v.numel() == x[0] * x[1];
}

class DnnlLayoutArithmetic : public LayoutArithmeticKernel {
 public:
  explicit DnnlLayoutArithmetic(const DnnlContext& ctx) : ctx_(ctx) {}

  bool run(char op, const Tensor& a, const Tensor& b, Tensor& y) override {
    const DnnlNative* na = native_float(a);
    const DnnlNative* nb = native_float(b);
    if (op == 'p') return na && per_channel(b, a.shape) && channel(op, a.shape, *na, b, y);
    if (op != '+' && op != '-' && op != '*') return false;
    if (na && nb && a.shape == b.shape) return na->desc() == nb->desc() && both(op, a.shape, *na, *nb, y);
    // With a plain tensor of the same shape: that one is brought into the layout (one reorder, as making
    // the other plain would cost), so the result stays there for the layers after (a DB neck's sums
    // of an upsampled map).
    if (na && !b.native && a.shape == b.shape) return with_plain(op, a.shape, *na, b, y);
    if (nb && !a.native && a.shape == b.shape) return with_plain(op == '-' ? 'r' : op, b.shape, *nb, a, y);
    // The values per channel may be a native [1, C, 1, 1] themselves (a squeeze-excite conv's output).
    if (na && per_channel(b, a.shape)) return channel(op, a.shape, *na, b, y);
    if (nb && per_channel(a, b.shape)) return channel(op == '-' ? 'r' : op, b.shape, *nb, a, y);
    return false;
  }

 private:
  bool both(char op, const Shape& shape, const DnnlNative& a, const DnnlNative& b, Tensor& y) {
    // The padding of a blocked layout is zero in both, and stays zero under + - ·.
    auto out = std::make_shared<DnnlNative>(ctx_, a.desc(), a.plain(), 1.f, 0);
    elementwise_rows(op, static_cast<const float*>(a.mem().get_data_handle()),
                     static_cast<const float*>(b.mem().get_data_handle()), static_cast<float*>(out->mem().get_data_handle()),
                     static_cast<int64_t>(a.desc().get_size() / sizeof(float)));
    y = native_tensor(shape, out);
    return true;
  }

  bool with_plain(char op, const Shape& shape, const DnnlNative& x, const Tensor& plain, Tensor& y) {
    if (!plain.is_real() || plain.is_quantized()) return false;
    auto out = std::make_shared<DnnlNative>(ctx_, x.desc(), x.plain(), 1.f, 0);
    if (!plain_source_ || plain_source_desc_ != x.plain()) {
      plain_source_ = memory(x.plain(), ctx_.eng, DNNL_MEMORY_NONE);
      plain_source_desc_ = x.plain();
    }
    plain_source_.set_data_handle(const_cast<float*>(plain.f()));
    float* dst = static_cast<float*>(out->mem().get_data_handle());
    ctx_.reorders->run(ctx_.eng, ctx_.strm, plain_source_, x.desc(), dst, false, 1.f, 0);
    // dst holds the plain operand in x's layout (padding zero): dst = x op dst, in place.
    elementwise_rows(op, static_cast<const float*>(x.mem().get_data_handle()), dst, dst,
                     static_cast<int64_t>(x.desc().get_size() / sizeof(float)));
    y = native_tensor(shape, out);
    return true;
  }

  bool channel(char op, const Shape& shape, const DnnlNative& x, const Tensor& values, Tensor& y) {
    const std::optional<int64_t> width = pixel_vector_width(x.desc());
    if (!width || shape.size() != 4) return false;
    const int64_t blocks = (shape[1] + *width - 1) / *width, pixels = shape[2] * shape[3];
    if (static_cast<int64_t>(x.desc().get_size()) != shape[0] * blocks * pixels * *width * 4) return false;
    // Channels past C (a blocked layout's padding, zero) get 0: 0 + 0, 0 − 0, 0 · 0 and PRelu keep it zero.
    padded_.assign(static_cast<size_t>(blocks * *width), 0.f);
    const float* v = values.f();
    const bool per_image = values.numel() != shape[1];
    auto out = std::make_shared<DnnlNative>(ctx_, x.desc(), x.plain(), 1.f, 0);
    const float* in = static_cast<const float*>(x.mem().get_data_handle());
    float* dst = static_cast<float*>(out->mem().get_data_handle());
    for (int64_t n = 0; n < shape[0]; ++n) {
      if (n == 0 || per_image) std::copy(v + (per_image ? n * shape[1] : 0), v + (per_image ? n + 1 : 1) * shape[1], padded_.begin());
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t base = (n * blocks + b) * pixels * *width;
        channel_rows(op, in + base, padded_.data() + b * *width, pixels, *width, dst + base);
      }
    }
    y = native_tensor(shape, out);
    return true;
  }

  const DnnlContext& ctx_;
  std::vector<float> padded_;
  memory plain_source_;  // repointed per run: making a memory object costs allocations in oneDNN
  memory::desc plain_source_desc_;
};

}  // namespace

std::unique_ptr<LayoutArithmeticKernel> make_layout_arithmetic(const DnnlContext& ctx) {
  return std::make_unique<DnnlLayoutArithmetic>(ctx);
}

}  // namespace edgequant::engine::onednn
