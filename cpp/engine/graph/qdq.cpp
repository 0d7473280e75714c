#include "graph/qdq.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "graph/graph_index.h"

namespace edgequant::engine {

namespace {

// ONNX TensorProto.DataType codes of the quantized integer types.
enum : int { kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6 };

Attribute int_attribute(int64_t value) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = value;
  return a;
}

Node make_node(const std::string& op_type, const std::string& name, std::vector<std::string> inputs,
               std::vector<std::string> outputs) {
  Node n;
  n.op_type = op_type;
  n.name = name;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

const std::string& input_or_empty(const Node& node, size_t i) {
  static const std::string none;
  return i < node.inputs.size() ? node.inputs[i] : none;
}

// A fresh value name derived from `base` (the graph's values are named as in ONNX; the suffix
// keeps them apart from any the file uses).
std::string fresh(const std::string& base, const char* what, std::set<std::string>& taken) {
  std::string name = base + "/" + what;
  for (int k = 1; taken.count(name); ++k) name = base + "/" + what + std::to_string(k);
  taken.insert(name);
  return name;
}

// The float op a QLinear op computes between its dequantized inputs and its quantized output.
struct QLinearForm {
  const char* float_op;
  // For each float input: (integer value, scale, zero point) input positions of the QLinear node.
  std::vector<std::array<int, 3>> operands;
  int out_scale, out_zero;
  int bias = -1;  // QLinearConv's int32 bias, dequantized with x_scale·w_scale
};

bool qlinear_form(const Node& node, QLinearForm& form) {
  const std::string& t = node.op_type;
  const bool ms = node.domain == "com.microsoft";
  if (node.domain.empty() && t == "QLinearConv") form = {"Conv", {{0, 1, 2}, {3, 4, 5}}, 6, 7, 8};
  else if (node.domain.empty() && t == "QLinearMatMul") form = {"MatMul", {{0, 1, 2}, {3, 4, 5}}, 6, 7};
  else if (ms && t == "QLinearAdd") form = {"Add", {{0, 1, 2}, {3, 4, 5}}, 6, 7};
  else if (ms && t == "QLinearMul") form = {"Mul", {{0, 1, 2}, {3, 4, 5}}, 6, 7};
  else if (ms && t == "QLinearGlobalAveragePool") form = {"GlobalAveragePool", {{0, 1, 2}}, 3, 4};
  else if (ms && t == "QLinearSigmoid") form = {"Sigmoid", {{0, 1, 2}}, 3, 4};
  else if (ms && t == "QLinearLeakyRelu") form = {"LeakyRelu", {{0, 1, 2}}, 3, 4};
  else if (ms && t == "QLinearSoftmax") form = {"Softmax", {{0, 1, 2}}, 3, 4};
  else if (ms && t == "QLinearAveragePool") form = {"AveragePool", {{0, 1, 2}}, 3, 4};
  else if (ms && t == "QGemm") form = {"Gemm", {{0, 1, 2}, {3, 4, 5}}, 7, 8, 6};
  else if (ms && t == "QLinearConcat") {
    form = {"Concat", {}, 0, 1};
    for (int k = 2; k + 2 < static_cast<int>(node.inputs.size()); k += 3) form.operands.push_back({k, k + 1, k + 2});
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool quantized_range_of(int onnx_type, QuantizedRange& range) {
  switch (onnx_type) {
    case kUint8: range = {0, 255}; return true;
    case kInt8: range = {-128, 127}; return true;
    case kUint16: range = {0, 65535}; return true;
    case kInt16: range = {-32768, 32767}; return true;
    case kInt32: range = {INT32_MIN, INT32_MAX}; return true;
    default: return false;
  }
}

void set_quantized_range(Node& node, const QuantizedRange& range) {
  node.attributes["_qmin"] = int_attribute(range.min);
  node.attributes["_qmax"] = int_attribute(range.max);
}

QuantizedRange quantized_range(const Node& node) { return {node.attr_i("_qmin", 0), node.attr_i("_qmax", 255)}; }

std::vector<float> given_weight_scales(const Graph& graph, const std::string& name, int64_t output_axis,
                                       int64_t channels) {
  auto it = graph.weight_scales.find(name);
  if (it == graph.weight_scales.end() || !graph.is_constant(name)) return {};
  const WeightScales& given = it->second;
  if (given.axis == -1 && given.scales.size() == 1) return std::vector<float>(static_cast<size_t>(channels), given.scales[0]);
  const int64_t rank = graph.initializers.at(name).rank();
  const int64_t axis = given.axis < 0 ? given.axis + rank : given.axis;
  if (axis != output_axis || static_cast<int64_t>(given.scales.size()) != channels) return {};
  return given.scales;
}

void carry_weight_scales(Graph& graph, const std::string& from, const std::string& to, const std::vector<float>& gains) {
  const int64_t channels = static_cast<int64_t>(gains.size());
  std::vector<float> scales = given_weight_scales(graph, from, 0, channels);
  if (scales.empty()) return;
  for (int64_t c = 0; c < channels; ++c)
    if (gains[c] != 0 && std::isfinite(gains[c])) scales[c] *= std::fabs(gains[c]);  // a zero gain: zero weights, any scale
  graph.weight_scales[to] = WeightScales{std::move(scales), 0};
}

int expand_qlinear_ops(Graph& graph) {
  std::set<std::string> taken;
  for (const Node& n : graph.nodes) {
    taken.insert(n.inputs.begin(), n.inputs.end());
    taken.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const auto& kv : graph.initializers) taken.insert(kv.first);
  std::vector<Node> nodes;
  int expanded = 0;
  for (Node& node : graph.nodes) {
    QLinearForm form;
    if (!qlinear_form(node, form)) {
      nodes.push_back(std::move(node));
      continue;
    }
    // Every input up to the output zero point (optional in the ONNX ops, but then written empty).
    require(node.outputs.size() == 1 && static_cast<int>(node.inputs.size()) >= form.out_zero,
            node.describe() + ": expects " + std::to_string(form.out_zero + 1) + "+ inputs (the last zero point may "
            "be left out) and 1 output");
    ++expanded;
    Node op = make_node(form.float_op, node.name + "/float", {}, {fresh(node.outputs[0], "float", taken)});
    for (const auto& [value, scale, zero] : form.operands) {
      Node dq = make_node("DequantizeLinear", node.name + "/dequantize" + std::to_string(value),
                          {input_or_empty(node, value), input_or_empty(node, scale), input_or_empty(node, zero)},
                          {fresh(input_or_empty(node, value), "dequantized", taken)});
      // Per-channel weight scales: QLinearConv's along axis 0, QLinearMatMul's per column (the last
      // axis), QGemm's along B's output axis.
      const std::string op_type = form.float_op;
      if (op_type == "MatMul" && value == 3) dq.attributes["axis"] = int_attribute(-1);
      if (op_type == "Conv" && value == 3) dq.attributes["axis"] = int_attribute(0);
      if (op_type == "Gemm" && value == 3) dq.attributes["axis"] = int_attribute(node.attr_i("transB", 0) ? 0 : 1);
      op.inputs.push_back(dq.outputs[0]);
      nodes.push_back(std::move(dq));
    }
    if (form.bias >= 0 && !input_or_empty(node, form.bias).empty()) {
      // The int32 bias is in units of x_scale · w_scale (per output channel).
      Node scale = make_node("Mul", node.name + "/bias_scale", {node.inputs[1], node.inputs[4]},
                             {fresh(node.outputs[0], "bias_scale", taken)});
      Node dq = make_node("DequantizeLinear", node.name + "/dequantize_bias", {node.inputs[form.bias], scale.outputs[0]},
                          {fresh(node.inputs[form.bias], "dequantized", taken)});
      dq.attributes["axis"] = int_attribute(-1);
      set_quantized_range(dq, {INT32_MIN, INT32_MAX});
      op.inputs.push_back(dq.outputs[0]);
      nodes.push_back(std::move(scale));
      nodes.push_back(std::move(dq));
    }
    // channels_last (refused) and QLinearSoftmax's `opset` (the float Softmax follows the model's)
    // are the QLinear forms' own.
    for (const auto& [key, value] : node.attributes)
      if (key != "channels_last" && key != "opset") op.attributes[key] = value;
    require(!node.has("channels_last") || node.attr_i("channels_last", 0) == 0,
            node.describe() + ": channels_last=1 is not supported");
    if (input_or_empty(node, form.out_scale).empty()) {  // QGemm without y_scale: a float output
      op.outputs = node.outputs;
      nodes.push_back(std::move(op));
      continue;
    }
    Node q = make_node("QuantizeLinear", node.name + "/quantize",
                       {op.outputs[0], input_or_empty(node, form.out_scale), input_or_empty(node, form.out_zero)},
                       node.outputs);
    nodes.push_back(std::move(op));
    nodes.push_back(std::move(q));
  }
  graph.nodes = std::move(nodes);
  return expanded;
}

int expand_dynamic_quantized_lstm(Graph& graph) {
  std::set<std::string> taken;
  for (const Node& n : graph.nodes) taken.insert(n.outputs.begin(), n.outputs.end());
  for (const auto& kv : graph.initializers) taken.insert(kv.first);
  int expanded = 0;
  for (Node& node : graph.nodes) {
    if (node.op_type != "DynamicQuantizeLSTM" || node.domain != "com.microsoft" || node.inputs.size() != 12) continue;
    bool constants = true;
    for (int i : {1, 2, 8, 9, 10, 11}) constants = constants && graph.is_constant(node.inputs[i]);
    if (!constants) continue;
    // (codes − z)·s per direction d and gate column j, written as [d, column, row]: ONNX's layout.
    auto dequantized = [&](int codes_at, int scale_at, int zero_at) -> std::string {
      const Tensor& q = graph.initializers.at(node.inputs[codes_at]);
      const Tensor& s = graph.initializers.at(node.inputs[scale_at]);
      const Tensor& z = graph.initializers.at(node.inputs[zero_at]);
      require(q.dtype == DType::i64 && q.rank() == 3 && s.dtype == DType::f32 && z.dtype == DType::i64,
              node.describe() + ": expects integer weights [directions, rows, 4·hidden] with float scales");
      const int64_t dirs = q.shape[0], rows = q.shape[1], cols = q.shape[2];
      const bool per_column = s.numel() == dirs * cols;
      require((s.numel() == dirs || per_column) && z.numel() == s.numel(),
              node.describe() + ": scales / zero points must be per direction or per direction and gate column");
      for (int64_t k = 0; k < s.numel(); ++k)
        require(std::isfinite(s.f()[k]), node.describe() + ": scale '" + node.inputs[scale_at] + "' holds " +
                                             std::to_string(s.f()[k]) + " at index " + std::to_string(k));
      Tensor w = Tensor::zeros_f32({dirs, cols, rows}, node.describe());
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t p = per_column ? d * cols + c : d;
            w.f()[(d * cols + c) * rows + r] = static_cast<float>(q.i()[(d * rows + r) * cols + c] - z.i()[p]) * s.f()[p];
          }
      const std::string name = fresh(node.inputs[codes_at], "lstm_weights", taken);
      graph.initializers[name] = std::move(w);
      return name;
    };
    const std::string w = dequantized(1, 8, 9), r = dequantized(2, 10, 11);
    // R's scale per direction and gate column: the LSTM may hold R as these codes (ops/recurrent.cpp).
    const Tensor& r_scale = graph.initializers.at(node.inputs[10]);
    const Shape& r_codes = graph.initializers.at(node.inputs[2]).shape;  // [dirs, hidden, 4·hidden]
    const int64_t dirs = r_codes[0], cols = r_codes[2];
    std::vector<float> column_scales(static_cast<size_t>(dirs * cols));
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t c = 0; c < cols; ++c)
        column_scales[d * cols + c] = r_scale.f()[r_scale.numel() == dirs ? d : d * cols + c];
    node.attributes["_recurrent_scales"] = Attribute::of_floats(std::move(column_scales));
    node.op_type = "LSTM";
    node.domain.clear();
    node.inputs = {node.inputs[0], w, r, node.inputs[3], node.inputs[4], node.inputs[5], node.inputs[6], node.inputs[7]};
    while (!node.inputs.empty() && node.inputs.back().empty()) node.inputs.pop_back();
    ++expanded;
  }
  return expanded;
}

int dequantize_around_float_ops(Graph& graph) {
  // A value's QuantizeLinear, found back through ops that only move integers.
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    for (const std::string& out : graph.nodes[k].outputs)
      if (!out.empty()) producer[out] = k;
  static const std::set<std::string> moves = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity"};
  auto quantize_of = [&](std::string value) -> const Node* {
    for (int depth = 0; depth < 64; ++depth) {
      auto it = producer.find(value);
      if (it == producer.end()) return nullptr;
      const Node& n = graph.nodes[it->second];
      if (n.op_type == "QuantizeLinear" && n.domain.empty() && n.inputs.size() >= 2) return &n;
      if (!n.domain.empty() || !moves.count(n.op_type) || n.inputs.empty()) return nullptr;
      value = n.inputs[0];
    }
    return nullptr;
  };
  std::set<std::string> taken;
  for (const Node& n : graph.nodes) {
    taken.insert(n.inputs.begin(), n.inputs.end());
    taken.insert(n.outputs.begin(), n.outputs.end());
  }
  // Max pooling and nearest resizing commute with the monotone map q -> s·(q − z): on the grid
  // values they pick the same elements.
  static const std::set<std::string> order_preserving = {"MaxPool", "GlobalMaxPool", "Resize"};
  std::vector<const Node*> quantize(graph.nodes.size(), nullptr);  // decided before any node moves
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& node = graph.nodes[k];
    if (node.domain.empty() && order_preserving.count(node.op_type) && !node.inputs.empty() &&
        node.outputs.size() == 1 && (node.op_type != "Resize" || node.attr_s("mode", "nearest") == "nearest"))
      quantize[k] = quantize_of(node.inputs[0]);
  }
  std::vector<Node> nodes;
  int rewritten = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& node = graph.nodes[k];
    if (!quantize[k]) {
      nodes.push_back(node);
      continue;
    }
    const Node* q = quantize[k];
    const std::string scale = q->inputs[1], zero = input_or_empty(*q, 2);
    Node dq = make_node("DequantizeLinear", node.name + "/dequantize", {node.inputs[0], scale, zero},
                        {fresh(node.inputs[0], "dequantized", taken)});
    Node requantize = make_node("QuantizeLinear", node.name + "/quantize", {fresh(node.outputs[0], "float", taken), scale, zero},
                                node.outputs);
    node.inputs[0] = dq.outputs[0];
    node.outputs = {requantize.inputs[0]};
    for (const char* key : {"_qmin", "_qmax", "axis"})
      if (q->has(key)) dq.attributes[key] = requantize.attributes[key] = q->attributes.at(key);
    nodes.push_back(std::move(dq));
    nodes.push_back(node);
    nodes.push_back(std::move(requantize));
    ++rewritten;
  }
  graph.nodes = std::move(nodes);
  return rewritten;
}

