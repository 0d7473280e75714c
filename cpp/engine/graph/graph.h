// The engine's graph IR: what the ONNX loader produces and the passes rewrite. Nodes are kept in
// topological order (the loader checks it); values are named as in ONNX.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace edgequant::engine {

struct Graph;

struct Attribute {
  enum class Kind { none, i, f, s, ints, floats, tensor, graph, strings } kind = Kind::none;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;  // e.g. LSTM's activations
  Tensor tensor;
  // A subgraph (If's branches, Loop's body), shared read-only by the node's copies. The values it
  // reads from the enclosing graphs are also inputs of its node (after `_captures_from`, see
  // onnx/loader.cpp), so the outer graph's order and pruning see them.
  std::shared_ptr<const Graph> graph;

  // The attributes the engine's own passes write on nodes they make (`_table`, `_clip` ...).
  static Attribute of_ints(std::vector<int64_t> values) {
    Attribute a;
    a.kind = Kind::ints;
    a.ints = std::move(values);
    return a;
  }
  static Attribute of_floats(std::vector<float> values) {
    Attribute a;
    a.kind = Kind::floats;
    a.floats = std::move(values);
    return a;
  }
};

struct Node {
  std::string name;     // never empty: the loader names unnamed nodes "<op_type>_<index>"
  std::string op_type;
  std::string domain;   // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;

  bool has(const std::string& key) const { return attributes.count(key) != 0; }
  // Whether an attribute holds a subgraph (If's branches, Loop's body): such a node reads values by name.
  bool has_subgraph() const {
    for (const auto& kv : attributes)
      if (kv.second.kind == Attribute::Kind::graph) return true;
    return false;
  }
  int64_t attr_i(const std::string& key, int64_t fallback) const;
  float attr_f(const std::string& key, float fallback) const;
  std::string attr_s(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  // "Conv 'conv1'": how errors name a node.
  std::string describe() const { return op_type + " node '" + name + "'"; }
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::f32;
  bool was_float16 = false;  // the model declared float16: the engine computes in float32
  Shape shape;               // -1 for a symbolic / unknown dim
};

// The scales a quantized model gives a weight initializer: a DequantizeLinear of s8 codes with zero
// point 0, folded at load (onnx/loader.cpp). Per tensor (axis -1) or one scale per index of `axis`.
// Conv / Gemm / MatMul quantize such weights with these scales, recovering the file's codes.
struct WeightScales {
  std::vector<float> scales;
  int64_t axis = -1;
};

struct Graph {
  std::vector<ValueInfo> inputs;   // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  // Graph outputs the engine cannot return (maps, sequences, strings): name, why. Not computed.
  std::vector<std::pair<std::string, std::string>> ignored_outputs;
  std::map<std::string, Tensor> initializers;
  std::map<std::string, WeightScales> weight_scales;  // by initializer name
  std::vector<Node> nodes;
  int64_t opset = 0;

  bool is_constant(const std::string& value) const { return initializers.count(value) != 0; }
};

}  // namespace edgequant::engine
