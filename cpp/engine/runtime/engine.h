// The engine: a loaded graph, rewritten by the passes, with one Op per node, run in topological
// order over numbered value slots. Precision is chosen per run mode: float32, static INT8 (ranges
// from calibration, set by the caller) or dynamic INT8 (ranges from each input).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "graph/graph.h"
#include "ops/op.h"

namespace edgequant::engine {

struct EngineOptions {
  std::string backend = "onednn";
  int threads = 0;     // 0 = all cores
  bool fuse = true;    // BN folding and activation fusion
};

enum class Mode { f32, int8_static, int8_dynamic };

struct LayerTime {
  std::string name, op_type;
  double seconds = 0;
  int64_t calls = 0;
};

class Engine {
 public:
  Engine(Graph graph, const EngineOptions& options);
  static Engine from_file(const std::string& path, const EngineOptions& options);
  static Engine from_bytes(const void* data, size_t size, const EngineOptions& options);

  const std::vector<ValueInfo>& inputs() const { return graph_.inputs; }
  const std::vector<ValueInfo>& outputs() const { return graph_.outputs; }
  std::string backend_name() const { return backend_->name(); }

  // Inputs in graph-input order; checked for count, dtype, rank and the declared fixed dims.
  // `capture`, if given, receives the calibration tensors (see below) of this run.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* capture = nullptr);

  // Quantization. Layers that can run in INT8 and the tensors they read (the calibration points).
  std::vector<std::string> quantizable_layers() const;
  std::vector<std::string> calibration_tensors() const;
  // Static mode needs a range for every calibration tensor; scale and zero point come from
  // quant::affine_params_from_range (u8 asymmetric).
  void set_activation_range(const std::string& tensor, float min, float max);
  void set_mode(Mode mode);
  Mode mode() const { return mode_; }
  // In an INT8 mode: frees the float weights of the quantizable layers (their s8 weights and
  // scales stay), cutting a session's memory to about a quarter; FP32 is then refused.
  void release_float_weights();
  bool float_weights_released() const { return float_weights_released_; }
  // The (scale, zero_point) static mode uses for a calibration tensor: from the union of the
  // ranges of its quantization group (tensors joined through Split and Concat, which then pass
  // u8 data through unchanged).
  std::pair<float, int32_t> activation_quantization(const std::string& tensor) const;

  void set_threads(int threads);
  void set_profiling(bool on) { profiling_ = on; }
  std::vector<LayerTime> layer_times() const { return times_; }
  void reset_layer_times();

  const Graph& graph() const { return graph_; }

 private:
  struct Step {
    std::unique_ptr<Op> op;
    std::vector<int> inputs;   // slot per input, -1 for omitted
    std::vector<int> outputs;  // slot per output, -1 for omitted
    std::vector<int> release;  // slots no later step reads: freed after this step
    std::vector<bool> input_is_free;  // per input: released after this step and read once by it
  };

  int slot_of(const std::string& name);
  // set_mode without releasing caches: quantization configs from the mode and the ranges.
  void plan(Mode mode);
  int group_of(int slot) const;
  // Static plan: whether a slot's every reader takes u8 data (INT8 conv input or residual, or a
  // Split / Concat whose outputs all do); memoised in `memo` (-1 unknown).
  bool u8_readers_only(int slot, const std::vector<std::vector<std::pair<int, int>>>& readers,
                       std::vector<int>& memo) const;
  // A calibrated tensor of the slot's quantization group ("" if none): the group's parameters.
  std::string first_ranged_member(int slot) const;

  Graph graph_;
  EngineOptions options_;
  std::unique_ptr<Backend> backend_;
  std::map<std::string, int> slots_;
  std::vector<Tensor> constants_;  // slot -> initializer (empty tensor for non-constants)
  std::vector<bool> is_constant_;
  std::vector<int> input_slots_, output_slots_;
  std::vector<Step> steps_;
  std::map<std::string, std::pair<float, float>> ranges_;
  std::vector<int> group_;  // slot -> a slot of its quantization group (union-find parent)
  Mode mode_ = Mode::f32;
  bool float_weights_released_ = false;
  bool profiling_ = false;
  std::vector<LayerTime> times_;
};

}  // namespace edgequant::engine
