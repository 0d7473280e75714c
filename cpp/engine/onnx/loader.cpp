#include "onnx/loader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/error.h"
#include "graph/qdq.h"
#include "onnx/escaped.h"
#include "onnx/external_data.h"
#include "onnx/float16.h"
#include "onnx/onnx.pb.h"

namespace edgequant::engine {

namespace {

// ONNX TensorProto.DataType codes.
enum : int { kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6, kInt64 = 7, kBool = 9,
             kFloat16 = 10, kDouble = 11, kUint32 = 12, kUint64 = 13, kBfloat16 = 16 };

size_t element_bytes(int type) {
  switch (type) {
    case kFloat: case kInt32: return 4;
    case kInt64: case kDouble: return 8;
    case kFloat16: case kBfloat16: case kInt16: return 2;
    case kUint8: case kInt8: case kBool: return 1;
    default: return 0;
  }
}

bool is_float_type(int type) {
  return type == kFloat || type == kFloat16 || type == kDouble || type == kBfloat16;
}

// Names reach Python (str) and error messages: bytes that are not UTF-8 are corrupt data here, not a
// UnicodeDecodeError later. Overlong forms, surrogates and code points past U+10FFFF are refused.
bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    int extra = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) { ++p; continue; }
    if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (end - p <= extra) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

const std::string& checked_name(const std::string& s, const char* what) {
  if (!valid_utf8(s)) throw CorruptData(std::string(what) + " '" + escaped(s) + "' is not valid UTF-8");
  return s;
}

template <class T>
T read_raw(const std::string& raw, size_t k) {
  T v;
  std::memcpy(&v, raw.data() + k * sizeof(T), sizeof(T));
  return v;
}

// Converts one TensorProto to a float32 or int64 tensor; `context` names its owner in errors.
// External data is read from under `base_dir` ("" when the model came as bytes: refused).
Tensor convert_tensor(const onnx::TensorProto& proto, const std::string& context, const std::string& base_dir) {
  const int type = proto.data_type();
  require(element_bytes(type) != 0, context + ": tensor data type " + std::to_string(type) + " is not supported");
  Shape shape(proto.dims().begin(), proto.dims().end());
  const int64_t n = checked_numel(shape, context);
  const bool to_float = is_float_type(type);
  const std::string* raw_data = proto.has_raw_data() ? &proto.raw_data() : nullptr;
  std::string external;
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    require(!base_dir.empty(), context + ": its data is in an external file, and a model given as bytes has no "
                               "folder to read it from: load the model from its file");
    ExternalDataEntries entries;
    for (const auto& e : proto.external_data()) entries.emplace_back(e.key(), e.value());
    external = read_external_data(base_dir, proto.name(), entries, static_cast<size_t>(n) * element_bytes(type));
    raw_data = &external;
  }
  // The data is checked before the tensor is allocated: a few bytes can declare 2^34 elements.
  if (raw_data) {
    if (raw_data->size() != static_cast<size_t>(n) * element_bytes(type))
      throw CorruptData(context + ": raw_data holds " + std::to_string(raw_data->size()) + " bytes, shape " +
                        shape_string(shape) + " needs " + std::to_string(n * element_bytes(type)));
  } else {
    // Typed repeated fields: float_data (float), int32_data (int32, int8, uint8, bool and the
    // 16-bit floats as bit patterns), int64_data, double_data.
    int64_t available = 0;
    switch (type) {
      case kFloat: available = proto.float_data_size(); break;
      case kDouble: available = proto.double_data_size(); break;
      case kInt64: available = proto.int64_data_size(); break;
      default: available = proto.int32_data_size(); break;
    }
    if (available != n)
      throw CorruptData(context + ": tensor holds " + std::to_string(available) + " values, shape " +
                        shape_string(shape) + " needs " + std::to_string(n));
  }
  Tensor t = to_float ? Tensor::zeros_f32(shape, context) : Tensor::zeros_i64(shape, context);
  auto put = [&](int64_t k, double v) {
    if (to_float) t.f()[k] = static_cast<float>(v);
    else t.i()[k] = static_cast<int64_t>(v);
  };
  if (raw_data) {
    const std::string& raw = *raw_data;
    for (int64_t k = 0; k < n; ++k) {
      switch (type) {
        case kFloat: t.f()[k] = read_raw<float>(raw, k); break;
        case kDouble: put(k, read_raw<double>(raw, k)); break;
        case kFloat16: t.f()[k] = half_to_float(read_raw<uint16_t>(raw, k)); break;
        case kBfloat16: t.f()[k] = bfloat16_to_float(read_raw<uint16_t>(raw, k)); break;
        case kInt64: t.i()[k] = read_raw<int64_t>(raw, k); break;
        case kInt32: t.i()[k] = read_raw<int32_t>(raw, k); break;
        case kInt8: t.i()[k] = read_raw<int8_t>(raw, k); break;
        case kInt16: t.i()[k] = read_raw<int16_t>(raw, k); break;
        case kUint8: case kBool: t.i()[k] = read_raw<uint8_t>(raw, k); break;
      }
    }
    return t;
  }
  for (int64_t k = 0; k < n; ++k) {
    switch (type) {
      case kFloat: t.f()[k] = proto.float_data(static_cast<int>(k)); break;
      case kDouble: put(k, proto.double_data(static_cast<int>(k))); break;
      case kInt64: t.i()[k] = proto.int64_data(static_cast<int>(k)); break;
      case kFloat16: t.f()[k] = half_to_float(static_cast<uint16_t>(proto.int32_data(static_cast<int>(k)))); break;
      case kBfloat16: t.f()[k] = bfloat16_to_float(static_cast<uint16_t>(proto.int32_data(static_cast<int>(k)))); break;
      default: t.i()[k] = proto.int32_data(static_cast<int>(k)); break;
    }
  }
  return t;
}

