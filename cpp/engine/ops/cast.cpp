// Cast and CastLike between the engine's two dtypes. Every ONNX float type is held as float32 and
// every integer type and bool as int64 (bool as 0 / 1), so a cast converts to the held dtype and
// then wraps an integer to the width of its ONNX type (int8, uint16 ...) and maps bool to 0 / 1,
// as ONNX Runtime does. Types the engine cannot hold (string, complex, 8- and 4-bit floats, 4-bit
// integers) are refused when the op is built.
#include <cmath>
#include <cstdint>
#include <limits>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

// ONNX TensorProto.DataType codes the engine can hold.
enum : int64_t { kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6, kInt64 = 7, kBool = 9,
                 kFloat16 = 10, kDouble = 11, kUint32 = 12, kUint64 = 13, kBfloat16 = 16 };

bool is_float_code(int64_t to) { return to == kFloat || to == kFloat16 || to == kDouble || to == kBfloat16; }
bool is_integer_code(int64_t to) {
  return to == kUint8 || to == kInt8 || to == kUint16 || to == kInt16 || to == kInt32 || to == kInt64 ||
         to == kBool || to == kUint32 || to == kUint64;
}

// An integer value as the ONNX integer type `to` holds it (two's-complement wrap), widened back.
int64_t wrap_to(int64_t v, int64_t to) {
  switch (to) {
    case kUint8: return static_cast<uint8_t>(v);
    case kInt8: return static_cast<int8_t>(v);
    case kUint16: return static_cast<uint16_t>(v);
    case kInt16: return static_cast<int16_t>(v);
    case kInt32: return static_cast<int32_t>(v);
    case kUint32: return static_cast<uint32_t>(v);
    case kBool: return v != 0;
    default: return v;  // int64; uint64 keeps its bits in an int64
  }
}

// float -> int64 truncating toward zero; NaN gives 0 and out-of-range values saturate (plain
// static_cast would be undefined behaviour on them).
int64_t float_to_int(float v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18f) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18f) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

class Cast : public Op {
 public:
  explicit Cast(const Node& node) : Op(node) {
    const bool like = node.op_type == "CastLike";
    check(node.inputs.size() == (like ? 2u : 1u) && node.outputs.size() == 1,
          like ? "expects 2 inputs, 1 output" : "expects 1 input, 1 output");
    if (like) return;  // the target is input 1's dtype, known at run time
    check(node.has("to"), "attribute 'to' is missing");
    to_ = node.attr_i("to", 0);
    check(is_float_code(to_) || is_integer_code(to_),
          [&] { return "cast to ONNX type " + std::to_string(to_) +
              " is not supported: the engine holds float types as float32 and integers and bool as int64"; });
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    int64_t to = to_;
    if (node_.op_type == "CastLike") to = input(inputs, 1).dtype == DType::f32 ? kFloat : kInt64;
    const int64_t n = x.numel();
    if (is_float_code(to)) {
      if (x.dtype == DType::f32) {
        outputs[0] = x;  // float types all compute as float32: shared data, no copy
        return;
      }
      outputs[0] = Tensor::zeros_f32(x.shape, description());
      const int64_t* src = x.i();
      float* dst = outputs[0].f();
      for (int64_t k = 0; k < n; ++k) dst[k] = static_cast<float>(src[k]);
      return;
    }
    if (x.dtype == DType::i64 && to == kInt64) {
      outputs[0] = x;
      return;
    }
    outputs[0] = Tensor::zeros_i64(x.shape, description());
    int64_t* dst = outputs[0].i();
    if (x.dtype == DType::f32) {
      const float* src = x.f();
      // float -> bool is "not zero" (0.5 is true), not a truncation.
      for (int64_t k = 0; k < n; ++k) dst[k] = to == kBool ? src[k] != 0.0f : wrap_to(float_to_int(src[k]), to);
    } else {
      const int64_t* src = x.i();
      for (int64_t k = 0; k < n; ++k) dst[k] = wrap_to(src[k], to);
    }
  }

 private:
  int64_t to_ = kFloat;
};

}  // namespace

std::unique_ptr<Op> make_cast(const Node& node, const Graph&) { return std::make_unique<Cast>(node); }

}  // namespace edgequant::engine
