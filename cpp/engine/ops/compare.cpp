// Comparisons and logic with numpy broadcasting: Equal, Less, LessOrEqual, Greater,
// GreaterOrEqual on two inputs of one dtype; And, Or, Xor, Not on bools. The engine holds bool as
// int64 0 / 1 (see Cast), so every output is an int64 tensor of 0 and 1.
#include "ops/broadcasting.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

enum class Kind { equal, less, less_equal, greater, greater_equal, logical_and, logical_or, logical_xor, logical_not };

Kind kind_of(const std::string& op) {
  if (op == "Equal") return Kind::equal;
  if (op == "Less") return Kind::less;
  if (op == "LessOrEqual") return Kind::less_equal;
  if (op == "Greater") return Kind::greater;
  if (op == "GreaterOrEqual") return Kind::greater_equal;
  if (op == "And") return Kind::logical_and;
  if (op == "Or") return Kind::logical_or;
  if (op == "Xor") return Kind::logical_xor;
  return Kind::logical_not;
}

template <class T>
int64_t compare(Kind op, T a, T b) {
  switch (op) {
    case Kind::equal: return a == b;
    case Kind::less: return a < b;
    case Kind::less_equal: return a <= b;
    case Kind::greater: return a > b;
    case Kind::greater_equal: return a >= b;
    case Kind::logical_and: return a != 0 && b != 0;
    case Kind::logical_or: return a != 0 || b != 0;
    default: return (a != 0) != (b != 0);  // Xor
  }
}

class Compare : public Op {
 public:
  explicit Compare(const Node& node) : Op(node), kind_(kind_of(node.op_type)) {
    const size_t arity = kind_ == Kind::logical_not ? 1 : 2;
    check(node.inputs.size() == arity && node.outputs.size() == 1,
          [&] { return "expects " + std::to_string(arity) + " input(s), 1 output"; });
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& a = input(inputs, 0);
    if (kind_ == Kind::logical_not) {
      outputs[0] = Tensor::zeros_i64(a.shape, description());
      const int64_t n = a.numel();
      int64_t* y = outputs[0].i();
      if (a.dtype == DType::f32) for (int64_t k = 0; k < n; ++k) y[k] = a.f()[k] == 0.0f;
      else for (int64_t k = 0; k < n; ++k) y[k] = a.i()[k] == 0;
      return;
    }
    const Tensor& b = input(inputs, 1);
    check(a.dtype == b.dtype, [&] { return std::string("inputs differ in type: ") + dtype_name(a.dtype) + " and " + dtype_name(b.dtype); });
    Shape out;
    const std::string why = broadcast_shapes({a.shape, b.shape}, out);
    check(why.empty(), why);
    outputs[0] = Tensor::zeros_i64(out, description());
    int64_t* y = outputs[0].i();
    const Kind op = kind_;
    if (a.dtype == DType::f32) {
      const float *pa = a.f(), *pb = b.f();
      for_each_broadcast(out, {a.shape, b.shape}, [&](int64_t k, const int64_t* o) { y[k] = compare(op, pa[o[0]], pb[o[1]]); });
    } else {
      const int64_t *pa = a.i(), *pb = b.i();
      for_each_broadcast(out, {a.shape, b.shape}, [&](int64_t k, const int64_t* o) { y[k] = compare(op, pa[o[0]], pb[o[1]]); });
    }
  }

 private:
  Kind kind_;
};

}  // namespace

std::unique_ptr<Op> make_compare(const Node& node, const Graph&) { return std::make_unique<Compare>(node); }

}  // namespace edgequant::engine