void read_graph(const onnx::GraphProto& g, Graph& graph, const std::string& base_dir, bool subgraph);

Attribute convert_attribute(const onnx::AttributeProto& proto, const std::string& context,
                            const std::string& base_dir) {
  Attribute a;
  switch (proto.type()) {
    case onnx::AttributeProto::INT: a.kind = Attribute::Kind::i; a.i = proto.i(); break;
    case onnx::AttributeProto::FLOAT: a.kind = Attribute::Kind::f; a.f = proto.f(); break;
    case onnx::AttributeProto::STRING:
      a.kind = Attribute::Kind::s;
      a.s = checked_name(proto.s(), (context + ": string attribute '" + proto.name() + "' holds text").c_str());
      break;
    case onnx::AttributeProto::INTS:
      a.kind = Attribute::Kind::ints;
      a.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      a.kind = Attribute::Kind::floats;
      a.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case onnx::AttributeProto::STRINGS:
      a.kind = Attribute::Kind::strings;
      for (const std::string& text : proto.strings())
        a.strings.push_back(checked_name(text, (context + ": strings attribute '" + proto.name() + "' holds text").c_str()));
      break;
    case onnx::AttributeProto::TENSOR:
      a.kind = Attribute::Kind::tensor;
      a.tensor = convert_tensor(proto.t(), context + " attribute '" + proto.name() + "'", base_dir);
      break;
    case onnx::AttributeProto::GRAPH: {
      // If's branches, Loop's and Scan's bodies: read like the main graph, and whether the op can
      // run is decided with every other op (one error lists every unsupported op).
      auto subgraph = std::make_shared<Graph>();
      read_graph(proto.g(), *subgraph, base_dir, true);
      a.kind = Attribute::Kind::graph;
      a.graph = std::move(subgraph);
      break;
    }
    default:
      throw InvalidArgument(context + ": attribute '" + proto.name() + "' of type " +
                            std::to_string(proto.type()) + " is not supported (lists of subgraphs or tensors)");
  }
  return a;
}

// Why a graph output cannot be a tensor of the engine ("" if it can): maps, sequences, strings.
std::string non_tensor_reason(const onnx::ValueInfoProto& proto) {
  if (proto.has_type() && !proto.type().has_tensor_type()) return "not a tensor (a map, sequence or optional)";
  if (proto.type().tensor_type().elem_type() == 8) return "a tensor of strings";
  return "";
}

