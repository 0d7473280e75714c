// Elementwise ops of several inputs with numpy broadcasting (ops/broadcasting.h): Pow, PRelu,
// and the variadic Min, Max, Sum and Mean. Min / Max / Sum run on float32 or int64 and propagate NaN (as numpy's
// minimum / maximum, the ONNX reference, and ONNX Runtime do). Pow: a float32 or int64 base raised
// to a float32 or int64 exponent (opset >= 12 allows mixed types), the result of the base's type;
// std::pow's IEEE results for a float base (a negative base to a fractional power is NaN). PRelu:
// the slope broadcasts to X's shape (before opset 7, a 1-D slope of C values is per channel).
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/broadcasting.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Broadcasting : public Op {
 public:
  using Op::Op;

 protected:
  Shape output_shape(const std::vector<const Tensor*>& inputs, size_t count) const {
    std::vector<Shape> shapes;
    for (size_t k = 0; k < count; ++k) shapes.push_back(input(inputs, k).shape);
    bool ok = true;
    Shape out = broadcast_shape(shapes, ok);
    if (!ok) {
      std::string listed;
      for (const Shape& s : shapes) listed += (listed.empty() ? "" : ", ") + shape_string(s);
      fail("input shapes " + listed + " do not broadcast");
    }
    return out;
  }
};

