#include "graph/static_shapes.h"

#include <set>

#include "graph/padding.h"
#include "ops/broadcasting.h"

namespace edgequant::engine {
namespace {

// Ops whose output 0 has input 0's shape and dtype.
const std::set<std::string>& same_shape_ops() {
  static const std::set<std::string> ops = {
      "Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Exp", "Identity", "Dropout", "Clip", "BatchNormalization",
      "Swish", "Softmax", "LogSoftmax", "InstanceNormalization", "LRN", "Sqrt", "Neg", "Abs", "Log", "Floor", "Ceil", "Round",
      "Tanh", "Erf", "LeakyRelu", "Elu", "Selu", "PRelu", "Reciprocal", "Softplus", "Softsign", "Gelu", "Sin", "Cos",
      "Mish", "ThresholdedRelu", "Celu", "Sign", "LayerNormalization", "ImageScaler", "Hardmax", "Trilu", "Shrink"};
  return ops;
}

// Elementwise ops whose output is the broadcast of their inputs; `bool_output`: the engine's bool
// (int64 0 / 1).
const std::set<std::string>& broadcast_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod",
                                            "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And",
                                            "Or", "Xor", "Where"};
  return ops;
}

bool is_bool_output(const std::string& op) {
  return op == "Equal" || op == "Less" || op == "LessOrEqual" || op == "Greater" || op == "GreaterOrEqual" ||
         op == "And" || op == "Or" || op == "Xor" || op == "Not";
}

// Conv's spatial output dims, as ops/conv.cpp computes them.
bool conv_shape(const Node& node, const Shape& x, const Shape& w, Shape& out) {
  if (w.size() < 3 || x.size() != w.size()) return false;
  const size_t spatial = w.size() - 2;
  const auto strides = node.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  const auto dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  const auto pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  const std::string auto_pad = node.attr_s("auto_pad", "NOTSET");
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) return false;
  out = {x[0], w[0]};
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = x[d + 2], k = w[d + 2], s = strides[d], dil = dilations[d];
    if (s <= 0 || dil <= 0) return false;
    int64_t o;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") o = same_output_size(in, s);
    else if (auto_pad == "VALID") o = (in - (k - 1) * dil - 1) / s + 1;
    else if (auto_pad == "NOTSET") o = (in + pads[d] + pads[d + spatial] - (k - 1) * dil - 1) / s + 1;
    else return false;
    if (o <= 0) return false;  // the op refuses it at run time, with its message
    out.push_back(o);
  }
  return true;
}

// numpy.matmul's shape (1-D operands promoted and their dim dropped again).
bool matmul_shape(Shape a, Shape b, Shape& out) {
  if (a.empty() || b.empty()) return false;
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  if (a.back() != b[b.size() - 2]) return false;
  const Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  if (!broadcast_shapes({batch_a, batch_b}, out).empty()) return false;
  if (!a_vector) out.push_back(a[a.size() - 2]);
  if (!b_vector) out.push_back(b.back());
  return true;
}

}  // namespace

bool static_output_shapes(const Node& node, const Graph& graph, const std::vector<StaticValue>& inputs,
                          std::vector<StaticValue>& outputs) {
  if (!node.domain.empty() || inputs.empty() || !inputs[0].known) return false;
  const std::string& op = node.op_type;
  outputs.assign(node.outputs.size(), StaticValue());
  StaticValue& y = outputs[0];
  y.known = true;
  y.dtype = inputs[0].dtype;
  if (same_shape_ops().count(op)) {
    y.shape = inputs[0].shape;
    return true;
  }
  if (op == "Cast" || op == "Not") {
    const int64_t to = node.attr_i("to", 1);
    const bool to_float = to == 1 || to == 10 || to == 11 || to == 16;
    y.dtype = op == "Cast" && to_float ? DType::f32 : DType::i64;
    y.shape = inputs[0].shape;
    return true;
  }
  if (broadcast_ops().count(op)) {
    std::vector<Shape> shapes;
    for (const StaticValue& in : inputs)
      if (!in.known) return false;
      else shapes.push_back(in.shape);
    if (!broadcast_shapes(shapes, y.shape).empty()) return false;
    if (op == "Where") y.dtype = inputs.size() > 1 ? inputs[1].dtype : y.dtype;
    if (is_bool_output(op)) y.dtype = DType::i64;
    return true;
  }
  if (op == "Conv") {
    if (inputs.size() < 2 || !inputs[1].known || !graph.is_constant(node.inputs[1])) return false;
    return conv_shape(node, inputs[0].shape, inputs[1].shape, y.shape);
  }
  if (op == "MatMul") return inputs.size() == 2 && inputs[1].known && matmul_shape(inputs[0].shape, inputs[1].shape, y.shape);
  if (op == "Gemm") {
    if (inputs.size() < 2 || !inputs[1].known || inputs[0].shape.size() != 2 || inputs[1].shape.size() != 2) return false;
    const Shape &a = inputs[0].shape, &b = inputs[1].shape;
    y.shape = {node.attr_i("transA", 0) ? a[1] : a[0], node.attr_i("transB", 0) ? b[0] : b[1]};
    return true;
  }
  return false;
}

}  // namespace edgequant::engine
