// The native ONNX loader on models written here byte by byte (a minimal protobuf wire-format
// writer: the generated ONNX classes are private to edgequant_engine). Malformed bytes, truncated
// or mutated, must end in InvalidArgument or CorruptData, never in a crash or another exception.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "common/error.h"
#include "engine/engine_test_util.h"
#include "engine/onnx_writer.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
using edgequant::CorruptData;
using edgequant::InvalidArgument;

namespace {

// x [N, 2, 5, 5] -> Conv 3x3 stride 2 pad 1 ("conv") -> Relu (unnamed) -> Mul by a Constant 0.5
// ("scale") -> y. Nodes are stored out of order (Mul before Relu and the Constant).
struct SmallModel {
  std::vector<float> w, b;
  GraphParts parts;

  SmallModel() {
    std::mt19937 rng(5);
    w = values_of(random_tensor({3, 2, 3, 3}, rng));
    b = values_of(random_tensor({3}, rng));
    parts.initializers = {tensor_proto("W", {3, 2, 3, 3}, w, true), tensor_proto("B", {3}, b, false)};
    parts.nodes = {node_proto("Conv", {"x", "W", "B"}, {"c"}, "conv",
                              {attr_ints_proto("pads", {1, 1, 1, 1}), attr_ints_proto("strides", {2, 2}),
                               attr_ints_proto("kernel_shape", {3, 3})}),
                   node_proto("Mul", {"r", "k"}, {"y"}, "scale"), node_proto("Relu", {"c"}, {"r"}),
                   node_proto("Constant", {}, {"k"}, "k_const", {attr_tensor_proto("value", tensor_proto("", {}, {0.5f}, false))})};
    parts.inputs = {value_info("x", {-1, 2, 5, 5})};
    parts.outputs = {value_info("y", {-1, 3, 3, 3})};
  }
  std::string bytes() const { return model_bytes(parts); }

