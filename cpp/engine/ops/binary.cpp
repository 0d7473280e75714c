// Add, Sub, Mul, Div with numpy broadcasting, on float32 or int64 (shape arithmetic). The output
// is walked row by row; an input's stride is 0 along the axes it is broadcast over.
#include <limits>
#include <type_traits>

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

class Binary : public Op {
 public:
  explicit Binary(const Node& node) : Op(node) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs, 1 output");
    const std::string& t = node.op_type;
    op_ = t == "Add" ? '+' : t == "Sub" ? '-' : t == "Mul" ? '*' : '/';
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
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
      outputs[0] = Tensor::zeros_f32(out, description());
      compute(a.f(), sa, b.f(), sb, out, outputs[0].f());
    } else {
      outputs[0] = Tensor::zeros_i64(out, description());
      compute(a.i(), sa, b.i(), sb, out, outputs[0].i());
    }
  }

 private:
  template <class T>
  void compute(const T* a, const Shape& sa, const T* b, const Shape& sb, const Shape& out, T* dst) const {
    const int rank = static_cast<int>(out.size());
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    if (sa == sb) {
      for (int64_t k = 0; k < total; ++k) dst[k] = apply(op_, a[k], b[k]);
      return;
    }
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
      for (int64_t j = 0; j < inner; ++j) d[j] = apply(op_, a[oa + j * ia], b[ob + j * ib]);
      for (int k = rank - 2; k >= 0; --k) {  // next row index
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

  char op_;
};

}  // namespace

std::unique_ptr<Op> make_binary(const Node& node, const Graph&) { return std::make_unique<Binary>(node); }

}  // namespace edgequant::engine
