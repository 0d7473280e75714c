// Concat along one axis: each input contributes a contiguous block per outer index. Inputs left in
// the backend's own layout (consecutive conv outputs) are concatenated there by the backend's
// kernel where it has one.
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Concat : public Op {
 public:
  explicit Concat(const Node& node) : Op(node) {
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects inputs and 1 output");
    check(node.has("axis"), "axis is required");
    axis_attr_ = node.attr_i("axis", 0);
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;  // its backend kernel concatenates u8 inputs of one group unchanged
    for (size_t i = 0; i < node_.inputs.size(); ++i) traits.u8_inputs.push_back(static_cast<int>(i));
    return traits;
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& first = input(inputs, 0);
    const int axis = axis_of(axis_attr_, first.rank());
    Shape out = first.shape;
    out[axis] = 0;
    const bool real = first.is_real();
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor& t = input(inputs, k);
      check(t.is_real() == real && (real || t.dtype == first.dtype) && t.rank() == first.rank(),
            "inputs differ in type or rank");
      for (int d = 0; d < t.rank(); ++d)
        check(d == axis || t.shape[d] == first.shape[d],
              [&] { return "input shapes " + shape_string(first.shape) + " and " + shape_string(t.shape) + " disagree off the axis"; });
      out[axis] += t.shape[axis];
    }
    bool any_native = false;
    for (const Tensor* t : inputs) any_native = any_native || t->native;
    if (any_native && inputs.size() >= 2 && real) {
      if (!kernel_built_) {
        kernel_ = ctx.backend.concat();
        kernel_built_ = true;
      }
      if (kernel_ && kernel_->run(inputs, axis, out, outputs[0])) return;
    }
    // Codes of one grid (a quantization group of the INT8 plan, or a quantized file's pair), plain or in a
    // backend's layout, are joined as plain codes; real values held any other way are joined as float32.
    std::vector<std::vector<uint8_t>> staged(inputs.size());  // a backend-layout input's codes, made plain
    const bool codes = real && joins_as_codes(inputs, staged);
    if (codes && first.dtype != DType::i32) outputs[0] = Tensor::quantized(first.dtype, out, first.quant, description());
    else outputs[0] = codes || !real ? empty_as(first, out, description()) : Tensor::zeros_f32(out, description());
    const size_t es = element_size(outputs[0]);
    const int64_t outer = span(out, 0, axis), out_row = span(out, axis, out.size()) * es;
    int64_t offset = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor* t = inputs[k];
      const int64_t row = span(t->shape, axis, t->shape.size()) * es;
      const bool as_float = outputs[0].dtype == DType::f32;
      // A backend-layout input not yet read as plain is converted straight into its rows.
      if (as_float && t->native && !t->f32 && row > 0 &&
          t->native->to_plain_rows(reinterpret_cast<float*>(raw_data(outputs[0]) + offset),
                                   row / static_cast<int64_t>(es), out_row / static_cast<int64_t>(es))) {
        offset += row;
        continue;
      }
      const char* src = as_float        ? reinterpret_cast<const char*>(t->f())
                        : t->native     ? reinterpret_cast<const char*>(staged[k].data())
                                        : raw_data(*t);
      copy_rows(src, row, raw_data(outputs[0]) + offset, out_row, outer, es);
      offset += row;
    }
  }

 private:
  // `outer` rows of `row` bytes from src into dst every `out_row` bytes. Short rows (a stack along the
  // last axis: one element per row in basic_pitch's harmonic stacking) are copied element by element:
  // a memcpy call per 4-byte row cost 1.5 ms on 430,000 of them.
  static void copy_rows(const char* src, int64_t row, char* dst, int64_t out_row, int64_t outer, size_t es) {
    if (row >= 64 || (es != 4 && es != 1)) {
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * out_row, src + o * row, row);
      return;
    }
    if (es == 4)
      copy_short_rows(reinterpret_cast<const uint32_t*>(src), row / 4, reinterpret_cast<uint32_t*>(dst), out_row / 4, outer);
    else
      copy_short_rows(reinterpret_cast<const uint8_t*>(src), row, reinterpret_cast<uint8_t*>(dst), out_row, outer);
  }
  template <typename T>
  static void copy_short_rows(const T* src, int64_t row, T* dst, int64_t out_row, int64_t outer) {
    if (row == 1) {
      for (int64_t o = 0; o < outer; ++o) dst[o * out_row] = src[o];
      return;
    }
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < row; ++j) dst[o * out_row + j] = src[o * row + j];
  }

  // Whether every input holds codes of the first one's grid: plain, or 8-bit ones in a backend's layout
  // (made plain into `staged`, where the backend can).
  static bool joins_as_codes(const std::vector<const Tensor*>& inputs, std::vector<std::vector<uint8_t>>& staged) {
    const Tensor& first = *inputs[0];
    if (!first.is_quantized()) return false;
    for (const Tensor* t : inputs)
      if (t->dtype != first.dtype || !(t->quant == first.quant) || (t->native && first.dtype == DType::i32))
        return false;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!inputs[k]->native) continue;
      staged[k].resize(static_cast<size_t>(inputs[k]->numel()));
      if (!inputs[k]->native->to_plain_codes(staged[k].data())) return false;
    }
    return true;
  }

  int64_t axis_attr_;
  bool kernel_built_ = false;
  std::unique_ptr<ConcatKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_concat(const Node& node, const Graph&) { return std::make_unique<Concat>(node); }

}  // namespace edgequant::engine