// The rest of a weight shift (fold_dynamic_quantization): `main` computes s_o · Σ (x − x_zero)(q − c_o);
// the nodes returned add s_o · (c_o − z_o) · Σ_window (x − x_zero) and write `result`. A product of the
// input with ones (dynamic INT8 as well, so the same integers) gives the window sums: one channel, broadcast
// by a Mul, for an ungrouped conv or a MatMul; one channel per output channel (codes ±1 or 0 on the scales
// s_o · |c_o − z_o|) for a grouped conv, whose window sums differ per group.
template <class ScaleOf>
std::vector<Node> rest_of_shift(Graph& graph, const Node& main, const std::vector<int64_t>& rest, ScaleOf scale_of,
                                const Shape& codes_shape, bool conv, const std::string& result,
                                std::set<std::string>& taken) {
  const auto channels = static_cast<int64_t>(rest.size());
  const int64_t groups = conv ? main.attr_i("group", 1) : 1;
  std::vector<Node> nodes;
  Shape ones_shape = codes_shape;
  if (conv) ones_shape[0] = groups == 1 ? 1 : channels;
  else ones_shape[1] = 1;  // MatMul B [K, 1]
  Tensor ones = Tensor::zeros_f32(ones_shape, main.describe() + " window sums");
  const int64_t per_output = ones.numel() / ones_shape[0];
  std::vector<float> ones_scales;
  if (groups == 1) {
    std::fill(ones.f(), ones.f() + ones.numel(), 1.0f);
    ones_scales = {1.0f};
  } else {
    for (int64_t o = 0; o < channels; ++o) {
      const int64_t r = rest[static_cast<size_t>(o)];
      const float step = scale_of(o) * static_cast<float>(r < 0 ? -r : r), code = r > 0 ? 1.0f : r < 0 ? -1.0f : 0.0f;
      std::fill(ones.f() + o * per_output, ones.f() + (o + 1) * per_output, code * step);
      ones_scales.push_back(step > 0 ? step : scale_of(o));
    }
  }
  const std::string ones_name = fresh(main.inputs[1], "ones", taken);
  graph.initializers[ones_name] = ones;
  graph.weight_scales[ones_name] = WeightScales{ones_scales, groups == 1 ? -1 : 0};
  Node sums = make_node(main.op_type, main.name + "/window_sums", {main.inputs[0], ones_name},
                        {fresh(result, "window_sums", taken)});
  sums.attributes = main.attributes;
  std::string correction = sums.outputs[0];
  nodes.push_back(sums);
  if (groups == 1) {
    Tensor factors = Tensor::zeros_f32(conv ? Shape{1, channels, 1, 1} : Shape{channels}, main.describe() + " shift");
    for (int64_t o = 0; o < channels; ++o)
      factors.f()[o] = scale_of(o) * static_cast<float>(rest[static_cast<size_t>(o)]);
    const std::string factors_name = fresh(result, "shift", taken);
    graph.initializers[factors_name] = factors;
    Node scaled = make_node("Mul", main.name + "/shift", {correction, factors_name},
                            {fresh(result, "shift_sums", taken)});
    correction = scaled.outputs[0];
    nodes.push_back(scaled);
  }
  nodes.push_back(make_node("Add", main.name + "/unshift", {main.outputs[0], correction}, {result}));
  return nodes;
}

