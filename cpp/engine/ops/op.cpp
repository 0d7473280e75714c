#include "ops/op.h"

#include <algorithm>
#include <map>
#include <set>

namespace edgequant::engine {

const Tensor& Op::input(const std::vector<const Tensor*>& inputs, size_t index) const {
  if (index >= inputs.size() || inputs[index] == nullptr) fail("input " + std::to_string(index) + " is missing");
  return *inputs[index];
}

const Tensor& Op::float_input(const std::vector<const Tensor*>& inputs, size_t index) const {
  const Tensor& t = input(inputs, index);
  check(t.is_real(), [&] { return "input " + std::to_string(index) + " must be float, got " + dtype_name(t.dtype); });
  return t;
}

Activation fused_activation(const Node& node, const std::string& prefix) {
  Activation act;
  const std::string kind = node.attr_s(prefix + "_activation", "");
  if (kind == "relu") act.kind = Activation::Kind::relu;
  if (kind == "swish") act.kind = Activation::Kind::swish;
  if (kind == "gelu") act.kind = Activation::Kind::gelu;
  if (kind == "hardsigmoid" || kind == "hardswish") {
    act.kind = kind == "hardswish" ? Activation::Kind::hardswish : Activation::Kind::hardsigmoid;
    act.alpha = node.attr_f(prefix + "_hard_alpha", 0);
    act.beta = node.attr_f(prefix + "_hard_beta", 0);
  }
  act.scale = node.attr_f(prefix + "_affine_scale", 1.f);
  act.shift = node.attr_f(prefix + "_affine_shift", 0.f);
  if (kind == "clip") {
    act.kind = Activation::Kind::clip;
    act.lo = node.attr_f(prefix + "_clip_lo", 0);
    act.hi = node.attr_f(prefix + "_clip_hi", 0);
  }
  return act;
}

// One factory per op file.
std::unique_ptr<Op> make_conv(const Node&, const Graph&);
std::unique_ptr<Op> make_gemm(const Node&, const Graph&);
std::unique_ptr<Op> make_matmul(const Node&, const Graph&);
std::unique_ptr<Op> make_pool(const Node&, const Graph&);
std::unique_ptr<Op> make_batch_norm(const Node&, const Graph&);
std::unique_ptr<Op> make_code_table(const Node&, const Graph&);
std::unique_ptr<Op> make_code_add(const Node&, const Graph&);
std::unique_ptr<Op> make_code_average_pool(const Node&, const Graph&);
std::unique_ptr<Op> make_unary(const Node&, const Graph&);
std::unique_ptr<Op> make_clip(const Node&, const Graph&);
std::unique_ptr<Op> make_binary(const Node&, const Graph&);
std::unique_ptr<Op> make_concat(const Node&, const Graph&);
std::unique_ptr<Op> make_split(const Node&, const Graph&);
std::unique_ptr<Op> make_slice(const Node&, const Graph&);
std::unique_ptr<Op> make_reshape(const Node&, const Graph&);
std::unique_ptr<Op> make_transpose(const Node&, const Graph&);
std::unique_ptr<Op> make_softmax(const Node&, const Graph&);
std::unique_ptr<Op> make_hardmax(const Node&, const Graph&);
std::unique_ptr<Op> make_pad(const Node&, const Graph&);
std::unique_ptr<Op> make_resize(const Node&, const Graph&);
std::unique_ptr<Op> make_shape(const Node&, const Graph&);
std::unique_ptr<Op> make_gather(const Node&, const Graph&);
std::unique_ptr<Op> make_instance_norm(const Node&, const Graph&);
std::unique_ptr<Op> make_lrn(const Node&, const Graph&);
std::unique_ptr<Op> make_image_scaler(const Node&, const Graph&);
std::unique_ptr<Op> make_upsample(const Node&, const Graph&);
// Shape and constant computations (most fold away at load, graph/constant_folding.h) and If.
std::unique_ptr<Op> make_cast(const Node&, const Graph&);
std::unique_ptr<Op> make_constant_of_shape(const Node&, const Graph&);
std::unique_ptr<Op> make_range(const Node&, const Graph&);
std::unique_ptr<Op> make_compare(const Node&, const Graph&);
std::unique_ptr<Op> make_where(const Node&, const Graph&);
std::unique_ptr<Op> make_size(const Node&, const Graph&);
std::unique_ptr<Op> make_expand(const Node&, const Graph&);
std::unique_ptr<Op> make_if(const Node&, const Graph&);
// Float math ops (issue #21).
std::unique_ptr<Op> make_math_unary(const Node&, const Graph&);
std::unique_ptr<Op> make_math_binary(const Node&, const Graph&);
std::unique_ptr<Op> make_reduce(const Node&, const Graph&);
std::unique_ptr<Op> make_layer_norm(const Node&, const Graph&);
std::unique_ptr<Op> make_tile(const Node&, const Graph&);
std::unique_ptr<Op> make_depth_space(const Node&, const Graph&);
std::unique_ptr<Op> make_arg_reduce(const Node&, const Graph&);
// Quantized models (graph/qdq.h).
std::unique_ptr<Op> make_quantize_linear(const Node&, const Graph&);
std::unique_ptr<Op> make_dynamic_quantize_linear(const Node&, const Graph&);
std::unique_ptr<Op> make_integer_product(const Node&, const Graph&);
std::unique_ptr<Op> make_top_k(const Node&, const Graph&);
std::unique_ptr<Op> make_gather_elements(const Node&, const Graph&);
// Recurrent and transposed-convolution ops (issue #21).
std::unique_ptr<Op> make_lstm(const Node&, const Graph&);
std::unique_ptr<Op> make_gru(const Node&, const Graph&);
std::unique_ptr<Op> make_rnn(const Node&, const Graph&);
std::unique_ptr<Op> make_conv_transpose(const Node&, const Graph&);
std::unique_ptr<Op> make_loop(const Node&, const Graph&);
// Chains of data-moving ops folded into one node at load (graph/data_movement_folding.h).
std::unique_ptr<Op> make_data_movement(const Node&, const Graph&);

namespace {
const std::map<std::string, OpFactory>& registry() {
  static const std::map<std::string, OpFactory> table = {
      {"Conv", make_conv}, {"Gemm", make_gemm}, {"MatMul", make_matmul},
      {"MaxPool", make_pool}, {"AveragePool", make_pool}, {"GlobalAveragePool", make_pool},
      {"BatchNormalization", make_batch_norm},
      {"Relu", make_unary}, {"Sigmoid", make_unary}, {"HardSigmoid", make_unary}, {"HardSwish", make_unary},
      {"Swish", make_unary},
      {"Exp", make_unary}, {"Identity", make_unary}, {"Dropout", make_unary}, {"Clip", make_clip},
      {"Add", make_binary}, {"Sub", make_binary}, {"Mul", make_binary}, {"Div", make_binary},
      {"Concat", make_concat}, {"Split", make_split}, {"Slice", make_slice},
      {"Reshape", make_reshape}, {"Flatten", make_reshape}, {"Squeeze", make_reshape}, {"Unsqueeze", make_reshape},
      {"Transpose", make_transpose}, {"Softmax", make_softmax}, {"LogSoftmax", make_softmax},
      {"Hardmax", make_hardmax},
      {"Pad", make_pad}, {"Resize", make_resize}, {"Shape", make_shape}, {"Gather", make_gather},
      {"InstanceNormalization", make_instance_norm}, {"LRN", make_lrn}, {"ImageScaler", make_image_scaler},
      {"Upsample", make_upsample},
      {"Cast", make_cast}, {"CastLike", make_cast}, {"ConstantOfShape", make_constant_of_shape}, {"Range", make_range},
      {"Equal", make_compare}, {"Less", make_compare}, {"LessOrEqual", make_compare}, {"Greater", make_compare},
      {"GreaterOrEqual", make_compare}, {"And", make_compare}, {"Or", make_compare}, {"Xor", make_compare},
      {"Not", make_compare}, {"Where", make_where}, {"Size", make_size}, {"Expand", make_expand}, {"If", make_if},
      // Float math ops (issue #21).
      {"Sqrt", make_math_unary}, {"Neg", make_math_unary}, {"Log", make_math_unary}, {"Floor", make_math_unary},
      {"Ceil", make_math_unary}, {"Abs", make_math_unary}, {"Reciprocal", make_math_unary},
      {"Tanh", make_math_unary}, {"Erf", make_math_unary}, {"Gelu", make_math_unary},
      {"LeakyRelu", make_math_unary}, {"Elu", make_math_unary}, {"Softplus", make_math_unary},
      {"Selu", make_math_unary}, {"Celu", make_math_unary}, {"ThresholdedRelu", make_math_unary},
      {"Softsign", make_math_unary}, {"Sign", make_math_unary}, {"Round", make_math_unary},
      {"Pow", make_math_binary}, {"PRelu", make_math_binary}, {"Min", make_math_binary}, {"Max", make_math_binary},
      {"Sum", make_math_binary}, {"Mean", make_math_binary},
      {"ReduceMean", make_reduce}, {"ReduceMax", make_reduce}, {"ReduceMin", make_reduce},
      {"ReduceSum", make_reduce}, {"ReduceL2", make_reduce},
      {"ReduceL1", make_reduce}, {"ReduceSumSquare", make_reduce}, {"ReduceProd", make_reduce},
      {"ReduceLogSum", make_reduce}, {"ReduceLogSumExp", make_reduce},
      {"LayerNormalization", make_layer_norm},
      {"Tile", make_tile},
      {"DepthToSpace", make_depth_space}, {"SpaceToDepth", make_depth_space},
      {"ArgMax", make_arg_reduce}, {"ArgMin", make_arg_reduce},
      {"QuantizeLinear", make_quantize_linear}, {"DequantizeLinear", make_quantize_linear},
      {"QuantizeDequantize", make_quantize_linear}, {"DynamicQuantizeLinear", make_dynamic_quantize_linear},
      {"ConvInteger", make_integer_product}, {"MatMulInteger", make_integer_product},
      {"TopK", make_top_k}, {"GatherElements", make_gather_elements},
      {"LSTM", make_lstm}, {"GRU", make_gru}, {"RNN", make_rnn}, {"ConvTranspose", make_conv_transpose},
      {"Loop", make_loop}, {"DataMovement", make_data_movement}, {"CodeTable", make_code_table},
      {"CodeAdd", make_code_add}, {"CodeAveragePool", make_code_average_pool},
  };
  return table;
}
}  // namespace

std::unique_ptr<Op> make_op(const Node& node, const Graph& graph) {
  auto it = registry().find(node.op_type);
  if (it == registry().end())
    throw InvalidArgument("unsupported op '" + node.op_type + "' (node '" + node.name + "')");
  return it->second(node, graph);
}

bool is_supported_op(const std::string& op_type) { return registry().count(op_type) != 0; }

size_t produced_outputs(const Node& node) {
  const std::string& t = node.op_type;
  if (t == "LSTM") return std::min<size_t>(node.outputs.size(), 3);
  if (t == "GRU" || t == "RNN") return std::min<size_t>(node.outputs.size(), 2);
  // Ops computing every output the node names; the others compute output 0 only.
  static const std::set<std::string> all_outputs = {"Split", "If", "Loop", "LayerNormalization", "DataMovement",
                                                    "DynamicQuantizeLinear", "TopK"};
  return all_outputs.count(t) ? node.outputs.size() : 1;
}

const char* precision_name(QuantConfig::Mode mode) {
  switch (mode) {
    case QuantConfig::Mode::int8_static: return "int8_static";
    case QuantConfig::Mode::int8_dynamic: return "int8_dynamic";
    default: return "f32";
  }
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& kv : registry())
    if (kv.first != "QuantizeDequantize" && kv.first != "DataMovement" && kv.first != "CodeTable" &&
        kv.first != "CodeAdd" && kv.first != "CodeAveragePool")  // the engine's own, not ONNX ops
      names.push_back(kv.first);
  return names;
}

}  // namespace edgequant::engine
