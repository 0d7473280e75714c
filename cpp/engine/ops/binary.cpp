// Add, Sub, Mul, Div with numpy broadcasting, on float32 or int64 (shape arithmetic). The output
// is walked row by row (neighbouring axes broadcast alike merged first, so a row is as long as it
// can be); an input's stride is 0 along the axes it is broadcast over.
#include <limits>
#include <type_traits>

#include "common/simd.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// Integer arithmetic wraps (two's complement) instead of overflowing: shape arithmetic on
// hostile constants must not be undefined behaviour, and INT64_MIN / -1 would raise SIGFPE.
// Integer division by zero gives 0.
template <class T>
T apply(char op, T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = std::make_unsigned_t<T>;
    switch (op) {
      case '+': return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case '-': return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case '*': return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      default:
        if (b == 0) return 0;
        if (b == -1) return static_cast<T>(U(0) - static_cast<U>(a));  // INT64_MIN / -1 wraps to INT64_MIN
        return a / b;
    }
  } else {
    switch (op) {
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      default: return a / b;
    }
  }
}

// n results d[j] = a[j·ia] op b[j·ib] (ia, ib: 1, or 0 for one value broadcast along the row), each
// (stride, op) case its own loop. Float rows go through float_rows, compiled per ISA (the rows of a
// [1, C, H, W] tensor's per-channel Mul or a residual Add ran 3-4x ONNX Runtime's time as SSE2 loops
// after a zero fill).
template <char Op, class T>
EDGEQUANT_INLINE void binary_row(const T* a, int64_t ia, const T* b, int64_t ib, T* d, int64_t n) {
  if (ia == 1 && ib == 1) {
    for (int64_t j = 0; j < n; ++j) d[j] = apply(Op, a[j], b[j]);
  } else if (ia == 1 && ib == 0) {  // a row against one value of b (a per-channel scale or bias)
    const T v = *b;
    for (int64_t j = 0; j < n; ++j) d[j] = apply(Op, a[j], v);
  } else if (ia == 0 && ib == 1) {
    const T v = *a;
    for (int64_t j = 0; j < n; ++j) d[j] = apply(Op, v, b[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) d[j] = apply(Op, a[j * ia], b[j * ib]);
  }
}

EDGEQUANT_KERNEL void float_rows(char op, const float* a, int64_t ia, const float* b, int64_t ib, float* d, int64_t n) {
  switch (op) {
    case '+': return binary_row<'+'>(a, ia, b, ib, d, n);
    case '-': return binary_row<'-'>(a, ia, b, ib, d, n);
    case '*': return binary_row<'*'>(a, ia, b, ib, d, n);
    default: return binary_row<'/'>(a, ia, b, ib, d, n);
  }
}

class Binary : public Op {
 public:
  explicit Binary(const Node& node) : Op(node) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs, 1 output");
    const std::string& t = node.op_type;
    op_ = t == "Add" ? '+' : t == "Sub" ? '-' : t == "Mul" ? '*' : '/';
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& a = input(inputs, 0);
    const Tensor& b = input(inputs, 1);
    check(a.dtype == b.dtype, [&] { return std::string("inputs differ in type: ") + dtype_name(a.dtype) + " and " + dtype_name(b.dtype); });
    const int rank = std::max(a.rank(), b.rank());
    Shape out(rank), sa(rank, 1), sb(rank, 1);
    for (int k = 0; k < a.rank(); ++k) sa[rank - a.rank() + k] = a.shape[k];
    for (int k = 0; k < b.rank(); ++k) sb[rank - b.rank() + k] = b.shape[k];
    for (int k = 0; k < rank; ++k) {
      check(sa[k] == sb[k] || sa[k] == 1 || sb[k] == 1,
            [&] { return "shapes " + shape_string(a.shape) + " and " + shape_string(b.shape) + " do not broadcast"; });
      out[k] = sa[k] == 1 ? sb[k] : sa[k];
    }
    if (a.dtype == DType::f32) {
      if ((a.native || b.native) && in_backend_layout(ctx, a, b, outputs)) return;
      const float* fa = a.f();
      const float* fb = b.f();
      outputs[0] = in_place(ctx, inputs, out);
      if (!outputs[0].f32) outputs[0] = Tensor::unspecified_f32(out, description());  // every element written below
      dispatch(fa, sa, fb, sb, out, outputs[0].f());
    } else {
      outputs[0] = Tensor::zeros_i64(out, description());
      dispatch(a.i(), sa, b.i(), sb, out, outputs[0].i());
    }
  }

 private:
  // A conv output left in the backend's layout, with another of that layout or a value per channel:
  // answered in the layout (Backend::layout_arithmetic), so neither is made plain for this op.
  bool in_backend_layout(RunContext& ctx, const Tensor& a, const Tensor& b, std::vector<Tensor>& outputs) {
    if (op_ == '/') return false;
    if (!asked_for_kernel_) {
      layout_kernel_ = ctx.backend.layout_arithmetic();
      asked_for_kernel_ = true;
    }
    return layout_kernel_ && layout_kernel_->run(op_, a, b, outputs[0]);
  }

  // The output over a free input's float32 buffer where one has the output's shape and no other tensor
  // holds that buffer: written in place, one stream of memory fewer than a new tensor (each element is
  // read before its own result is written). An empty tensor where none qualifies.
  static Tensor in_place(const RunContext& ctx, const std::vector<const Tensor*>& inputs, const Shape& out) {
    for (size_t i = 0; i < 2; ++i) {
      const Tensor& t = *inputs[i];
      if (!ctx.is_free(i) || t.dtype != DType::f32 || t.is_quantized() || t.shape != out || !t.f32 ||
          t.f32.use_count() != 1)
        continue;
      Tensor y;
      y.dtype = DType::f32;
      y.shape = out;
      y.f32 = t.f32;
      return y;
    }
    return Tensor();
  }

  template <class T>
  void dispatch(const T* a, const Shape& sa, const T* b, const Shape& sb, const Shape& out, T* dst) const {
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    // The op fixed at compile time, so that the row loops below vectorise.
    switch (op_) {
      case '+': return compute<'+'>(a, sa, b, sb, out, dst);
      case '-': return compute<'-'>(a, sa, b, sb, out, dst);
      case '*': return compute<'*'>(a, sa, b, sb, out, dst);
      default: return compute<'/'>(a, sa, b, sb, out, dst);
    }
  }

  template <char Op, class T>
  static void compute(const T* a, Shape sa, const T* b, Shape sb, Shape out, T* dst) {
    if (sa == sb) {
      const int64_t total = numel(out);
      if constexpr (std::is_same_v<T, float>) return float_rows(Op, a, 1, b, 1, dst, total);
      for (int64_t k = 0; k < total; ++k) dst[k] = apply(Op, a[k], b[k]);
      return;
    }
    merge_axes(sa, sb, out);
    const int rank = static_cast<int>(out.size());
    const int64_t total = numel(out);
    // Strides (in elements) of each input along the output axes; 0 where broadcast.
    std::vector<int64_t> stride_a(rank), stride_b(rank);
    int64_t ra = 1, rb = 1;
    for (int k = rank - 1; k >= 0; --k) {
      stride_a[k] = sa[k] == 1 ? 0 : ra;
      stride_b[k] = sb[k] == 1 ? 0 : rb;
      ra *= sa[k];
      rb *= sb[k];
    }
    const int64_t inner = rank ? out[rank - 1] : 1;
    const int64_t ia = rank ? stride_a[rank - 1] : 0, ib = rank ? stride_b[rank - 1] : 0;
    std::vector<int64_t> index(rank, 0);
    for (int64_t row = 0; row < total / inner; ++row) {
      int64_t oa = 0, ob = 0;
      for (int k = 0; k + 1 < rank; ++k) {
        oa += index[k] * stride_a[k];
        ob += index[k] * stride_b[k];
      }
      T* d = dst + row * inner;
      const T* pa = a + oa;
      const T* pb = b + ob;
      if constexpr (std::is_same_v<T, float>)
        float_rows(Op, pa, ia, pb, ib, d, inner);
      else
        binary_row<Op>(pa, ia, pb, ib, d, inner);
      for (int k = rank - 2; k >= 0; --k) {  // next row index
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

  static int64_t numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }

  // Axes of size 1 in the output dropped, and neighbouring axes that each input either spans in both
  // or is broadcast over in both made one: [N, C, H, W] · [1, C, 1, 1] becomes [N, C, H·W] · [1, C, 1],
  // so a row is a whole plane instead of a row of W. The element order is unchanged.
  static void merge_axes(Shape& sa, Shape& sb, Shape& out) {
    Shape ma, mb, mo;
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k] == 1) continue;
      const bool a_spans = sa[k] != 1, b_spans = sb[k] != 1;
      if (!mo.empty() && (ma.back() != 1) == a_spans && (mb.back() != 1) == b_spans) {
        mo.back() *= out[k], ma.back() *= sa[k], mb.back() *= sb[k];
      } else {
        mo.push_back(out[k]), ma.push_back(sa[k]), mb.push_back(sb[k]);
      }
    }
    sa = std::move(ma), sb = std::move(mb), out = std::move(mo);
  }

  char op_;
  bool asked_for_kernel_ = false;
  std::unique_ptr<LayoutArithmeticKernel> layout_kernel_;
};

}  // namespace

std::unique_ptr<Op> make_binary(const Node& node, const Graph&) { return std::make_unique<Binary>(node); }

}  // namespace edgequant::engine