  // The same model through the IR.
  Graph graph() const {
    GraphBuilder g;
    g.input("x", {-1, 2, 5, 5}).output("y");
    g.constant("W", tensor_of({3, 2, 3, 3}, w));
    g.constant("B", tensor_of({3}, b));
    g.constant("k", tensor_of({}, {0.5f}));
    Node& conv = g.node("Conv", {"x", "W", "B"}, {"c"}, "conv");
    conv.attributes["pads"] = attr_ints({1, 1, 1, 1});
    conv.attributes["strides"] = attr_ints({2, 2});
    g.node("Relu", {"c"}, {"r"});
    g.node("Mul", {"r", "k"}, {"y"}, "scale");
    return g.graph;
  }
};

// Loads `bytes`, expecting exception E whose message contains `part`.
template <class E>
void expect_load_error(const std::string& bytes, const std::string& part) {
  try {
    Engine::from_bytes(bytes.data(), bytes.size(), options_for("reference"));
    ADD_FAILURE() << "loaded";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(Loader, LoadsAHandWrittenModel) {
  const SmallModel model;
  const std::string bytes = model.bytes();
  Engine engine = Engine::from_bytes(bytes.data(), bytes.size(), options_for("reference", false));
  ASSERT_EQ(engine.inputs().size(), 1u);
  EXPECT_EQ(engine.inputs()[0].name, "x");
  EXPECT_EQ(engine.inputs()[0].shape, (Shape{-1, 2, 5, 5}));
  ASSERT_EQ(engine.outputs().size(), 1u);
  EXPECT_EQ(engine.outputs()[0].name, "y");
  EXPECT_EQ(engine.graph().opset, 17);
  std::vector<std::string> names;
  for (const Node& n : engine.graph().nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv", "Relu_2", "scale"}));  // sorted; the Constant is an initializer
  EXPECT_EQ(values_of(engine.graph().initializers.at("k")), std::vector<float>{0.5f});

  std::mt19937 rng(6);
  const Tensor x = random_tensor({2, 2, 5, 5}, rng);
  for (const char* backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    const Tensor loaded = Engine::from_bytes(bytes.data(), bytes.size(), options_for(backend)).run({x})[0];
    EXPECT_TRUE(all_close(loaded, run_graph(model.graph(), {x}, backend)[0], 0));
  }
}

TEST(Loader, FromFile) {
  const std::string bytes = SmallModel().bytes();
  const std::string path = ::testing::TempDir() + "edgequant_loader_test.onnx";
  std::ofstream(path, std::ios::binary) << bytes;
  Engine engine = Engine::from_file(path, options_for("reference"));
  EXPECT_EQ(engine.outputs()[0].name, "y");
  std::remove(path.c_str());
  EXPECT_THROW(Engine::from_file(path, options_for("reference")), InvalidArgument);
}

TEST(Loader, EveryTruncationIsRejected) {
  const std::string bytes = SmallModel().bytes();
  for (size_t size = 0; size < bytes.size(); ++size) {
    try {
      Engine::from_bytes(bytes.data(), size, options_for("reference"));
      ADD_FAILURE() << "a prefix of " << size << " of " << bytes.size() << " bytes loaded";
    } catch (const InvalidArgument&) {
    } catch (const CorruptData&) {
    }
  }
}

TEST(Loader, RandomBytesAreRejected) {
  std::mt19937 rng(7);
  for (int k = 0; k < 300; ++k) {
    std::string bytes(rng() % 400, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    try {
      Engine::from_bytes(bytes.data(), bytes.size(), options_for("reference"));
      ADD_FAILURE() << "random buffer " << k << " loaded";
    } catch (const InvalidArgument&) {
    } catch (const CorruptData&) {
    }
  }
  EXPECT_THROW(Engine::from_bytes(nullptr, 0, options_for("reference")), CorruptData);
}

TEST(Loader, MalformedModels) {
  SmallModel model;
  auto with = [&](auto change) {
    GraphParts parts = model.parts;
    change(parts);
    return model_bytes(parts);
  };
  expect_load_error<CorruptData>(with([](GraphParts& p) {
    p.initializers[0] = tensor_proto("W", {3, 2, 3, 3}, std::vector<float>(53), true);
  }), "initializer 'W'");
  expect_load_error<CorruptData>(with([](GraphParts& p) {
    p.initializers[1] = tensor_proto("B", {3}, std::vector<float>(4), false);
  }), "initializer 'B'");
  // A few bytes that declare 2^33 floats: rejected before anything that size is allocated.
  expect_load_error<CorruptData>(with([](GraphParts& p) {
    p.initializers[1] = tensor_proto("B", {int64_t{1} << 33}, {1.f}, true);
  }), "initializer 'B'");
  expect_load_error<CorruptData>(with([](GraphParts& p) {
    p.initializers[1] = tensor_proto("B", {int64_t{1} << 31, 4}, {1.f}, false);
  }), "initializer 'B'");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    p.initializers[1] = tensor_proto("B", {int64_t{1} << 40, int64_t{1} << 40}, {1.f}, true);
  }), "initializer 'B'");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    p.initializers[1] = tensor_proto("B", {-3}, {1.f, 2.f, 3.f}, true);
  }), "negative");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    Message t;
    t.varint(1, 3).varint(2, kString).bytes(8, "B");
    p.initializers[1] = t;
  }), "data type 8");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    Message t = tensor_proto("B", {3}, {1, 2, 3}, true);
    t.varint(14, 1);  // data_location = EXTERNAL
    p.initializers[1] = t;
  }), "external");
  // The node that reads the missing value is named, not the Mul stored before it that waits on it.
  expect_load_error<CorruptData>(with([](GraphParts& p) { p.nodes[2] = node_proto("Relu", {"nowhere"}, {"r"}, "r"); }),
                                 "Relu node 'r': input 'nowhere' is never produced");
  expect_load_error<CorruptData>(with([](GraphParts& p) { p.nodes[2] = node_proto("Relu", {"y"}, {"r"}, "r"); }),
                                 "cycle");
  expect_load_error<CorruptData>(with([](GraphParts& p) { p.nodes.push_back(node_proto("Relu", {"c"}, {"r"}, "r2")); }),
                                 "defined twice");
  expect_load_error<CorruptData>(with([](GraphParts& p) { p.outputs.push_back(value_info("ghost", {1})); }), "ghost");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) { p.outputs.clear(); }), "no outputs");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) { p.inputs[0] = value_info("x", {1}, kString); }),
                                     "'x' has element type 8");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    Message n = node_proto("Relu", {"c"}, {"r"}, "custom");
    n.bytes(7, "com.example");
    p.nodes[2] = n;
  }), "domain 'com.example'");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) {
    Message a;
    a.bytes(1, "body").varint(20, 5);  // GRAPH
    p.nodes[2] = node_proto("Relu", {"c"}, {"r"}, "with_graph", {a});
  }), "attribute 'body'");
  expect_load_error<InvalidArgument>(with([](GraphParts& p) { p.nodes[2] = node_proto("Erf", {"c"}, {"r"}, "my_erf"); }),
                                     "unsupported op 'Erf' (node 'my_erf')");
  Message no_graph;
  no_graph.varint(1, 8);
  expect_load_error<CorruptData>(no_graph.data, "no graph");
  expect_load_error<CorruptData>("\xff\xff\xff\xff not onnx", "protobuf");
}