int fold_dynamic_quantization(Graph& graph) {
  std::map<std::string, size_t> producer;
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    for (const std::string& out : graph.nodes[k].outputs)
      if (!out.empty()) producer[out] = k;
    for (const std::string& in : graph.nodes[k].inputs)
      if (!in.empty()) readers[in].push_back(k);
  }
  std::set<std::string> graph_outputs;
  for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  auto node_of = [&](const std::string& value) -> Node* {
    auto it = producer.find(value);
    return it == producer.end() ? nullptr : &graph.nodes[it->second];
  };
  // The one node reading `value` (nullptr when it has several readers or is a graph output).
  auto only_reader = [&](const std::string& value) -> Node* {
    auto it = readers.find(value);
    if (it == readers.end() || it->second.size() != 1 || graph_outputs.count(value)) return nullptr;
    return &graph.nodes[it->second[0]];
  };
  auto constant = [&](const std::string& name) { return !name.empty() && graph.is_constant(name); };
  std::set<std::string> taken;
  for (const Node& n : graph.nodes) taken.insert(n.outputs.begin(), n.outputs.end());
  for (const auto& kv : graph.initializers) taken.insert(kv.first);
  std::vector<bool> dead(graph.nodes.size(), false);
  std::map<size_t, std::vector<Node>> extra;  // nodes to place after node k
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& product = graph.nodes[k];
    const bool conv = product.op_type == "ConvInteger", matmul = product.op_type == "MatMulInteger";
    if ((!conv && !matmul) || !product.domain.empty() || product.inputs.size() < 2 || product.outputs.size() != 1) continue;
    const Node* quantize = node_of(product.inputs[0]);
    if (!quantize || quantize->op_type != "DynamicQuantizeLinear" || quantize->outputs.size() != 3 ||
        product.inputs[0] != quantize->outputs[0] || input_or_empty(product, 2) != quantize->outputs[2])
      continue;
    const std::string& codes_name = product.inputs[1];
    const std::string w_zero = input_or_empty(product, 3);
    if (!constant(codes_name) || (!w_zero.empty() && !constant(w_zero))) continue;
    const Tensor& codes = graph.initializers.at(codes_name);
    if (codes.dtype != DType::i64 || (conv && codes.rank() != 4) || (matmul && codes.rank() != 2)) continue;
    // The kernels multiply u8 activations by s8 weights. Each output channel o's codes q are taken
    // as q − c_o with c_o the nearest to the file's zero point z_o that puts them in [−128, 127] (c_o = z_o
    // whenever the channel fits, as every s8 weight with z = 0 does); where c_o ≠ z_o the rest,
    // (c_o − z_o) · Σ_window (x − x_zero), is one extra product of the input with ones, added after:
    // integers exactly as ConvInteger / MatMulInteger sum them (quantize_dynamic's uint8 weights with
    // z = 121 or 178 need it).
    const std::vector<int64_t> zeros = w_zero.empty() ? std::vector<int64_t>{0} : graph.initializers.at(w_zero).as_i64();
    const int64_t channels = conv ? codes.shape[0] : codes.shape[1];
    if (zeros.size() != 1 && static_cast<int64_t>(zeros.size()) != channels) continue;
    const int64_t per_channel = codes.numel() / channels;  // conv: contiguous per channel; MatMul B [K, N]: strided
    auto channel_of = [&](int64_t i) { return conv ? i / per_channel : i % channels; };
    std::vector<int64_t> low(static_cast<size_t>(channels), INT64_MAX), high(static_cast<size_t>(channels), INT64_MIN);
    for (int64_t i = 0, n = codes.numel(); i < n; ++i) {
      const auto o = static_cast<size_t>(channel_of(i));
      low[o] = std::min(low[o], codes.i()[i]);
      high[o] = std::max(high[o], codes.i()[i]);
    }
    std::vector<int64_t> shift(static_cast<size_t>(channels)), rest(static_cast<size_t>(channels));  // c_o, c_o − z_o
    bool fits = true, any_rest = false;
    for (int64_t o = 0; o < channels; ++o) {
      const int64_t z = zeros[zeros.size() == 1 ? 0 : static_cast<size_t>(o)];
      if (high[o] == INT64_MIN) low[o] = high[o] = z;  // an empty channel
      if (high[o] - low[o] > 255) {
        fits = false;
        break;
      }
      shift[o] = std::clamp(z, high[o] - 127, low[o] + 128);
      rest[o] = shift[o] - z;
      any_rest = any_rest || rest[o] != 0;
    }
    if (!fits) continue;  // codes wider than 8 bits: stays exact integer ops
    // An older form adds the bias quantized per run, Reshape(Cast(Floor(Div(B, x_scale · w_scale)))), to
    // the int32 sums: taken as the float bias B (off by less than one unit x_scale · w_scale). Rounding it
    // down per run as the file does takes an Add after the conv, which stops the activation's fusion.
    Node* after = only_reader(product.outputs[0]);
    std::string bias_name;
    Node* bias_add = nullptr;
    if (after && after->op_type == "Add" && after->inputs.size() == 2) {
      const std::string& other = after->inputs[0] == product.outputs[0] ? after->inputs[1] : after->inputs[0];
      const Node* reshape = node_of(other);
      const Node* to_int = reshape && reshape->op_type == "Reshape" ? node_of(reshape->inputs.at(0)) : nullptr;
      const Node* floor = to_int && to_int->op_type == "Cast" ? node_of(to_int->inputs.at(0)) : nullptr;
      const Node* divide = floor && floor->op_type == "Floor" ? node_of(floor->inputs.at(0)) : nullptr;
      if (!divide || divide->op_type != "Div" || divide->inputs.size() != 2 || !constant(divide->inputs[0]) ||
          graph.initializers.at(divide->inputs[0]).dtype != DType::f32)
        continue;
      bias_name = divide->inputs[0];
      bias_add = after;
      after = only_reader(after->outputs[0]);
    }
    Node* cast = after;
    if (!cast || cast->op_type != "Cast" || cast->attr_i("to", 0) != 1) continue;
    Node* scaled = only_reader(cast->outputs[0]);
    if (!scaled || scaled->op_type != "Mul" || scaled->inputs.size() != 2) continue;
    const std::string& scale_value = scaled->inputs[0] == cast->outputs[0] ? scaled->inputs[1] : scaled->inputs[0];
    const Node* scale_product = node_of(scale_value);  // Mul(x_scale, w_scale)
    if (!scale_product || scale_product->op_type != "Mul" || scale_product->inputs.size() != 2) continue;
    const int x_side = scale_product->inputs[0] == quantize->outputs[1] ? 0 : scale_product->inputs[1] == quantize->outputs[1] ? 1 : -1;
    if (x_side < 0 || !constant(scale_product->inputs[1 - x_side])) continue;
    const Tensor& w_scale = graph.initializers.at(scale_product->inputs[1 - x_side]);
    if (!bias_name.empty() && (!conv || graph.initializers.at(bias_name).numel() != channels)) continue;
    if (w_scale.dtype != DType::f32 || !(w_scale.numel() == 1 || (matmul && w_scale.rank() == 1 && w_scale.numel() == channels)))
      continue;
    auto scale_of = [&](int64_t o) { return w_scale.f()[w_scale.numel() == 1 ? 0 : o]; };
    // The float weights s_o · (q − c_o): the file's integers on its scales, which the kernels keep.
    Tensor weights = Tensor::zeros_f32(codes.shape, product.describe());
    for (int64_t i = 0, n = codes.numel(); i < n; ++i) {
      const int64_t o = channel_of(i);
      weights.f()[i] = static_cast<float>(codes.i()[i] - shift[static_cast<size_t>(o)]) * scale_of(o);
    }
    const std::string weights_name = fresh(codes_name, "dequantized", taken);
    graph.initializers[weights_name] = weights;
    graph.weight_scales[weights_name] = WeightScales{w_scale.as_f32(), w_scale.numel() == 1 ? -1 : 1};
    const std::string& result = scaled->outputs[0];
    Node op = make_node(conv ? "Conv" : "MatMul", product.name, {quantize->inputs.at(0), weights_name},
                        {any_rest ? fresh(result, "shifted", taken) : result});
    if (!bias_name.empty()) {
      const std::string flat = fresh(bias_name, "bias", taken);
      graph.initializers[flat] = graph.initializers.at(bias_name).reshaped({channels});
      op.inputs.push_back(flat);
      dead[producer.at(bias_add->outputs[0])] = true;
    }
    for (const auto& [key, value] : product.attributes) op.attributes[key] = value;
    op.attributes["_dynamic_int8"] = int_attribute(1);
    dead[producer.at(cast->outputs[0])] = dead[producer.at(scaled->outputs[0])] = true;
    // After the scaled Mul's place, which follows every value they read.
    if (any_rest) extra[producer.at(scaled->outputs[0])] = rest_of_shift(graph, op, rest, scale_of, codes.shape, conv, result, taken);
    product = std::move(op);
    ++folded;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    if (!dead[k]) kept.push_back(std::move(graph.nodes[k]));
    auto more = extra.find(k);
    if (more != extra.end())
      for (Node& node : more->second) kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
  return folded;
}

