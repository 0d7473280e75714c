// The native ONNX loader on models written here byte by byte (a minimal protobuf wire-format
// writer: the generated ONNX classes are private to edgequant_engine). Malformed bytes, truncated
// or mutated, must end in InvalidArgument or CorruptData, never in a crash or another exception.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "engine/engine_test_util.h"
#include "engine/onnx_writer.h"
#include "onnx/loader.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
using edgequant::CorruptData;
using edgequant::InvalidArgument;
namespace fs = std::filesystem;

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
    Engine::from_bytes(bytes.data(), bytes.size(), options_for(reference_backend()));
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
  Engine engine = Engine::from_bytes(bytes.data(), bytes.size(), options_for(reference_backend(), false));
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
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    const Tensor loaded = Engine::from_bytes(bytes.data(), bytes.size(), options_for(backend)).run({x})[0];
    EXPECT_TRUE(all_close(loaded, run_graph(model.graph(), {x}, backend)[0], 0));
  }
}

TEST(Loader, FromFile) {
  const std::string bytes = SmallModel().bytes();
  const std::string path = ::testing::TempDir() + "edgequant_loader_test.onnx";
  std::ofstream(path, std::ios::binary) << bytes;
  Engine engine = Engine::from_file(path, options_for(reference_backend()));
  EXPECT_EQ(engine.outputs()[0].name, "y");
  std::remove(path.c_str());
  EXPECT_THROW(Engine::from_file(path, options_for(reference_backend())), InvalidArgument);
}

// A fresh folder under the test temp dir holding `model.onnx` (SmallModel with W and B in
// external files); removed with everything in it at the end of the test.
class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(::testing::TempDir()) / (std::string("edgequant_external_") + info->name());
    fs::remove_all(root_);
    folder_ = root_ / "model";
    fs::create_directories(folder_);
    // W after 16 bytes of padding in weights.bin, B alone in bias.bin.
    std::ofstream(folder_ / "weights.bin", std::ios::binary) << std::string(16, '\x7f') << float_bytes(model_.w);
    std::ofstream(folder_ / "bias.bin", std::ios::binary) << float_bytes(model_.b);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The model file with W's entries replaced by `w_entries` (B stays a valid external tensor).
  std::string write_model(const std::vector<std::pair<std::string, std::string>>& w_entries) {
    GraphParts parts = model_.parts;
    parts.initializers = {external_tensor_proto("W", {3, 2, 3, 3}, w_entries),
                          external_tensor_proto("B", {3}, {{"location", "bias.bin"}})};
    const std::string path = (folder_ / "model.onnx").string();
    std::ofstream(path, std::ios::binary) << model_bytes(parts);
    return path;
  }
  void expect_refused(const std::vector<std::pair<std::string, std::string>>& w_entries, const std::string& part) {
    const std::string path = write_model(w_entries);
    try {
      Engine::from_file(path, options_for("reference"));
      ADD_FAILURE() << "loaded";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
    }
  }
  static std::vector<std::pair<std::string, std::string>> good_w() {
    return {{"location", "weights.bin"}, {"offset", "16"}, {"length", "216"}};
  }

  SmallModel model_;
  fs::path root_, folder_;
};

TEST_F(ExternalData, LoadsFromTheModelsFolderAsTheInlineModelDoes) {
  const std::string path = write_model(good_w());
  std::mt19937 rng(9);
  const Tensor x = random_tensor({2, 2, 5, 5}, rng);
  const std::string inline_bytes = model_.bytes();
  const Tensor expected =
      Engine::from_bytes(inline_bytes.data(), inline_bytes.size(), options_for("reference")).run({x})[0];
  EXPECT_TRUE(all_close(Engine::from_file(path, options_for("reference")).run({x})[0], expected, 0));
  // The model's folder reached through a symlink: its files are inside the folder it points to.
  fs::create_directory_symlink(folder_, root_ / "alias");
  const std::string through_alias = (root_ / "alias" / "model.onnx").string();
  EXPECT_TRUE(all_close(Engine::from_file(through_alias, options_for("reference")).run({x})[0], expected, 0));
  // Bytes and the folder, as the Python Engine passes them; length absent: to the end of the file.
  auto entries = good_w();
  entries.pop_back();
  std::stringstream bytes;
  bytes << std::ifstream(write_model(entries), std::ios::binary).rdbuf();
  const std::string data = bytes.str();
  Engine engine = Engine::from_bytes(data.data(), data.size(), options_for("reference"), folder_.string());
  EXPECT_TRUE(all_close(engine.run({x})[0], expected, 0));
  // A subfolder of the model's folder is inside it.
  fs::create_directories(folder_ / "sub");
  fs::copy_file(folder_ / "weights.bin", folder_ / "sub" / "w.bin");
  EXPECT_NO_THROW(Engine::from_file(write_model({{"location", "sub/../sub/w.bin"}, {"offset", "16"}}),
                                    options_for("reference")));
}