// Whether a mutant is safe to run: only the seed model's ops and small numbers (a mutated pad of
// 2^19 would ask for terabytes of output, a resource limit and not a parser bug).
bool small_enough_to_run(const Engine& engine) {
  for (const Node& n : engine.graph().nodes) {
    if (n.op_type != "Conv" && n.op_type != "Relu" && n.op_type != "Mul") return false;
    for (const auto& kv : n.attributes) {
      if (kv.second.kind == Attribute::Kind::i && std::abs(kv.second.i) > 64) return false;
      for (int64_t v : kv.second.ints)
        if (std::abs(v) > 64) return false;
    }
  }
  for (const ValueInfo& in : engine.inputs()) {
    int64_t numel = 1;
    for (int64_t d : in.shape) {
      if (d > 64) return false;
      numel *= std::max<int64_t>(d, 1);
    }
    if (numel > (1 << 14)) return false;
  }
  return true;
}

std::vector<Tensor> inputs_for(const Engine& engine) {
  std::vector<Tensor> inputs;
  std::mt19937 rng(8);
  for (const ValueInfo& in : engine.inputs()) {
    Shape shape = in.shape;
    for (int64_t& d : shape) d = d < 0 ? 1 : d;
    inputs.push_back(in.dtype == DType::f32 ? random_tensor(shape, rng) : Tensor::zeros_i64(shape));
  }
  return inputs;
}

// 2000 mutants of the small model's bytes (fixed seed; EDGEQUANT_FUZZ_MUTANTS=N for a longer
// run): overwritten bytes, flipped bits, truncations with garbage appended, deleted and duplicated
// runs. Each either loads (and, where small, runs on both backends) or throws InvalidArgument /
// CorruptData.
TEST(Loader, MutationFuzz) {
  const std::string seed = SmallModel().bytes();
  const char* env = std::getenv("EDGEQUANT_FUZZ_MUTANTS");
  const int mutants = env ? std::max(1, std::atoi(env)) : 2000;
  std::mt19937 rng(2024);
  int loaded = 0, ran = 0, rejected = 0;
  for (int k = 0; k < mutants; ++k) {
    std::string m = seed;
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {
      for (int n = 1 + rng() % 4; n > 0; --n) m[rng() % m.size()] = static_cast<char>(rng());
    } else if (kind == 1) {
      for (int n = 1 + rng() % 3; n > 0; --n) m[rng() % m.size()] ^= static_cast<char>(1 << (rng() % 8));
    } else if (kind == 2) {
      m.resize(rng() % m.size());
      for (int n = rng() % 8; n > 0; --n) m += static_cast<char>(rng());
    } else {
      const size_t at = rng() % m.size(), len = std::min<size_t>(1 + rng() % 16, m.size() - at);
      if (rng() % 2) m.erase(at, len);
      else m.insert(at, m.substr(at, len));
    }
    std::string stage = "load";
    try {
      Engine engine = Engine::from_bytes(m.data(), m.size(), options_for("reference"));
      ++loaded;
      if (!small_enough_to_run(engine)) continue;
      stage = "run";
      const std::vector<Tensor> inputs = inputs_for(engine);
      ++ran;
      const auto on_reference = engine.run(inputs);
      const auto on_onednn = Engine::from_bytes(m.data(), m.size(), options_for("onednn")).run(inputs);
      ASSERT_EQ(on_reference.size(), on_onednn.size());
      for (size_t o = 0; o < on_reference.size(); ++o)
        if (on_reference[o].dtype == DType::f32)
          EXPECT_TRUE(all_close(on_onednn[o], on_reference[o], 1e-4)) << "mutant " << k << " output " << o;
    } catch (const InvalidArgument&) {
      ++rejected;
    } catch (const CorruptData&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutant " << k << " (" << stage << "): unexpected exception: " << e.what();
    }
  }
  // Not vacuous: many mutants are rejected, and many load and run.
  EXPECT_GT(rejected, mutants / 4);
  EXPECT_GT(ran, mutants / 10);
  RecordProperty("loaded", loaded);
  RecordProperty("ran", ran);
}

}  // namespace