ValueInfo convert_value_info(const onnx::ValueInfoProto& proto) {
  ValueInfo info;
  info.name = checked_name(proto.name(), "graph input/output name");
  const auto& type = proto.type().tensor_type();
  const int elem = type.elem_type();
  // Every integer type and bool are held as int64 (bool as 0 / 1), as the ops compute them.
  const bool integer = elem == kInt64 || elem == kInt32 || elem == kInt16 || elem == kInt8 || elem == kUint8 ||
                       elem == kBool || elem == kUint16 || elem == kUint32 || elem == kUint64;
  require(is_float_type(elem) || integer,
          "graph input/output '" + info.name + "' has element type " + std::to_string(elem) +
              " (supported: float, float16, double, bfloat16, the integer types and bool)");
  info.dtype = is_float_type(elem) ? DType::f32 : DType::i64;
  info.was_float16 = elem == kFloat16;
  for (const auto& dim : type.shape().dim()) info.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  return info;
}

// The nodes sorted topologically (Kahn's algorithm, in file order among the ready ones: linear in
// the graph's size however the file orders them), every value defined once and every read value
// defined somewhere.
// In a subgraph (`subgraph`), a value defined nowhere in it comes from an enclosing graph.
void sort_and_check(Graph& graph, bool subgraph) {
  std::unordered_map<std::string, int> producer;  // value -> node (-1: graph input or initializer)
  for (const ValueInfo& in : graph.inputs) producer[in.name] = -1;
  for (const auto& kv : graph.initializers) producer[kv.first] = -1;
  const int count = static_cast<int>(graph.nodes.size());
  for (int k = 0; k < count; ++k)
    for (const std::string& out : graph.nodes[k].outputs) {
      if (out.empty()) continue;
      if (!producer.emplace(out, k).second)
        throw CorruptData(graph.nodes[k].describe() + ": output '" + out + "' is defined twice");
    }
  std::vector<int> waiting(count, 0);             // inputs still to be computed, per node
  std::vector<std::vector<int>> readers(count);   // node -> nodes reading one of its outputs
  for (int k = 0; k < count; ++k)
    for (const std::string& in : graph.nodes[k].inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end() && subgraph) continue;  // from an enclosing graph
      if (it == producer.end())
        throw CorruptData(graph.nodes[k].describe() + ": input '" + in + "' is never produced");
      if (it->second >= 0) {
        ++waiting[k];
        readers[it->second].push_back(k);
      }
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int k = 0; k < count; ++k)
    if (waiting[k] == 0) ready.push(k);
  std::vector<Node> sorted;
  sorted.reserve(count);
  std::vector<bool> done(count, false);
  while (!ready.empty()) {
    const int k = ready.top();
    ready.pop();
    done[k] = true;
    for (int r : readers[k])
      if (--waiting[r] == 0) ready.push(r);
    sorted.push_back(std::move(graph.nodes[k]));
  }
  if (static_cast<int>(sorted.size()) != count)
    for (int k = 0; k < count; ++k)
      if (!done[k]) {
        const Node& node = graph.nodes[k];
        for (const std::string& in : node.inputs)
          if (!in.empty() && producer.count(in) && producer.at(in) >= 0 && !done[producer.at(in)])
            throw CorruptData(node.describe() + ": input '" + in + "' comes from a cycle in the graph");
      }
  graph.nodes = std::move(sorted);
  for (const ValueInfo& out : graph.outputs)
    if (!subgraph && !producer.count(out.name)) throw CorruptData("graph output '" + out.name + "' is never produced");
}

// The values a subgraph reads from its enclosing graphs: what its nodes (whose own subgraphs'
// captures are already their inputs) and outputs name but it does not define, in first-use order.
std::vector<std::string> captured_values(const Graph& subgraph) {
  std::set<std::string> defined;
  for (const ValueInfo& in : subgraph.inputs) defined.insert(in.name);
  for (const auto& kv : subgraph.initializers) defined.insert(kv.first);
  for (const Node& n : subgraph.nodes) defined.insert(n.outputs.begin(), n.outputs.end());
  std::vector<std::string> captured;
  std::set<std::string> seen;
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) captured.push_back(name);
  };
  for (const Node& n : subgraph.nodes)
    for (const std::string& in : n.inputs) use(in);
  for (const ValueInfo& out : subgraph.outputs) use(out.name);
  return captured;
}

