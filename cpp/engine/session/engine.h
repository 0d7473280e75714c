// The engine: a loaded graph, rewritten by the passes, with one Op per node, run in topological
// order over numbered value slots. Precision is chosen per run mode: float32, static INT8 (ranges
// from calibration, set by the caller) or dynamic INT8 (ranges from each input).
//
// Threads: one Engine may be shared. Every run borrows a session (the ops, which cache kernels
// for the last input shape, and a backend with its activation pool) that no other run uses at the
// same time; runs on N threads build up to N sessions, which share the constants and the
// quantized weights. Configuration (set_mode, set_activation_range, set_threads,
// release_float_weights, profiling) waits for the runs in progress.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "graph/float_buffer_pool.h"
#include "graph/graph.h"
#include "graph/int8_plan.h"
#include "ops/op.h"

namespace edgequant::engine {

struct EngineOptions {
  std::string backend = default_backend();  // a name of supported_backends()
  int threads = 0;     // 0 = all cores
  bool fuse = true;    // BN folding and activation fusion
  // With `fuse`: a Conv's residual Add as its sum post-op. Off where the graph after the passes is
  // lowered to kernels without one (the C export: microcontroller/engine_lowering.py).
  bool fuse_residual_adds = true;
  // The values to return, in order (default: the graph's tensor outputs). Nodes that none of
  // them needs are not built, so a model's map / string outputs (ZipMap ...) can be left out.
  std::vector<std::string> outputs;
  // Float inputs holding NaN or Inf are refused (InvalidArgument): the INT8 kernels and several
  // oneDNN float kernels would turn them into finite numbers. Costs one pass over the inputs.
  bool refuse_non_finite = true;
  // The INT8 weights' grid (QuantConfig::weight_bits): 8 or 7; 0 = this machine's default
  // (registry.h int8_weight_bits(): 7 where oneDNN lacks VNNI, for every backend). 8 where the
  // chosen backend needs 7 is refused: its sums would saturate.
  int int8_weight_bits = 0;
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
  Engine(Engine&&) noexcept;
  ~Engine();
  static Engine from_file(const std::string& path, const EngineOptions& options);
  // `base_dir`: where the model's external data files are ("": none allowed; see onnx/loader.h).
  static Engine from_bytes(const void* data, size_t size, const EngineOptions& options, const std::string& base_dir = "");

  const std::vector<ValueInfo>& inputs() const { return graph_.inputs; }
  const std::vector<ValueInfo>& outputs() const { return graph_.outputs; }
  // Graph outputs left out (maps, sequences, strings; or not chosen in EngineOptions::outputs).
  const std::vector<std::pair<std::string, std::string>>& ignored_outputs() const { return graph_.ignored_outputs; }
  std::string backend_name() const { return backend_name_; }
  int int8_weight_bits() const { return weight_bits_; }  // EngineOptions::int8_weight_bits, resolved
  // The steps of the current plan; an If is followed by the steps of the branch it ran last,
  // named "subgraph_key::node" (none before its first run).
  std::vector<PlanStep> plan_steps() const;

  // Inputs in graph-input order; checked for count, dtype, rank and the declared fixed dims.
  // `capture`, if given, receives the calibration tensors (see below) of this run.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* capture = nullptr);
  // Calibration: `sink` sees every calibration tensor of this run (plain float32 layout) as soon
  // as it is computed, so a caller can observe ranges without keeping the activations (see
  // session/calibration.h); those of an If's branch (an engine of its own) as
  // "subgraph_key::tensor".
  using CalibrationSink = ValueSink;
  // Observed::every_tensor: `sink` sees every float value of the run instead (the graph inputs and
  // each op's outputs), what a lowering that quantizes every activation calibrates.
  // Observed::every_tensor_as_held: the same values as the run holds them (a backend's layout, codes),
  // for diagnostics and tests of where data lies.
  enum class Observed { calibration_tensors, every_tensor, every_tensor_as_held };
  std::vector<Tensor> run_observed(const std::vector<Tensor>& inputs, const CalibrationSink& sink,
                                   Observed observed = Observed::calibration_tensors);

  // Quantization. Layers that can run in INT8 and the tensors they read (the calibration points).
  std::vector<std::string> quantizable_layers() const;
  std::vector<std::string> calibration_tensors() const;
  // Static mode needs a range for every calibration tensor; scale and zero point come from
  // quant::affine_params_from_range (u8 asymmetric). A branch's ranges ("subgraph_key::tensor")
  // are optional: a branch with a range for each of its calibration tensors runs static INT8, one
  // without (a branch calibration never took) float32.
  void set_activation_range(const std::string& tensor, float min, float max);
  // Several at once (one re-plan in static mode).
  void set_activation_ranges(const std::map<std::string, std::pair<float, float>>& ranges);
  // Whether set_activation_range takes `tensor`: a calibration tensor, or one of an If's branch.
  bool takes_range(const std::string& tensor) const;
  void set_mode(Mode mode);
  Mode mode() const;
  // In an INT8 mode: frees the float weights of the quantizable layers (their s8 weights and
  // scales stay), cutting a session's memory to about a quarter; FP32 is then refused.
  void release_float_weights();
  bool float_weights_released() const;
  // The (scale, zero_point) static mode uses for a calibration tensor: from the union of the
  // ranges of its quantization group (tensors joined through Split and Concat, which then pass
  // u8 data through unchanged).
  std::pair<float, int32_t> activation_quantization(const std::string& tensor) const;
  // A quantized model (QDQ or QLinear ops, graph/qdq.h) carries its activations' (scale, zero
  // point): static INT8 then needs no calibration, and runs in INT8 exactly the layers whose input
  // the file quantizes, with the file's parameters; the others stay float32.
  bool carries_quantization() const { return !given_quantization_.empty() || dynamic_in_file_; }
  // A static INT8 layer of the current plan: its s8 weights and, where it requantizes in TFLite's
  // fixed point (QuantConfig::fixed_point), the prepared integer parameters, with its input's and
  // output's (scale, zero point) — the numbers the C export writes for it.
  struct IntegerLayer {
    std::string name;
    std::shared_ptr<const QuantizedWeights> weights;
    std::shared_ptr<const FixedPointRequantization> requantization;  // or null: float requantization
    float input_scale = 1, output_scale = 1;
    int32_t input_zero_point = 0, output_zero_point = 0;
  };
  std::vector<IntegerLayer> integer_layers() const;
  // The tensors the current plan passes between layers as u8 codes (Tensor::quant), with their
  // (scale, zero point): static INT8 only, where every reader takes codes (graph/int8_plan.h).
  std::map<std::string, std::pair<float, int32_t>> integer_tensors() const;