namespace {

// An integer TensorProto (raw little-endian data) of ONNX element type `type` (int8 3, int16 5).
Message integer_tensor(const std::string& name, const Shape& dims, const std::vector<int>& values, int type) {
  const size_t width = type == 5 ? 2 : 1;
  std::string raw(values.size() * width, '\0');
  for (size_t k = 0; k < values.size(); ++k) {
    const int16_t v = static_cast<int16_t>(values[k]);
    std::memcpy(&raw[k * width], &v, width);  // little endian: the low byte first
  }
  Message m;
  for (int64_t d : dims) m.varint(1, static_cast<uint64_t>(d));
  m.varint(2, static_cast<uint64_t>(type)).bytes(8, name).bytes(9, raw);
  return m;
}

}  // namespace

// x [1, 3] -> MatMul with W = DequantizeLinear(Wq [3, 2], s, z) -> y: QDQ weights, folded at load.
TEST(Loader, FoldsConstantDequantizeLinear) {
  for (int type : {3, 5}) {
    SCOPED_TRACE(type);
    const std::vector<int> codes = {-8, 7, 0, 3, -1, type == 5 ? 300 : 100};
    const std::vector<float> scale = {0.25f, 0.1f};
    const std::vector<int> zero = {1, -2};
    GraphParts parts;
    parts.initializers = {integer_tensor("Wq", {3, 2}, codes, type), tensor_proto("s", {2}, scale, true),
                          integer_tensor("z", {2}, zero, type)};
    Message axis;
    axis.bytes(1, "axis").varint(20, 2).varint(3, 1);  // AttributeProto: INT (type 2), i = 1
    parts.nodes = {node_proto("MatMul", {"x", "W"}, {"y"}, "mm"),
                   node_proto("DequantizeLinear", {"Wq", "s", "z"}, {"W"}, "dq", {axis})};
    parts.inputs = {value_info("x", {1, 3})};
    parts.outputs = {value_info("y", {1, 2})};
    const std::string bytes = model_bytes(parts, 13);
    Engine engine = Engine::from_bytes(bytes.data(), bytes.size(), options_for("reference", false));
    ASSERT_EQ(engine.graph().nodes.size(), 1u);  // only the MatMul is left
    std::vector<float> expected(6);
    for (int k = 0; k < 6; ++k) expected[k] = static_cast<float>(codes[k] - zero[k % 2]) * scale[k % 2];
    EXPECT_EQ(values_of(engine.graph().initializers.at("W")), expected);
  }
}

TEST(Loader, DequantizeLinearOfAComputedValueIsNotFolded) {
  GraphParts parts;
  parts.initializers = {tensor_proto("s", {}, {0.5f}, true)};
  parts.nodes = {node_proto("DequantizeLinear", {"x", "s"}, {"y"}, "dq")};
  parts.inputs = {value_info("x", {1, 3})};
  parts.outputs = {value_info("y", {1, 3})};
  expect_load_error<InvalidArgument>(model_bytes(parts, 13), "unsupported op 'DequantizeLinear' (node 'dq')");
}