int pair_quantize_dequantize(Graph& graph) {
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    for (const std::string& in : graph.nodes[k].inputs)
      if (!in.empty()) readers[in].push_back(k);
  std::set<std::string> graph_outputs;
  for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  // Same parameter: the same value, or constants of equal contents.
  auto same = [&](const std::string& a, const std::string& b) {
    if (a == b) return true;
    if (a.empty() || b.empty() || !graph.is_constant(a) || !graph.is_constant(b)) return false;
    const Tensor &x = graph.initializers.at(a), &y = graph.initializers.at(b);
    return x.dtype == y.dtype && x.shape == y.shape && (x.dtype == DType::f32 ? x.as_f32() == y.as_f32()
                                                                             : x.as_i64() == y.as_i64());
  };
  std::vector<bool> dead(graph.nodes.size(), false);
  int paired = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& q = graph.nodes[k];
    if (q.op_type != "QuantizeLinear" || !q.domain.empty() || q.outputs.size() != 1 || q.inputs.size() < 2) continue;
    const std::string& y = q.outputs[0];
    auto it = readers.find(y);
    if (it == readers.end() || graph_outputs.count(y)) continue;
    bool pairs = true;
    for (size_t r : it->second) {
      const Node& dq = graph.nodes[r];
      pairs = pairs && dq.op_type == "DequantizeLinear" && dq.domain.empty() && dq.outputs.size() == 1 &&
              dq.inputs.size() >= 2 && dq.inputs[0] == y && same(dq.inputs[1], q.inputs[1]) &&
              same(input_or_empty(dq, 2), input_or_empty(q, 2)) && dq.attr_i("axis", 1) == q.attr_i("axis", 1) &&
              !dq.has("block_size") && !q.has("block_size");
    }
    if (!pairs) continue;
    // The pair writes the first DequantizeLinear's output; the others become Identity of it.
    const std::vector<size_t>& dqs = it->second;
    Node qdq = q;
    qdq.op_type = "QuantizeDequantize";
    qdq.outputs = graph.nodes[dqs[0]].outputs;
    q = std::move(qdq);
    for (size_t j = 0; j < dqs.size(); ++j) {
      Node& dq = graph.nodes[dqs[j]];
      if (j == 0) {
        dead[dqs[j]] = true;
        continue;
      }
      dq.op_type = "Identity";
      dq.inputs = {q.outputs[0]};
      dq.attributes.clear();
    }
    ++paired;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!dead[k]) kept.push_back(std::move(graph.nodes[k]));
  graph.nodes = std::move(kept);
  return paired;
}