  void set_threads(int threads);
  void set_profiling(bool on);
  // Called with k before step k of every run and with the step count after the last: a place for
  // markers of an outside counter (edgequant-run --markers: instructions per layer under qemu).
  // An empty function turns it off.
  void set_step_hook(std::function<void(size_t)> hook);
  std::vector<LayerTime> layer_times() const;
  void reset_layer_times();

  const Graph& graph() const { return graph_; }

 private:
  // How a node's op is wired to the value slots (shared by every session).
  struct Step {
    std::vector<int> inputs;   // slot per input, -1 for omitted
    std::vector<int> outputs;  // slot per output, -1 for omitted or never produced and never read
    std::vector<int> release;  // slots no later step reads: freed after this step
    std::vector<bool> input_is_free;  // per input: released after this step and read once by it
    std::vector<bool> input_is_read_later;  // per input: an intermediate a later step reads too
    std::vector<bool> reads_u8;  // per input: the op takes quantized codes there (Int8Traits::u8_inputs)
    bool quantizable = false;
    bool rounds_to_grid = false;  // Int8Traits::rounds_to_grid: takes its QuantConfig too
  };
  // What one run at a time owns: the ops (kernel caches) and the backend (activation pool).
  struct Session {
    std::unique_ptr<Backend> backend;
    std::vector<std::unique_ptr<Op>> ops;  // per step
    std::shared_ptr<FloatBufferPool> floats = std::make_shared<FloatBufferPool>();  // plain tensors, kept between runs
  };
  struct Sync;  // the locks (an Engine stays movable)
  class Lease;  // a session borrowed for one run

  int slot_of(const std::string& name);
  const Node& node(size_t step) const { return graph_.nodes[step]; }
  std::unique_ptr<Session> make_session() const;
  std::unique_ptr<Session> acquire() const;
  void give_back(std::unique_ptr<Session> session) const;
  // Every session, the idle ones (callers hold the exclusive lock, so none is running).
  std::vector<Session*> all_sessions();
  void check_finite(const Tensor& t, const std::string& name) const;
  std::vector<Tensor> run_with(const std::vector<Tensor>& inputs, const CalibrationSink* sink,
                               Observed observed = Observed::calibration_tensors);
  // set_mode without releasing caches: quantization configs from the mode and the ranges.
  void plan(Mode mode);
  int group_of(int slot) const;
  // (scale, zero point) of a quantization group from the union of its members' ranges.
  std::pair<float, int32_t> group_quantization(int group) const;
  void prune_and_select_outputs(const std::vector<std::string>& wanted);
  // Whether step k's kernels run INT8 in the current plan (a quantized model leaves some float).
  bool runs_int8(size_t k) const {
    return steps_[k].quantizable && k < configs_.size() && configs_[k].mode != QuantConfig::Mode::f32;
  }
  void check_supported_ops() const;

  Graph graph_;
  EngineOptions options_;
  std::string backend_name_;
  int weight_bits_ = 8;
  std::map<std::string, int> slots_;
  std::vector<Tensor> constants_;  // slot -> initializer (empty tensor for non-constants)
  std::vector<bool> is_constant_;
  std::vector<int> input_slots_, output_slots_;
  std::vector<Step> steps_;
  std::vector<std::string> calibration_tensors_;
  std::set<std::string> is_calibration_tensor_;
  std::vector<QuantConfig> configs_;  // per step, the current plan (quantizable steps only)
  std::map<std::string, std::pair<float, float>> ranges_;
  // Ranges of the If branches' tensors ("subgraph_key::tensor"), handed to a branch as it compiles;
  // branch_ranges_version_ counts their changes (a branch compiled before one is compiled again).
  std::set<std::string> subgraph_keys_;
  std::map<std::string, std::pair<float, float>> branch_ranges_;
  int branch_ranges_version_ = 0;
  // A quantized model's activations: slot -> (scale, zero point) in the engine's u8 dialect.
  std::map<int, std::pair<float, int32_t>> given_quantization_;
  bool dynamic_in_file_ = false;  // layers the file quantizes dynamically (quantize_dynamic's form)
  // Static mode's (scale, zero point) per quantization group: the given ones, or the calibrated.
  std::map<int, std::pair<float, int32_t>> static_params() const;
  Int8Plan int8_plan_;  // which tensors travel as u8, quantization groups
  std::map<std::string, std::pair<float, int32_t>> integer_tensors_;  // of the current plan
  Mode mode_ = Mode::f32;
  bool float_weights_released_ = false;
  bool profiling_ = false;
  std::function<void(size_t)> step_hook_;
  std::vector<LayerTime> times_;
  std::unique_ptr<Sync> sync_;
};

}  // namespace edgequant::engine