class Pow : public Broadcasting {
 public:
  explicit Pow(const Node& node) : Broadcasting(node) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs (X, Y), 1 output");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const Tensor& y = input(inputs, 1);
    if (x.dtype == DType::i64) return run_int(x, y, output_shape(inputs, 2), outputs[0]);
    const std::vector<float> exponent = y.dtype == DType::f32 ? std::vector<float>() : y.as_f32();
    const float* e = y.dtype == DType::f32 ? y.f() : exponent.data();
    const Shape out = output_shape(inputs, 2);
    outputs[0] = Tensor::unspecified_f32(out, description());  // every element written below
    const float* b = x.f();
    float* dst = outputs[0].f();
    const std::vector<std::vector<int64_t>> strides = {broadcast_strides(x.shape, out),
                                                       broadcast_strides(y.shape, out)};
    const int64_t sb = inner_stride(strides[0]), se = inner_stride(strides[1]);
    for_each_row(out, strides, [&](int64_t o, const std::vector<int64_t>& at, int64_t inner) {
      for (int64_t j = 0; j < inner; ++j) dst[o + j] = std::pow(b[at[0] + j * sb], e[at[1] + j * se]);
    });
  }

 private:
  // An int64 base gives int64: an integer exponent by repeated squaring (wrapping as numpy's
  // integer power; a negative one truncates 1 / b^|e| toward 0), a float exponent through double
  // and truncation (NaN gives 0, out-of-range values saturate).
  void run_int(const Tensor& x, const Tensor& y, const Shape& out, Tensor& result) const {
    result = Tensor::zeros_i64(out, description());
    const int64_t* b = x.i();
    int64_t* dst = result.i();
    const std::vector<std::vector<int64_t>> strides = {broadcast_strides(x.shape, out),
                                                       broadcast_strides(y.shape, out)};
    const int64_t sb = inner_stride(strides[0]), se = inner_stride(strides[1]);
    for_each_row(out, strides, [&](int64_t o, const std::vector<int64_t>& at, int64_t inner) {
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t base = b[at[0] + j * sb], k = at[1] + j * se;
        dst[o + j] = y.dtype == DType::i64 ? integer_power(base, y.i()[k]) : float_power(base, y.f()[k]);
      }
    });
  }
  static int64_t integer_power(int64_t base, int64_t exponent) {
    if (exponent < 0) return base == 1 ? 1 : base == -1 ? (exponent % 2 ? -1 : 1) : 0;
    uint64_t result = 1, square = static_cast<uint64_t>(base);
    for (; exponent; exponent >>= 1, square *= square)
      if (exponent & 1) result *= square;
    return static_cast<int64_t>(result);
  }
  static int64_t float_power(int64_t base, float exponent) {
    const double r = std::trunc(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
    if (std::isnan(r)) return 0;
    if (r >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
    if (r <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(r);
  }
};

class PRelu : public Broadcasting {
 public:
  PRelu(const Node& node, const Graph& graph) : Broadcasting(node), legacy_(graph.opset < 7) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs (X, slope), 1 output");
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    Tensor slope = float_input(inputs, 1);
    // Before opset 7 (no broadcasting rules yet) a 1-D slope of C values is per channel (axis 1), as
    // PyTorch's PReLU exported at opset 6.
    if (legacy_ && slope.rank() == 1 && x.rank() >= 2 && slope.shape[0] == x.shape[1] && slope.shape[0] != 1) {
      Shape per_channel(x.rank() - 1, 1);
      per_channel[0] = slope.shape[0];
      slope = slope.reshaped(per_channel);
    }
    if (x.native && in_backend_layout(ctx, x, slope, outputs)) return;
    std::vector<const Tensor*> operands = {&x, &slope};
    const Shape out = output_shape(operands, 2);
    check(out == x.shape, [&] { return "slope " + shape_string(slope.shape) + " does not broadcast to X " + shape_string(x.shape); });
    outputs[0] = Tensor::unspecified_f32(out, description());  // every element written below
    const float* in = x.f();
    const float* a = slope.f();
    float* dst = outputs[0].f();
    const std::vector<std::vector<int64_t>> strides = {broadcast_strides(x.shape, out),
                                                       broadcast_strides(slope.shape, out)};
    const int64_t sa = inner_stride(strides[1]);
    for_each_row(out, strides, [&](int64_t o, const std::vector<int64_t>& at, int64_t inner) {
      for (int64_t j = 0; j < inner; ++j) {
        const float v = in[o + j];
        dst[o + j] = v < 0 ? a[at[1] + j * sa] * v : v;
      }
    });
  }

 private:
  // A conv output left in the backend's layout with a slope per channel (one slope for all given as
  // C of them): answered in that layout (Backend::layout_arithmetic), no plain copy.
  bool in_backend_layout(RunContext& ctx, const Tensor& x, const Tensor& slope, std::vector<Tensor>& outputs) {
    if (!asked_for_kernel_) {
      kernel_ = ctx.backend.layout_arithmetic();
      asked_for_kernel_ = true;
    }
    if (!kernel_ || x.rank() != 4) return false;
    if (slope.numel() != 1) return kernel_->run('p', x, slope, outputs[0]);
    Tensor each = Tensor::unspecified_f32({1, x.shape[1], 1, 1}, description());
    std::fill(each.f(), each.f() + x.shape[1], slope.f()[0]);
    return kernel_->run('p', x, each, outputs[0]);
  }

  bool legacy_;
  bool asked_for_kernel_ = false;
  std::unique_ptr<LayoutArithmeticKernel> kernel_;
};

enum class Fold { min, max, sum, mean };

// One step of a variadic op: Min / Max propagate NaN; an int64 sum wraps around.
template <class T>
T combine(Fold fold, T a, T b) {
  if (fold == Fold::sum || fold == Fold::mean) {
    if constexpr (std::is_integral<T>::value) {
      return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    } else {
      return a + b;
    }
  }
  if constexpr (std::is_floating_point<T>::value) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return fold == Fold::max ? (b > a ? b : a) : (b < a ? b : a);
}

// Min, Max, Sum and Mean of one or more inputs.
class Variadic : public Broadcasting {
 public:
  explicit Variadic(const Node& node) : Broadcasting(node) {
    const std::string& t = node.op_type;
    fold_ = t == "Max" ? Fold::max : t == "Min" ? Fold::min : t == "Sum" ? Fold::sum : Fold::mean;
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects at least 1 input and 1 output");
    for (const std::string& name : node.inputs) check(!name.empty(), "an input is omitted");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const size_t count = node_.inputs.size();
    const DType dtype = input(inputs, 0).dtype;
    for (size_t k = 1; k < count; ++k)
      check(input(inputs, k).dtype == dtype, [&] { return std::string("inputs differ in type: ") + dtype_name(dtype) + " and " +
                                                 dtype_name(input(inputs, k).dtype); });
    const Shape out = output_shape(inputs, count);
    check(dtype == DType::f32 || fold_ != Fold::mean, "Mean expects float inputs, got int64");
    outputs[0] = empty_like(dtype, out, description());
    if (dtype == DType::f32) {
      fold<float>(inputs, out, outputs[0].f(), [](const Tensor& t) { return t.f(); });
      if (fold_ == Fold::mean) {
        for (int64_t k = 0; k < outputs[0].numel(); ++k) outputs[0].f()[k] /= static_cast<float>(count);
      }
    } else {
      fold<int64_t>(inputs, out, outputs[0].i(), [](const Tensor& t) { return t.i(); });
    }
  }

 private:
  // dst = input 0 broadcast to `out`, then dst = combine(dst, input k) for each further input.
  template <class T, class Data>
  void fold(const std::vector<const Tensor*>& inputs, const Shape& out, T* dst, Data data) const {
    for (size_t k = 0; k < node_.inputs.size(); ++k) {
      const Tensor& t = input(inputs, k);
      const T* src = data(t);
      const std::vector<std::vector<int64_t>> strides = {broadcast_strides(t.shape, out)};
      const int64_t s = inner_stride(strides[0]);
      const bool first = k == 0;
      for_each_row(out, strides, [&](int64_t o, const std::vector<int64_t>& at, int64_t inner) {
        for (int64_t j = 0; j < inner; ++j) {
          const T v = src[at[0] + j * s];
          dst[o + j] = first ? v : combine(fold_, dst[o + j], v);
        }
      });
    }
  }

  Fold fold_;
};

}  // namespace

std::unique_ptr<Op> make_math_binary(const Node& node, const Graph& graph) {
  if (node.op_type == "Pow") return std::make_unique<Pow>(node);
  if (node.op_type == "PRelu") return std::make_unique<PRelu>(node, graph);
  return std::make_unique<Variadic>(node);
}

}  // namespace edgequant::engine