int requantize_concat_inputs(Graph& graph) {
  std::map<std::string, size_t> producer;
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    for (const std::string& out : graph.nodes[k].outputs) producer[out] = k;
    for (const std::string& in : graph.nodes[k].inputs)
      if (!in.empty()) readers[in].push_back(k);
  }
  std::set<std::string> graph_outputs, taken;
  for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  for (const Node& n : graph.nodes) taken.insert(n.outputs.begin(), n.outputs.end());
  // A pair's grid: its scale and zero point values and its integer range (constants only).
  auto grid = [&](const Node& pair, std::vector<float>& key) {
    if (pair.op_type != "QuantizeDequantize" || pair.inputs.size() < 2 || !graph.is_constant(pair.inputs[1]) ||
        (pair.inputs.size() > 2 && !pair.inputs[2].empty() && !graph.is_constant(pair.inputs[2])))
      return false;
    const Tensor& scale = graph.initializers.at(pair.inputs[1]);
    if (scale.numel() != 1) return false;
    const QuantizedRange range = quantized_range(pair);
    const int64_t zero = pair.inputs.size() > 2 && !pair.inputs[2].empty() ? graph.initializers.at(pair.inputs[2]).as_i64().at(0) : 0;
    key = {scale.as_f32()[0], static_cast<float>(zero), static_cast<float>(range.min), static_cast<float>(range.max)};
    return true;
  };
  std::vector<Node> added;
  int moved = 0;
  for (Node& concat : graph.nodes) {
    if (concat.op_type != "Concat" || !concat.domain.empty() || concat.outputs.size() != 1 ||
        graph_outputs.count(concat.outputs[0]))
      continue;
    auto out_readers = readers.find(concat.outputs[0]);
    if (out_readers == readers.end() || out_readers->second.size() != 1) continue;
    const Node& after = graph.nodes[out_readers->second[0]];
    std::vector<float> target;
    if (!grid(after, target)) continue;
    for (std::string& in : concat.inputs) {
      auto p = producer.find(in);
      std::vector<float> own;
      if (p == producer.end() || !grid(graph.nodes[p->second], own) || own == target) continue;
      Node pair = after;  // the output's pair, on this input
      pair.name = fresh(after.name, ("for_" + concat.name).c_str(), taken);
      pair.inputs[0] = in;
      pair.outputs = {fresh(in, "requantized", taken)};
      in = pair.outputs[0];
      added.push_back(std::move(pair));
      ++moved;
    }
  }
  for (Node& n : added) graph.nodes.push_back(std::move(n));  // the loader sorts the nodes after this
  return moved;
}

