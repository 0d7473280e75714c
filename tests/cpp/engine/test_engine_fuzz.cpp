// Structured fuzzing of the engine: a seed graph with most op kinds (Conv, BatchNormalization,
// Relu, Split, Add, Div, Concat, MaxPool, Reshape, Gemm, Dropout, Shape and int64 Div) mutated
// at the ONNX level in the ways issue 9 found crashes: node output and input arity, zero-sized
// dims, extreme integers, non-UTF-8 strings, node order, op types swapped. Each mutant either
// builds and runs on every registered backend or throws InvalidArgument / CorruptData; a crash, a sanitizer
// report (the CI runs this under ASan + UBSan) or another exception fails.
// EDGEQUANT_FUZZ_MUTANTS=N sets the count (default 1500).
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <random>

#include "common/error.h"
#include "engine/engine_test_util.h"
#include "engine/onnx_writer.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
using edgequant::CorruptData;
using edgequant::InvalidArgument;

namespace {

// The seed at the level the mutations work on: names, dims and integers, serialized per mutant.
struct Attr {
  std::string name;
  std::vector<int64_t> ints;
  bool scalar = false;  // an INT attribute (ints[0]) rather than INTS
};
struct NodeSpec {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attr> attrs;
};
struct Init {
  std::string name;
  Shape dims;
  std::vector<int64_t> ints;  // int64 tensor if `is_int`
  bool is_int = false;
};
struct Spec {
  std::vector<NodeSpec> nodes;
  std::vector<Init> inits;
  std::vector<std::pair<std::string, Shape>> inputs;
  std::vector<std::pair<std::string, int>> outputs;  // name, elem type
};

Spec seed() {
  Spec s;
  s.inputs = {{"x", {-1, 2, 4, 4}}};
  s.inits = {{"W", {4, 2, 3, 3}}, {"B", {4}},           {"g", {4}},          {"b", {4}},
             {"m", {4}},          {"v", {4}},           {"sp", {2}, {2, 2}, true},
             {"k", {1}},          {"shape", {2}, {0, -1}, true},            {"Wg", {3, 16}},
             {"Bg", {3}},         {"two", {1}, {2}, true}};
  auto node = [&](std::string op, std::vector<std::string> in, std::vector<std::string> out, std::vector<Attr> a = {}) {
    s.nodes.push_back({op, op + "_" + std::to_string(s.nodes.size()), in, out, a});
  };
  node("Conv", {"x", "W", "B"}, {"c"}, {{"pads", {1, 1, 1, 1}}, {"strides", {1, 1}}, {"group", {1}, true}});
  node("BatchNormalization", {"c", "g", "b", "m", "v"}, {"bn"});
  node("Relu", {"bn"}, {"r"});
  node("Split", {"r", "sp"}, {"s1", "s2"}, {{"axis", {1}, true}});
  node("Add", {"s1", "s2"}, {"a"});
  node("Div", {"a", "k"}, {"d"});
  node("Concat", {"d", "s2"}, {"cc"}, {{"axis", {1}, true}});
  node("MaxPool", {"cc"}, {"p"}, {{"kernel_shape", {2, 2}}, {"strides", {2, 2}}, {"pads", {0, 0, 0, 0}}});
  node("Reshape", {"p", "shape"}, {"f"});
  node("Gemm", {"f", "Wg", "Bg"}, {"gm"}, {{"transB", {1}, true}});
  node("Dropout", {"gm"}, {"y"});
  node("Shape", {"x"}, {"sh"});
  node("Div", {"sh", "two"}, {"half"});
  s.outputs = {{"y", kFloat}, {"half", kInt64}};
  return s;
}

Message int_tensor_proto(const Init& t) {
  Message m;
  for (int64_t d : t.dims) m.varint(1, static_cast<uint64_t>(d));
  m.varint(2, kInt64);
  m.bytes(8, t.name);
  for (int64_t v : t.ints) m.varint(7, static_cast<uint64_t>(v));
  return m;
}

std::string serialize(const Spec& s, std::mt19937& rng) {
  GraphParts parts;
  for (const NodeSpec& n : s.nodes) {
    std::vector<Message> attrs;
    for (const Attr& a : n.attrs) {
      Message m;
      m.bytes(1, a.name);
      if (a.scalar) {
        m.varint(3, static_cast<uint64_t>(a.ints.empty() ? 0 : a.ints[0])).varint(20, 2);  // INT
      } else {
        m.varint(20, 7);  // INTS
        for (int64_t v : a.ints) m.varint(8, static_cast<uint64_t>(v));
      }
      attrs.push_back(m);
    }
    parts.nodes.push_back(node_proto(n.op, n.inputs, n.outputs, n.name, attrs));
  }
  for (const Init& t : s.inits) {
    if (t.is_int) {
      parts.initializers.push_back(int_tensor_proto(t));
      continue;
    }
    int64_t count = 1;
    for (int64_t d : t.dims) count *= std::max<int64_t>(d, 0);
    std::vector<float> values(static_cast<size_t>(std::min<int64_t>(count, 1 << 12)));
    std::normal_distribution<float> normal(0.f, 1.f);
    for (float& v : values) v = t.name == "v" ? 0.5f + std::abs(normal(rng)) : normal(rng);
    parts.initializers.push_back(tensor_proto(t.name, t.dims, values, true));
  }
  for (const auto& [name, dims] : s.inputs) parts.inputs.push_back(value_info(name, dims));
  for (const auto& [name, type] : s.outputs) parts.outputs.push_back(value_info(name, {}, type));
  return model_bytes(parts);
}

int64_t extreme(std::mt19937& rng) {
  static const int64_t values[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, -1, 0, -2, int64_t{1} << 62,
                                   -(int64_t{1} << 62), 3, 1};
  return values[rng() % (sizeof values / sizeof values[0])];
}

std::string invalid_utf8(std::mt19937& rng) {
  static const char* bytes[] = {"\xff", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf"};
  return std::string("n") + bytes[rng() % 6];
}

// All value names of the spec (inputs, initializers, node outputs).
std::vector<std::string> values_of_spec(const Spec& s) {
  std::vector<std::string> names;
  for (const auto& in : s.inputs) names.push_back(in.first);
  for (const Init& t : s.inits) names.push_back(t.name);
  for (const NodeSpec& n : s.nodes) names.insert(names.end(), n.outputs.begin(), n.outputs.end());
  return names;
}

// One mutation of issue 9's classes, in place; returns its class.
int mutate(Spec& s, std::mt19937& rng) {
  const int kind = static_cast<int>(rng() % 7);
  NodeSpec& node = s.nodes[rng() % s.nodes.size()];
  switch (kind) {
    case 0: {  // output arity: an extra output, read later or declared a graph output
      const std::string extra = "extra" + std::to_string(rng() % 1000);
      node.outputs.push_back(extra);
      if (rng() % 2) s.outputs.push_back({extra, kFloat});
      else s.nodes.push_back({"Relu", "reads_extra", {extra}, {"extra_out"}, {}});
      if (rng() % 2 && !s.outputs.empty()) s.outputs.push_back({"extra_out", kFloat});
      break;
    }
    case 1: {  // input arity: drop one, add one (existing, omitted "" or unknown)
      if (!node.inputs.empty() && rng() % 2) {
        node.inputs.erase(node.inputs.begin() + rng() % node.inputs.size());
      } else {
        const auto names = values_of_spec(s);
        const int pick = static_cast<int>(rng() % 3);
        node.inputs.push_back(pick == 0 ? names[rng() % names.size()] : pick == 1 ? "" : "x");
      }
      break;
    }
    case 2: {  // zero-sized dims: an initializer's, or the input's
      if (rng() % 2) {
        Init& t = s.inits[rng() % s.inits.size()];
        if (!t.dims.empty()) t.dims[rng() % t.dims.size()] = 0;
        if (t.is_int) t.ints.clear();
      } else {
        auto& dims = s.inputs[0].second;
        dims[rng() % dims.size()] = 0;
      }
      break;
    }
    case 3: {  // extreme integers: an attribute or an int64 constant
      if (!node.attrs.empty() && rng() % 2) {
        Attr& a = node.attrs[rng() % node.attrs.size()];
        if (a.ints.empty()) a.ints.push_back(0);
        a.ints[rng() % a.ints.size()] = extreme(rng);
      } else {
        std::vector<Init*> ints;
        for (Init& t : s.inits)
          if (t.is_int && !t.ints.empty()) ints.push_back(&t);
        Init& t = *ints[rng() % ints.size()];
        t.ints[rng() % t.ints.size()] = extreme(rng);
      }
      break;
    }
    case 4: {  // non-UTF-8 strings: a node name, a value name (everywhere it appears), an op type
      const int what = static_cast<int>(rng() % 3);
      if (what == 0) node.name = invalid_utf8(rng);
      if (what == 1) node.op = invalid_utf8(rng);
      if (what == 2 && !node.outputs.empty()) {
        const std::string old = node.outputs[0], bad = invalid_utf8(rng);
        for (NodeSpec& n : s.nodes) {
          std::replace(n.inputs.begin(), n.inputs.end(), old, bad);
          std::replace(n.outputs.begin(), n.outputs.end(), old, bad);
        }
        for (auto& out : s.outputs)
          if (out.first == old) out.first = bad;
      }
      break;
    }
    case 5:  // node order
      std::shuffle(s.nodes.begin(), s.nodes.end(), rng);
      break;
    default: {  // another op type on the same wiring
      static const char* ops[] = {"Conv", "Relu", "Split", "Concat", "MaxPool", "Gemm", "MatMul", "Add", "Div",
                                  "BatchNormalization", "Reshape", "Dropout", "Shape", "Gather", "Slice",
                                  "Transpose", "Softmax", "Pad", "Resize", "Sigmoid", "Clip", "Flatten"};
      node.op = ops[rng() % (sizeof ops / sizeof ops[0])];
      break;
    }
  }
  return kind;
}

std::vector<Tensor> inputs_for(const Engine& engine, std::mt19937& rng) {
  std::vector<Tensor> inputs;
  for (const ValueInfo& in : engine.inputs()) {
    Shape shape = in.shape;
    for (int64_t& d : shape) d = d < 0 ? 2 : d;
    inputs.push_back(in.dtype == DType::f32 ? random_tensor(shape, rng) : Tensor::zeros_i64(shape));
  }
  return inputs;
}

bool finite(const Tensor& t) {
  for (int64_t k = 0; k < t.numel(); ++k)
    if (!std::isfinite(t.f()[k])) return false;
  return true;
}

TEST(EngineFuzz, StructuredMutations) {
  const char* env = std::getenv("EDGEQUANT_FUZZ_MUTANTS");
  const int mutants = env ? std::max(1, std::atoi(env)) : 1500;
  std::mt19937 rng(909);
  // The unmutated seed runs, so mutants start from a working model.
  {
    const std::string bytes = serialize(seed(), rng);
    Engine engine = Engine::from_bytes(bytes.data(), bytes.size(), options_for(reference_backend()));
    const auto out = engine.run(inputs_for(engine, rng));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].shape, (Shape{2, 3}));
    EXPECT_EQ(std::vector<int64_t>(out[1].i(), out[1].i() + 4), (std::vector<int64_t>{1, 1, 2, 2}));
  }
  int built = 0, ran = 0, rejected = 0;
  int per_kind[7] = {};
  for (int k = 0; k < mutants; ++k) {
    Spec spec = seed();
    for (int n = 1 + rng() % 3; n > 0; --n) ++per_kind[mutate(spec, rng)];
    const std::string bytes = serialize(spec, rng);
    std::string stage = "build";
    try {
      Engine engine = Engine::from_bytes(bytes.data(), bytes.size(), options_for(reference_backend()));
      ++built;
      stage = "run";
      const std::vector<Tensor> inputs = inputs_for(engine, rng);
      const auto on_reference = engine.run(inputs);
      ++ran;
      for (const std::string& backend : compared_backends()) {
        stage = "run on " + backend;
        Engine other = Engine::from_bytes(bytes.data(), bytes.size(), options_for(backend));
        const auto got = other.run(inputs);
        ASSERT_EQ(on_reference.size(), got.size());
        for (size_t o = 0; o < on_reference.size(); ++o) {
          ASSERT_EQ(on_reference[o].shape, got[o].shape) << "mutant " << k << " on " << backend;
          // Mutated constants can overflow to Inf / NaN, whose order of evaluation differs.
          if (on_reference[o].dtype == DType::f32 && finite(on_reference[o]) && finite(got[o]))
            EXPECT_TRUE(all_close(got[o], on_reference[o], 1e-3)) << "mutant " << k << " output " << o << " on " << backend;
        }
      }
    } catch (const InvalidArgument&) {
      ++rejected;
    } catch (const CorruptData&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutant " << k << " (" << stage << "): unexpected exception: " << e.what();
    }
  }
  EXPECT_GT(rejected, mutants / 5);
  EXPECT_GT(ran, mutants / 10);
  for (int kind = 0; kind < 7; ++kind) EXPECT_GT(per_kind[kind], 0);
  RecordProperty("built", built);
  RecordProperty("ran", ran);
  RecordProperty("rejected", rejected);
  std::printf("structured fuzz: %d mutants, %d built, %d ran, %d rejected\n", mutants, built, ran, rejected);
}

}  // namespace
