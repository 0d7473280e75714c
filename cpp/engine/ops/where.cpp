// Where: condition ? X : Y elementwise, the three inputs broadcast together; the condition is a
// bool tensor (int64 0 / 1 in the engine; a float condition is read as "not zero").
#include <cstring>

#include "ops/broadcasting.h"
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Where : public Op {
 public:
  explicit Where(const Node& node) : Op(node) {
    check(node.inputs.size() == 3 && node.outputs.size() == 1, "expects 3 inputs, 1 output");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& c = input(inputs, 0);
    const Tensor& x = input(inputs, 1);
    const Tensor& y = input(inputs, 2);
    check(x.dtype == y.dtype, [&] { return std::string("X and Y differ in type: ") + dtype_name(x.dtype) + " and " + dtype_name(y.dtype); });
    Shape out;
    const std::string why = broadcast_shapes({c.shape, x.shape, y.shape}, out);
    check(why.empty(), why);
    outputs[0] = empty_like(x.dtype, out, description());
    const bool float_condition = c.dtype == DType::f32;
    const float* cf = float_condition ? c.f() : nullptr;
    const int64_t* ci = float_condition ? nullptr : c.i();
    const size_t es = element_size(x);
    const char *px = raw_data(x), *py = raw_data(y);
    char* dst = raw_data(outputs[0]);
    for_each_broadcast(out, {c.shape, x.shape, y.shape}, [&](int64_t k, const int64_t* o) {
      const bool take_x = float_condition ? cf[o[0]] != 0.0f : ci[o[0]] != 0;
      std::memcpy(dst + k * es, take_x ? px + o[1] * es : py + o[2] * es, es);
    });
  }
};

}  // namespace

std::unique_ptr<Op> make_where(const Node& node, const Graph&) { return std::make_unique<Where>(node); }

}  // namespace edgequant::engine