bool pair_grid(const Graph& graph, const Node& pair, PairGrid& grid) {
  if (pair.op_type != "QuantizeDequantize" || pair.inputs.size() < 2 || !graph.is_constant(pair.inputs[1])) return false;
  const bool has_zero = pair.inputs.size() > 2 && !pair.inputs[2].empty();
  if (has_zero && !graph.is_constant(pair.inputs[2])) return false;
  const Tensor& scale = graph.initializers.at(pair.inputs[1]);
  const QuantizedRange range = quantized_range(pair);
  if (scale.dtype != DType::f32 || scale.numel() != 1 || range.max - range.min != 255) return false;
  if (has_zero && graph.initializers.at(pair.inputs[2]).numel() != 1) return false;
  grid.scale = scale.f()[0];
  grid.zero = has_zero ? graph.initializers.at(pair.inputs[2]).as_i64().at(0) : 0;
  grid.min = range.min;
  return std::isfinite(grid.scale) && grid.scale > 0;
}

size_t output_grid_input(const Node& node) {
  const std::string& t = node.op_type;
  if (t == "QuantizeDequantize" || t == "DequantizeLinear") return 1;
  if (t == "CodeTable" || t == "CodeAveragePool") return 3;
  return t == "CodeAdd" ? 6 : 0;
}