// A node with subgraphs reads their captured values: appended to its inputs, from index
// `_captures_from` on, so ordering, pruning and the ops see them like any input.
void add_captured_inputs(Node& node) {
  std::vector<std::string> captured;
  for (const auto& kv : node.attributes)
    if (kv.second.graph)
      for (const std::string& name : captured_values(*kv.second.graph))
        if (std::find(captured.begin(), captured.end(), name) == captured.end()) captured.push_back(name);
  if (captured.empty() && node.op_type != "If") return;
  Attribute from;
  from.kind = Attribute::Kind::i;
  from.i = static_cast<int64_t>(node.inputs.size());
  node.attributes["_captures_from"] = from;
  node.inputs.insert(node.inputs.end(), captured.begin(), captured.end());
}

void constant_to_initializer(const Node& node, Graph& graph) {
  require(node.outputs.size() == 1 && node.inputs.empty(), node.describe() + ": a Constant has no inputs and one output");
  Tensor value;
  if (node.has("value")) {
    const Attribute& a = node.attributes.at("value");
    require(a.kind == Attribute::Kind::tensor, node.describe() + ": 'value' must be a tensor");
    value = a.tensor;
  } else if (node.has("value_float")) {
    value = Tensor::zeros_f32({});
    value.f()[0] = node.attr_f("value_float", 0);
  } else if (node.has("value_floats")) {
    const auto& v = node.attributes.at("value_floats").floats;
    value = Tensor::zeros_f32({static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), value.f());
  } else if (node.has("value_int")) {
    value = Tensor::from_i64({node.attr_i("value_int", 0)});
    value.shape = {};
  } else if (node.has("value_ints")) {
    value = Tensor::from_i64(node.attr_ints("value_ints"));
  } else {
    throw InvalidArgument(node.describe() + ": only value / value_float(s) / value_int(s) constants are supported");
  }
  graph.initializers[node.outputs[0]] = value;
}

// A DequantizeLinear whose inputs are all constants (QDQ weights: integer codes, scales, zero
// points) becomes the float initializer it computes, y = float(x - zero_point) * scale in float32
// as ONNX Runtime computes it, per tensor (scalar scale) or along `axis` (1-D scale). Returns
// whether it was folded; a DequantizeLinear of a computed value is left for the op check.
bool fold_constant_dequantize(const Node& node, Graph& graph) {
  if (node.op_type != "DequantizeLinear" || !node.domain.empty() || node.inputs.size() < 2 ||
      node.outputs.size() != 1)
    return false;
  for (size_t k = 0; k < node.inputs.size(); ++k)
    if (!node.inputs[k].empty() && !graph.initializers.count(node.inputs[k])) return false;
  const Tensor& codes = graph.initializers.at(node.inputs[0]);
  const Tensor& scale = graph.initializers.at(node.inputs[1]);
  const bool has_zero_point = node.inputs.size() > 2 && !node.inputs[2].empty();
  require(codes.dtype == DType::i64, node.describe() + ": only integer inputs are folded (int8, uint8, int16, int32)");
  require(scale.dtype == DType::f32, node.describe() + ": the scale must be a float tensor");
  require(node.attr_i("block_size", 0) == 0, node.describe() + ": blocked quantization (block_size) is not supported");
  int64_t channels = 1, inner = 1, axis = -1;
  if (scale.rank() == 1 && scale.numel() != 1) {  // one scale: per tensor whatever its rank
    axis = node.attr_i("axis", 1);
    if (axis < 0) axis += codes.rank();
    require(axis >= 0 && axis < codes.rank(), node.describe() + ": axis out of range");
    channels = codes.shape[axis];
    require(scale.numel() == channels, node.describe() + ": " + std::to_string(scale.numel()) + " scales for " +
                                           std::to_string(channels) + " channels along axis " + std::to_string(axis));
    for (int d = static_cast<int>(axis) + 1; d < codes.rank(); ++d) inner *= codes.shape[d];
  } else {
    require(scale.numel() == 1, node.describe() + ": the scale must be a scalar or 1-D");
  }
  std::vector<int64_t> zero(channels, 0);
  if (has_zero_point) {
    const Tensor& zp = graph.initializers.at(node.inputs[2]);
    require(zp.dtype == DType::i64 && zp.numel() == channels,
            node.describe() + ": the zero point must be an integer tensor shaped like the scale");
    std::copy(zp.i(), zp.i() + channels, zero.begin());
  }
  Tensor out = Tensor::zeros_f32(codes.shape, node.describe());
  const int64_t n = codes.numel();
  const int64_t* q = codes.i();
  const float* s = scale.f();
  float* y = out.f();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = (k / inner) % channels;
    y[k] = static_cast<float>(q[k] - zero[c]) * s[c];
  }
  graph.initializers[node.outputs[0]] = out;
  // s8 codes with zero point 0 (ONNX Runtime's weights): the INT8 kernels quantize these weights
  // with the file's scales, which gives back the file's codes (graph.h: weight_scales).
  const QuantizedRange range = quantized_range(node);
  if (range.min == -128 && range.max == 127 && std::all_of(zero.begin(), zero.end(), [](int64_t z) { return z == 0; }))
    graph.weight_scales[node.outputs[0]] = WeightScales{std::vector<float>(s, s + channels), axis};
  return true;
}

}  // namespace