TEST_F(ExternalData, LocationsOutsideTheFolderAreRefused) {
  std::ofstream(root_ / "outside.bin", std::ios::binary) << float_bytes(model_.w);  // a real file, one level up
  expect_refused({{"location", (root_ / "outside.bin").string()}}, "is an absolute path");
  expect_refused({{"location", "\\server\\share\\w.bin"}}, "is an absolute path");
  expect_refused({{"location", "C:\\w.bin"}}, "is an absolute path");
  expect_refused({{"location", "../outside.bin"}}, "escapes the model's folder");
  expect_refused({{"location", "sub/../../outside.bin"}}, "escapes the model's folder");
  fs::create_symlink(root_ / "outside.bin", folder_ / "link.bin");  // a symlink pointing out of the folder
  expect_refused({{"location", "link.bin"}}, "escapes the model's folder");
  fs::create_directory_symlink(root_, folder_ / "up");  // a folder symlink climbing out
  expect_refused({{"location", "up/outside.bin"}}, "escapes the model's folder");
  fs::create_symlink(folder_ / "loop", folder_ / "loop");
  expect_refused({{"location", "loop"}}, "loop");
  expect_refused({{"location", ""}}, "is not a usable file name");
  expect_refused({{"offset", "0"}}, "is not a usable file name");  // no location at all
  expect_refused({{"location", std::string("weights.bin\0.txt", 15)}}, "is not a usable file name");
  expect_refused({{"location", "missing.bin"}}, "external data file not found");
  expect_refused({{"location", "."}}, "is not a regular file");
}

TEST_F(ExternalData, OffsetsAndLengthsAreCheckedAgainstTheFile) {
  expect_refused({{"location", "weights.bin"}, {"offset", "17"}, {"length", "216"}},
                 "needs 216 bytes at offset 17 but the file has only 232");
  expect_refused({{"location", "weights.bin"}, {"offset", "233"}}, "at offset 233 but the file has only 232");
  expect_refused({{"location", "weights.bin"}, {"offset", "18446744073709551615"}, {"length", "2"}},
                 "the file has only 232");
  expect_refused({{"location", "weights.bin"}, {"offset", "99999999999999999999"}}, "is too large");
  expect_refused({{"location", "weights.bin"}, {"offset", "-4"}}, "offset -4 is negative");
  expect_refused({{"location", "weights.bin"}, {"offset", "sixteen"}}, "offset 'sixteen' is not an integer");
  expect_refused({{"location", "weights.bin"}, {"length", "2x"}}, "length '2x' is not an integer");
  expect_refused({{"location", "weights.bin"}, {"offset", "16"}, {"length", "212"}},
                 "holds 212 bytes, its shape and type need 216");
  expect_refused({{"location", "weights.bin"}}, "holds 232 bytes");  // the padding is read as data
}

TEST(Loader, EveryTruncationIsRejected) {
  const std::string bytes = SmallModel().bytes();
  for (size_t size = 0; size < bytes.size(); ++size) {
    try {
      Engine::from_bytes(bytes.data(), size, options_for(reference_backend()));
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
      Engine::from_bytes(bytes.data(), bytes.size(), options_for(reference_backend()));
      ADD_FAILURE() << "random buffer " << k << " loaded";
    } catch (const InvalidArgument&) {
    } catch (const CorruptData&) {
    }
  }
  EXPECT_THROW(Engine::from_bytes(nullptr, 0, options_for(reference_backend())), CorruptData);
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
    t.varint(14, 1);  // data_location = EXTERNAL, but bytes have no folder to read from
    p.initializers[1] = t;
  }), "initializer 'B': its data is in an external file");
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
  expect_load_error<InvalidArgument>(with([](GraphParts& p) { p.nodes[2] = node_proto("Einsum", {"c"}, {"r"}, "my_einsum"); }),
                                     "unsupported op 'Einsum' (node 'my_einsum')");
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
// runs. Each either loads (and, where small, runs on every registered backend) or throws InvalidArgument /
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
      Engine engine = Engine::from_bytes(m.data(), m.size(), options_for(reference_backend()));
      ++loaded;
      if (!small_enough_to_run(engine)) continue;
      stage = "run";
      const std::vector<Tensor> inputs = inputs_for(engine);
      ++ran;
      const auto on_reference = engine.run(inputs);
      for (const std::string& backend : compared_backends()) {
        const auto got = Engine::from_bytes(m.data(), m.size(), options_for(backend)).run(inputs);
        ASSERT_EQ(on_reference.size(), got.size());
        for (size_t o = 0; o < on_reference.size(); ++o)
          if (on_reference[o].dtype == DType::f32)
            EXPECT_TRUE(all_close(got[o], on_reference[o], 1e-4)) << "mutant " << k << " output " << o << " on " << backend;
      }
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
  // It stays a node (run by the DequantizeLinear op on the integers it gets at run time).
  const std::string bytes = model_bytes(parts, 13);
  const Graph graph = load_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op_type, "DequantizeLinear");
  EXPECT_FALSE(graph.is_constant("y"));
}