bool written_grid(const Graph& graph, const Node& n, PairGrid& grid) {
  if (pair_grid(graph, n, grid)) return true;
  const size_t at = output_grid_input(n);
  if (at < 3) return false;  // the engine's own nodes below: 8-bit grids
  if (n.inputs.size() <= at + 1 || !graph.is_constant(n.inputs[at]) ||
      (!n.inputs[at + 1].empty() && !graph.is_constant(n.inputs[at + 1])))
    return false;
  const Tensor& scale = graph.initializers.at(n.inputs[at]);
  if (scale.numel() != 1 || !scale.is_real()) return false;
  grid.scale = scale.as_f32()[0];
  grid.zero = n.inputs[at + 1].empty() ? 0 : graph.initializers.at(n.inputs[at + 1]).as_i64().at(0);
  grid.min = quantized_range(n).min;
  return std::isfinite(grid.scale) && grid.scale > 0;
}

int remove_pairs_after_data_moves(Graph& graph) {
  // each declares passes_u8 (ops/): the codes go on through it, in its input's group
  static const std::set<std::string> moves = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Split", "Gather"};
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  // The grid `value` lies on (false: none known), through the moves before it.
  auto grid_of = [&](std::string value, PairGrid& grid) {
    for (int depth = 0; depth < 64; ++depth) {
      const int p = index.producer(value);
      if (p < 0) return false;
      const Node& n = graph.nodes[p];
      if (written_grid(graph, n, grid)) return true;
      if (!n.domain.empty() || !moves.count(n.op_type) || n.inputs.empty()) return false;
      value = n.inputs[0];
    }
    return false;
  };
  int removed = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& pair = graph.nodes[k];
    PairGrid own, before;
    if (!pair_grid(graph, pair, own) || pair.outputs.size() != 1 || pair.outputs[0].empty()) continue;
    const std::string& moved = pair.inputs[0];
    const int m = index.producer(moved);
    if (m < 0 || dead[m] || index.readers(moved) != 1) continue;  // another reader, or a graph output
    const Node& move = graph.nodes[m];
    if (!move.domain.empty() || !moves.count(move.op_type) || move.inputs.empty() ||
        !grid_of(move.inputs[0], before))
      continue;
    if (before.scale != own.scale || before.zero != own.zero || before.min != own.min) continue;
    for (std::string& out : graph.nodes[m].outputs)
      if (out == moved) out = pair.outputs[0];
    index.forget(moved);
    index.set_producer(pair.outputs[0], m);  // a move after this one finds the grid through it
    dead[k] = true;
    ++removed;
  }
  erase_nodes(graph, dead);
  return removed;
}

}  // namespace edgequant::engine
