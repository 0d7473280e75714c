// An executable op: built once from its node (attributes and constant inputs checked there),
// run many times. Output shapes are inferred from the actual input shapes on every run, so a
// shape that disagrees with an attribute is reported with the node's name at that point.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "backend/backend.h"
#include "common/error.h"
#include "graph/graph.h"
#include "graph/int8_plan.h"

namespace edgequant::engine {

// One executed node of a plan, and the precision its kernel runs in ("f32", "int8_static",
// "int8_dynamic"; "f32_s8_weights": a quantized file's LSTM on its s8 recurrent codes): what tests
// and users check to see that INT8 really runs.
struct PlanStep {
  std::string name, op_type, precision;
};

// Receives a value of a run by name (session/engine.h Engine::CalibrationSink).
using ValueSink = std::function<void(const std::string& name, const Tensor& values)>;

// A subgraph (an If's branch) compiled as an engine of its own: the graph passes, constant folding
// and backend layouts of a whole model, its inputs the values it captures. Made by the session
// (session/engine.cpp), which the ops cannot see; an op without one runs the nodes one by one.
class SubgraphProgram {
 public:
  virtual ~SubgraphProgram() = default;
  // `calibration_sink`, if given, sees the program's calibration tensors under their own names.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs, const ValueSink* calibration_sink) = 0;
  virtual std::vector<PlanStep> plan() const = 0;
};

class SubgraphCompiler {
 public:
  virtual ~SubgraphCompiler() = default;
  // `graph` with `inputs` (names and the tensors of this run, for their types and shapes) as its
  // graph inputs; nullptr where the engine does not take it. `key` names the subgraph in the
  // enclosing engine (subgraph_key): its calibration ranges are those named "key::tensor".
  virtual std::unique_ptr<SubgraphProgram> compile(const Graph& graph, const std::string& key,
                                                   const std::vector<std::string>& input_names,
                                                   const std::vector<const Tensor*>& inputs) const = 0;
  // What else a compiled program depends on (the enclosing engine's mode and ranges): a program
  // compiled under another variant is not reused.
  virtual int variant() const { return 0; }
};

// The name of subgraph attribute `attribute` ("then_branch") of `node` in the enclosing engine: the
// prefix of its tensors' names there, "key::tensor" (calibration ranges, plan steps).
std::string subgraph_key(const Node& node, const std::string& attribute);

struct RunContext {
  Backend& backend;
  // Per input of the op being run: no later op reads it, so the op may take over its buffer.
  const std::vector<bool>* input_is_free = nullptr;
  bool is_free(size_t input) const { return input_is_free && input < input_is_free->size() && (*input_is_free)[input]; }
  // Input `input` (x) passed through as an output: taken over where it is free (the engine's own
  // value, released after this op: a move instead of a copy of its shape, grid and buffer handles).
  Tensor pass_through(size_t input, const Tensor& x) const {
    return is_free(input) ? std::move(const_cast<Tensor&>(x)) : x;
  }
  // Per input: an intermediate of this run that a later op reads too (never a constant, which
  // concurrent runs share).
  const std::vector<bool>* input_is_read_later = nullptr;
  bool is_read_later(size_t input) const {
    return input_is_read_later && input < input_is_read_later->size() && (*input_is_read_later)[input];
  }
  const SubgraphCompiler* subgraphs = nullptr;
  // Calibration (Engine::run_observed): sees the calibration tensors of the subgraphs an op runs,
  // named "subgraph_key::tensor".
  const ValueSink* calibration_sink = nullptr;
};

class Op {
 public:
  explicit Op(const Node& node) : node_(node), description_(node.describe()) {}
  virtual ~Op() = default;
  virtual void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) = 0;
  // What the op declares to the INT8 planner (graph/int8_plan.h): Conv / Gemm / MatMul with
  // constant weights run INT8, Split / Concat pass u8 data through; the rest run in float32.
  virtual Int8Traits int8_traits() const { return {}; }
  bool quantizable() const { return int8_traits().quantized; }
  virtual void set_quantization(const QuantConfig&) {}
  // INT8 only from now on: keep the quantized weights, free the float ones (see Engine).
  virtual void release_float_weights() {}
  // The s8 weights set_quantization made (quantizable ops in an INT8 mode), shared with the same
  // op of the engine's other sessions through QuantConfig::weights; nullptr otherwise.
  virtual std::shared_ptr<const QuantizedWeights> quantized_weights() const { return nullptr; }
  // The configuration its kernels run with (quantizable ops; the C export reads a static plan's
  // integer parameters here), or nullptr.
  virtual const QuantConfig* quantization() const { return nullptr; }
  // The precision the op's kernels run in: "f32", "int8_static" or "int8_dynamic" ("f32_s8_weights":
  // float arithmetic on s8 weight codes, ops/recurrent.cpp).
  virtual const char* precision() const { return "f32"; }
  // The steps of the subgraph the op ran last (an If's branch), named "subgraph_key::node".
  virtual std::vector<PlanStep> subgraph_plan() const { return {}; }
  const Node& node() const { return node_; }

 protected:
  // Checks: the input exists; float_input: it holds real values (float32, or quantized codes whose
  // f() dequantizes them).
  const Tensor& input(const std::vector<const Tensor*>& inputs, size_t index) const;
  const Tensor& float_input(const std::vector<const Tensor*>& inputs, size_t index) const;
  void fail(const std::string& message) const { throw InvalidArgument(description_ + ": " + message); }
  // "OpType node 'name'", made once: the context of the tensors every run allocates.
  const std::string& description() const { return description_; }
  // `message`: a string, or a callable returning one, so that a check on every run builds its
  // message only when it fails.
  template <class Message>
  void check(bool condition, const Message& message) const {
    if (condition) return;
    if constexpr (std::is_invocable_v<const Message&>) {
      fail(message());
    } else {
      fail(message);
    }
  }
  // ONNX axis in [-rank, rank) -> [0, rank).
  int axis_of(int64_t axis, int rank) const {
    check(axis >= -rank && axis < rank, [&] { return "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank); });
    return static_cast<int>(axis < 0 ? axis + rank : axis);
  }
  // Values of a constant (initializer) input, or of the run-time input when it is not constant.
  std::vector<int64_t> int_values(const std::vector<const Tensor*>& inputs, size_t index) const {
    return input(inputs, index).as_i64();
  }
  // Copies `x` (any dtype) into a new tensor of `shape`, element order preserved by copy_fn.
  static Tensor empty_like(DType dtype, const Shape& shape, const std::string& context) {
    return dtype == DType::f32 ? Tensor::zeros_f32(shape, context) : Tensor::zeros_i64(shape, context);
  }

  Node node_;
  std::string description_;
};

using OpFactory = std::unique_ptr<Op> (*)(const Node& node, const Graph& graph);
// The op for a node; InvalidArgument naming the op type and node when it is not supported.
std::unique_ptr<Op> make_op(const Node& node, const Graph& graph);
std::vector<std::string> supported_ops();
bool is_supported_op(const std::string& op_type);
// How many outputs an op of `node`'s type computes (the rest of the node's outputs stay empty;
// the engine refuses a model that reads one).
size_t produced_outputs(const Node& node);
const char* precision_name(QuantConfig::Mode mode);

// Fused activation attributes the graph passes attach to Conv / Gemm / MatMul nodes; `prefix`
// "_after_sum" reads the activation fused after a residual Add (see graph/passes.h).
Activation fused_activation(const Node& node, const std::string& prefix = "");

}  // namespace edgequant::engine