namespace {

// Subgraph inputs and outputs: named only (a branch's outputs often carry no type; the engine
// takes whatever dtype its nodes compute).
// Each QuantizeLinear / DequantizeLinear gets the integer range of its quantized type: the zero
// point's type, else (DequantizeLinear) its input's, else QuantizeLinear's `output_dtype`, else
// uint8 as ONNX defines. A DequantizeLinear of a QuantizeLinear's output takes that node's range.
void annotate_quantized_ranges(Graph& graph, const std::map<std::string, int>& element_types) {
  std::map<std::string, QuantizedRange> produced;  // QuantizeLinear outputs
  auto range_of_value = [&](const std::string& value, QuantizedRange& range) {
    if (value.empty()) return false;
    auto it = element_types.find(value);
    if (it != element_types.end()) return quantized_range_of(it->second, range);
    auto p = produced.find(value);
    if (p == produced.end()) return false;
    range = p->second;
    return true;
  };
  for (int pass = 0; pass < 2; ++pass)  // Quantize first: its outputs' ranges serve the Dequantize nodes
    for (Node& node : graph.nodes) {
      const bool quantize = node.op_type == "QuantizeLinear", dequantize = node.op_type == "DequantizeLinear";
      if (!node.domain.empty() || (pass == 0 ? !quantize : !dequantize)) continue;
      QuantizedRange range;
      const std::string zero = node.inputs.size() > 2 ? node.inputs[2] : "";
      if (!range_of_value(zero, range) && !(dequantize && !node.inputs.empty() && range_of_value(node.inputs[0], range)) &&
          !(quantize && node.has("output_dtype") && quantized_range_of(static_cast<int>(node.attr_i("output_dtype", 2)), range)))
        range = QuantizedRange{0, 255};
      set_quantized_range(node, range);
      if (quantize && !node.outputs.empty()) produced[node.outputs[0]] = range;
    }
}

ValueInfo subgraph_value(const onnx::ValueInfoProto& proto) {
  ValueInfo info;
  info.name = checked_name(proto.name(), "subgraph input/output name");
  return info;
}

void read_graph(const onnx::GraphProto& g, Graph& graph, const std::string& base_dir, bool subgraph) {
  std::set<std::string> initializer_names;
  std::map<std::string, int> element_types;  // constants' ONNX types: quantized nodes' integer ranges
  for (const auto& init : g.initializer()) {
    require(!init.name().empty(), "an initializer has no name");
    checked_name(init.name(), "initializer name");
    graph.initializers[init.name()] = convert_tensor(init, "initializer '" + init.name() + "'", base_dir);
    initializer_names.insert(init.name());
    element_types[init.name()] = init.data_type();
  }
  for (const auto& in : g.input()) {
    if (!initializer_names.count(in.name()))
      graph.inputs.push_back(subgraph ? subgraph_value(in) : convert_value_info(in));
    if (in.type().has_tensor_type()) element_types.emplace(in.name(), in.type().tensor_type().elem_type());
  }
  for (const auto& info : g.value_info())
    if (info.type().has_tensor_type()) element_types.emplace(info.name(), info.type().tensor_type().elem_type());
  for (const auto& out : g.output()) {
    if (subgraph) {
      graph.outputs.push_back(subgraph_value(out));
      continue;
    }
    const std::string why = non_tensor_reason(out);
    if (why.empty()) graph.outputs.push_back(convert_value_info(out));
    else graph.ignored_outputs.push_back({checked_name(out.name(), "graph output name"), why});
  }
  if (!subgraph)
    require(!graph.outputs.empty(), graph.ignored_outputs.empty()
                                        ? "ONNX graph has no outputs"
                                        : "ONNX graph has no tensor outputs (" + graph.ignored_outputs[0].first +
                                              " is " + graph.ignored_outputs[0].second +
                                              "): choose outputs (outputs=[...])");
  int index = 0;
  for (const auto& n : g.node()) {
    Node node;
    node.op_type = checked_name(n.op_type(), "op type");
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : checked_name(n.name(), "node name");
    ++index;
    // Other domains' nodes (ai.onnx.ml's ZipMap ...) are kept: the engine drops those no output
    // needs, and names the rest, with every unsupported op, in one error.
    if (!n.domain().empty() && n.domain() != "ai.onnx") node.domain = checked_name(n.domain(), "operator domain");
    for (const auto& v : n.input()) node.inputs.push_back(checked_name(v, "value name"));
    for (const auto& v : n.output()) node.outputs.push_back(checked_name(v, "value name"));
    bool has_subgraph = false;
    for (const auto& attr : n.attribute()) {
      const std::string& name = checked_name(attr.name(), "attribute name");
      Attribute a = convert_attribute(attr, node.describe(), base_dir);
      // ONNX ops taking subgraphs: If, Loop, Scan (another domain's ops are judged with the
      // unsupported ones); a subgraph anywhere else is a malformed node.
      const bool takes_subgraphs = !node.domain.empty() || node.op_type == "If" || node.op_type == "Loop" ||
                                   node.op_type == "Scan";
      require(a.graph == nullptr || takes_subgraphs,
              node.describe() + ": attribute '" + name + "' is a subgraph, which " + node.op_type +
                  " does not take");
      has_subgraph = has_subgraph || a.graph != nullptr;
      node.attributes[name] = std::move(a);
    }
    if (has_subgraph) add_captured_inputs(node);
    if (node.op_type == "Constant") {
      for (const auto& attr : n.attribute())
        if (attr.name() == "value" && attr.type() == onnx::AttributeProto::TENSOR && !node.outputs.empty())
          element_types[node.outputs[0]] = attr.t().data_type();
      constant_to_initializer(node, graph);
      continue;
    }
    graph.nodes.push_back(std::move(node));
  }
  // Quantized models (graph/qdq.h): QLinear ops as DequantizeLinear -> op -> QuantizeLinear, the
  // integer range of every QuantizeLinear / DequantizeLinear noted while the element types are known.
  expand_qlinear_ops(graph);
  expand_dynamic_quantized_lstm(graph);
  annotate_quantized_ranges(graph, element_types);
  dequantize_around_float_ops(graph);
  // QDQ weights: fold constant DequantizeLinear nodes (their inputs may come from Constant nodes
  // anywhere in the file, so this runs once every node is read; chains fold over passes).
  for (bool folded = true; folded;) {
    folded = false;
    std::vector<Node> kept;
    for (Node& node : graph.nodes) {
      if (fold_constant_dequantize(node, graph)) folded = true;
      else kept.push_back(std::move(node));
    }
    graph.nodes = std::move(kept);
  }
  pair_quantize_dequantize(graph);
  requantize_concat_inputs(graph);
  fold_dynamic_quantization(graph);
  sort_and_check(graph, subgraph);
}

}  // namespace

Graph load_onnx_bytes(const void* data, size_t size, const std::string& base_dir) {
  require(data != nullptr || size == 0, "load_onnx_bytes: null buffer");
  require(size <= static_cast<size_t>(INT32_MAX), "ONNX model larger than 2 GiB: keep its tensors in external data files");
  onnx::ModelProto model;
  if (size == 0 || !model.ParseFromArray(data, static_cast<int>(size)))
    throw CorruptData("not a valid ONNX model: the protobuf does not parse (truncated or corrupted file?)");
  if (!model.has_graph()) throw CorruptData("ONNX model has no graph");
  Graph graph;
  for (const auto& opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") graph.opset = opset.version();
  read_graph(model.graph(), graph, base_dir, false);
  return graph;
}

Graph load_onnx_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw InvalidArgument("cannot open ONNX model '" + path + "'");
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string bytes = buffer.str();
  // External data lies beside the model file: the folder as named, symlinks in it followed later.
  std::string folder = std::filesystem::path(path).parent_path().string();
  return load_onnx_bytes(bytes.data(), bytes.size(), folder.empty() ? "." : folder);
}

}  // namespace edgequant::engine
