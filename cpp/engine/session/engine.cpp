#include "session/engine.h"

#include "graph/qdq.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <tuple>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "backend/fast_kernels.h"
#include "backend/int8_support.h"
#include "graph/activation_patterns.h"
#include "graph/constant_folding.h"
#include "graph/conv_affine_folding.h"
#include "graph/dense_bias_folding.h"
#include "graph/data_movement_folding.h"
#include "graph/code_adds.h"
#include "graph/code_average_pools.h"
#include "graph/code_tables.h"
#include "graph/identity_removal.h"
#include "graph/passes.h"
#include "graph/qdq.h"
#include "graph/space_to_depth_folding.h"
#include "graph/transpose_folding.h"
#include "onnx/loader.h"

namespace edgequant::engine {

struct Engine::Sync {
  std::shared_mutex state;   // runs: shared; configuration: exclusive
  std::mutex gate;           // taken on the way in to `state`: see shared()
  std::mutex pool;           // the idle sessions
  std::mutex times;          // layer times, when profiling
  std::vector<std::unique_ptr<Session>> idle;

  // glibc's rwlock prefers readers, so runs that keep overlapping starved set_mode() forever.
  // A configuration call holds the gate while it waits for the runs in flight; new runs queue
  // behind it. (No caller takes `state` twice, so a run never waits on the gate holding it.)
  std::shared_lock<std::shared_mutex> shared() {
    std::lock_guard<std::mutex> turn(gate);
    return std::shared_lock<std::shared_mutex>(state);
  }
  std::unique_lock<std::shared_mutex> exclusive() {
    std::lock_guard<std::mutex> turn(gate);
    return std::unique_lock<std::shared_mutex>(state);
  }
};

namespace {

// An If's branch as an engine of its own (ops/op.h SubgraphCompiler): the branch's graph with the
// values it captures as its inputs, built with this engine's backend, threads and passes, run in
// the enclosing engine's mode: dynamic INT8 as it is; static INT8 where the enclosing engine holds
// a range for each of the branch's calibration tensors ("key::tensor": calibration ran the branch)
// or the branch carries its own quantization, float32 otherwise.
class BranchEngine : public SubgraphProgram {
 public:
  explicit BranchEngine(Engine engine) : engine_(std::move(engine)) {}
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const ValueSink* calibration_sink) override {
    return calibration_sink ? engine_.run_observed(inputs, *calibration_sink) : engine_.run(inputs);
  }
  std::vector<PlanStep> plan() const override { return engine_.plan_steps(); }

 private:
  Engine engine_;
};

class BranchCompiler : public SubgraphCompiler {
 public:
  BranchCompiler(const EngineOptions& options, Mode mode, const std::map<std::string, std::pair<float, float>>& ranges,
                 int ranges_version)
      : options_(options), mode_(mode), ranges_(ranges), ranges_version_(ranges_version) {}
  int variant() const override {  // ranges change only what static mode compiles
    return mode_ == Mode::int8_static ? 3 + ranges_version_ : static_cast<int>(mode_);
  }
  std::unique_ptr<SubgraphProgram> compile(const Graph& graph, const std::string& key,
                                           const std::vector<std::string>& input_names,
                                           const std::vector<const Tensor*>& inputs) const override {
    Graph branch = graph;
    branch.inputs.clear();
    for (size_t k = 0; k < input_names.size(); ++k) {
      ValueInfo info;
      info.name = input_names[k];
      info.dtype = inputs[k]->dtype == DType::i64 ? DType::i64 : DType::f32;
      info.shape = inputs[k]->shape;
      branch.inputs.push_back(info);
    }
    EngineOptions options = options_;
    options.outputs.clear();
    options.refuse_non_finite = false;  // values computed by the enclosing graph, not a user's input
    std::unique_ptr<Engine> engine;
    try {
      engine = std::make_unique<Engine>(std::move(branch), options);
    } catch (const std::exception&) {
      return nullptr;  // the If runs the branch's nodes one by one, with their own errors
    }
    if (mode_ == Mode::int8_dynamic) engine->set_mode(Mode::int8_dynamic);
    if (mode_ == Mode::int8_static && (engine->carries_quantization() || set_branch_ranges(*engine, key)))
      engine->set_mode(Mode::int8_static);
    return std::make_unique<BranchEngine>(std::move(*engine));
  }

 private:
  // The enclosing engine's ranges of this branch's tensors, set on its engine; whether they cover
  // every calibration tensor of the branch (those of its own branches may be missing).
  bool set_branch_ranges(Engine& engine, const std::string& key) const {
    const std::string prefix = key + "::";
    std::map<std::string, std::pair<float, float>> own;
    for (auto it = ranges_.lower_bound(prefix); it != ranges_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
      const std::string name = it->first.substr(prefix.size());
      if (engine.takes_range(name)) own[name] = it->second;
    }
    for (const std::string& name : engine.calibration_tensors())
      if (!own.count(name)) return false;
    engine.set_activation_ranges(own);
    return true;
  }

  const EngineOptions& options_;
  const Mode mode_;
  const std::map<std::string, std::pair<float, float>>& ranges_;
  const int ranges_version_;
};

}  // namespace

// A session taken from the pool (or newly built) for one run, returned when the run ends.
class Engine::Lease {
 public:
  explicit Lease(const Engine& engine) : engine_(engine), session_(engine.acquire()) {}
  ~Lease() { engine_.give_back(std::move(session_)); }
  Session& operator*() { return *session_; }
  Session* operator->() { return session_.get(); }

 private:
  const Engine& engine_;
  std::unique_ptr<Session> session_;
};

Engine::Engine(Engine&&) noexcept = default;
Engine::~Engine() = default;

Engine::Engine(Graph graph, const EngineOptions& options)
    : graph_(std::move(graph)), options_(options), sync_(std::make_unique<Sync>()) {
  prune_and_select_outputs(options.outputs);
  // Shape subgraphs and constant Ifs fold away before the op check: a model that uses an op only
  // there loads. Pruning again drops what only the folded values (or an If's branch not taken) needed.
  const FoldingStats folded = fold_constants(graph_);
  if (folded.folded_nodes > 0 || folded.inlined_ifs > 0) prune_and_select_outputs({});
  check_supported_ops();
  if (options.fuse) {
    remove_identities(graph_);  // first: an Identity hides its producer from every pattern below
    fold_strided_slices_into_space_to_depth(graph_);  // YOLOv5's Focus; before the moves below take its slices
    remove_pairs_after_data_moves(graph_);  // before the chains of moves fold
    fold_code_tables(graph_);  // before the activation patterns: the stretches between pairs, whole
    fold_code_adds(graph_);    // before the residual fusion: a sum between pairs stays on codes
    fold_code_average_pools(graph_);  // after the sums: a pool may average one
    fold_transposes(graph_);
    fold_data_movement_chains(graph_);  // after the transposes that cancel are gone
    recognise_activation_patterns(graph_);  // written-out activations, so that they fuse below
    fold_batch_norms(graph_);
    fold_affine_into_convs(graph_);  // exported biases and scales, so that activations after them fuse
    fold_batch_norms(graph_);  // a BatchNormalization after such a bias (a DB detector's upsampling head)
    fold_bias_adds_into_matmuls(graph_);
    move_relus_before_max_pools(graph_);
    fuse_activations(graph_);
    if (options.fuse_residual_adds && fuse_residual_adds(graph_) > 0) fuse_activations(graph_);  // after the sums
    fold_affine_into_convs(graph_);  // a scalar Mul / Add after a fused activation
  }
  // Initializers the passes replaced (BN folding) would otherwise stay in memory.
  std::set<std::string> read;
  for (const Node& n : graph_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
  for (const ValueInfo& out : graph_.outputs) read.insert(out.name);
  for (auto it = graph_.initializers.begin(); it != graph_.initializers.end();)
    it = read.count(it->first) ? std::next(it) : graph_.initializers.erase(it);
  for (const auto& kv : graph_.initializers) {
    const int s = slot_of(kv.first);
    constants_[s] = kv.second;
    is_constant_[s] = true;
  }
  for (const ValueInfo& in : graph_.inputs) input_slots_.push_back(slot_of(in.name));
  for (const Node& n : graph_.nodes) {
    Step step;
    for (const std::string& in : n.inputs) step.inputs.push_back(in.empty() ? -1 : slot_of(in));
    // An output the op does not compute (a Relu's second output, Dropout's mask) is left out
    // where nothing reads it; a model that reads one is refused here, not at run time.
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const std::string& out = n.outputs[o];
      if (o >= produced_outputs(n) && !out.empty()) {
        if (read.count(out))
          throw InvalidArgument(n.describe() + ": output " + std::to_string(o) + " ('" + out + "') is read, but " +
                                n.op_type + " computes only " + std::to_string(produced_outputs(n)) + " output(s) here");
        step.outputs.push_back(-1);
        continue;
      }
      step.outputs.push_back(out.empty() ? -1 : slot_of(out));
    }
    steps_.push_back(std::move(step));
    times_.push_back({n.name, n.op_type, 0, 0});
  }
  for (const ValueInfo& out : graph_.outputs) output_slots_.push_back(slot_of(out.name));
  // Free each intermediate after its last reader (graph outputs and constants are kept).
  std::vector<int> last_reader(slots_.size(), -1);
  for (size_t k = 0; k < steps_.size(); ++k)
    for (int s : steps_[k].inputs)
      if (s >= 0) last_reader[s] = static_cast<int>(k);
  std::vector<bool> kept(slots_.size(), false);
  for (int s : output_slots_) kept[s] = true;
  for (size_t s = 0; s < last_reader.size(); ++s)
    if (last_reader[s] >= 0 && !is_constant_[s] && !kept[s]) steps_[last_reader[s]].release.push_back(static_cast<int>(s));
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    for (int s : step.inputs) {
      step.input_is_free.push_back(s >= 0 && std::count(step.release.begin(), step.release.end(), s) == 1 &&
                                   std::count(step.inputs.begin(), step.inputs.end(), s) == 1);
      step.input_is_read_later.push_back(s >= 0 && !is_constant_[s] && last_reader[s] > static_cast<int>(k));
    }
  }
  // The first session: the ops are built (and their nodes checked) here, not on the first run.
  std::unique_ptr<Session> first = make_session();
  backend_name_ = first->backend->name();
  const int widest = engine::int8_weight_bits(backend_name_);
  weight_bits_ = options.int8_weight_bits == 0 ? engine::int8_weight_bits() : options.int8_weight_bits;
  require(weight_bits_ == 8 || weight_bits_ == 7,
          "INT8 weights have 8 or 7 bits, not " + std::to_string(options.int8_weight_bits));
  require(weight_bits_ <= widest,
          "the " + backend_name_ + " backend's INT8 kernels add pairs of u8·s8 products in 16 saturating bits on this "
          "CPU (no VNNI): 8-bit weights would give wrong sums; use 7-bit weights (reduce_range) or another backend");
  std::set<std::string> seen;
  std::vector<Int8Step> int8_steps;  // the INT8 plan, from what each op declares
  for (size_t k = 0; k < steps_.size(); ++k) {
    int8_steps.push_back({steps_[k].inputs, steps_[k].outputs, first->ops[k]->int8_traits()});
    const Int8Traits& traits = int8_steps.back().traits;
    steps_[k].reads_u8.assign(steps_[k].inputs.size(), false);
    for (int i : traits.u8_inputs)
      if (i >= 0 && i < static_cast<int>(steps_[k].inputs.size())) steps_[k].reads_u8[i] = true;
    dynamic_in_file_ = dynamic_in_file_ || traits.dynamic_in_file;
    steps_[k].rounds_to_grid = traits.rounds_to_grid;
    steps_[k].quantizable = first->ops[k]->quantizable();
    // Calibrated: a quantized layer's input and its fused residual (the residual is added as codes on
    // its own grid: a residual that only a fused Add reads, such as a ResNet's downsampling branch,
    // would otherwise stay float and keep the layer and every later block off the integer path).
    if (steps_[k].quantizable) {
      std::vector<int> calibrated = {0};
      if (traits.residual_input > 0 && traits.residual_input < static_cast<int>(node(k).inputs.size()))
        calibrated.push_back(traits.residual_input);
      for (int i : calibrated)
        if (!node(k).inputs[i].empty() && seen.insert(node(k).inputs[i]).second)
          calibration_tensors_.push_back(node(k).inputs[i]);
    }
  }
  is_calibration_tensor_ = seen;
  for (const Node& n : graph_.nodes)
    if (n.op_type == "If")
      for (const char* branch : {"then_branch", "else_branch"}) subgraph_keys_.insert(subgraph_key(n, branch));
  configs_.resize(steps_.size());
  sync_->idle.push_back(std::move(first));
  int8_plan_ = Int8Plan(std::move(int8_steps), slots_.size(), output_slots_);
  // A quantized model (graph/qdq.h): each QuantizeDequantize (or DequantizeLinear) with constant
  // per-tensor 8-bit parameters gives the tensor it writes its (scale, zero point). int8 values move to the u8
  // dialect of the INT8 kernels (backend/int8_support.h): same scale, zero point + 128.
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Node& n = node(k);
    // A DequantizeLinear's output lies on its grid too (its input computed by an op on integers), a
    // CodeTable's and a CodeAdd's on their end pair's.
    const size_t at = output_grid_input(n);
    if (at == 0 || steps_[k].outputs.empty() || steps_[k].outputs[0] < 0 || n.inputs.size() < at + 1)
      continue;
    const std::string zero_name = n.inputs.size() > at + 1 ? n.inputs[at + 1] : "";
    if (!graph_.is_constant(n.inputs[at]) || (!zero_name.empty() && !graph_.is_constant(zero_name))) continue;
    const Tensor& scale = graph_.initializers.at(n.inputs[at]);
    const int64_t zero = zero_name.empty() ? 0 : graph_.initializers.at(zero_name).as_i64().at(0);
    const QuantizedRange range = quantized_range(n);
    const bool eight_bit = (range.min == 0 && range.max == 255) || (range.min == -128 && range.max == 127);
    if (scale.dtype != DType::f32 || scale.numel() != 1 || !eight_bit || !(scale.f()[0] > 0) ||
        !std::isfinite(scale.f()[0]) || (!zero_name.empty() && graph_.initializers.at(zero_name).numel() != 1))
      continue;
    given_quantization_[steps_[k].outputs[0]] = {scale.f()[0], static_cast<int32_t>(zero - range.min)};
  }
  set_threads(options.threads);
}

void Engine::prune_and_select_outputs(const std::vector<std::string>& wanted) {
  if (!wanted.empty()) {
    std::set<std::string> values;
    for (const ValueInfo& in : graph_.inputs) values.insert(in.name);
    for (const auto& kv : graph_.initializers) values.insert(kv.first);
    for (const Node& n : graph_.nodes) values.insert(n.outputs.begin(), n.outputs.end());
    std::vector<ValueInfo> chosen;
    for (const std::string& name : wanted) {
      require(!name.empty() && values.count(name), "outputs: '" + name + "' is not a value of this model");
      ValueInfo info;
      info.name = name;
      info.shape = {-1};  // unknown; only the declared outputs carry a shape
      for (const ValueInfo& out : graph_.outputs)
        if (out.name == name) info = out;
      if (graph_.initializers.count(name)) info.dtype = graph_.initializers.at(name).dtype;
      chosen.push_back(info);
    }
    for (const ValueInfo& out : graph_.outputs)
      if (std::find(wanted.begin(), wanted.end(), out.name) == wanted.end())
        graph_.ignored_outputs.push_back({out.name, "not among the outputs chosen"});
    graph_.outputs = std::move(chosen);
  }
  // Nodes no output needs are not built (the nodes are in topological order: one backward sweep).
  std::set<std::string> needed;
  for (const ValueInfo& out : graph_.outputs) needed.insert(out.name);
  std::vector<bool> keep(graph_.nodes.size(), false);
  for (size_t k = graph_.nodes.size(); k-- > 0;) {
    const Node& n = graph_.nodes[k];
    for (const std::string& out : n.outputs) keep[k] = keep[k] || (!out.empty() && needed.count(out));
    if (keep[k]) needed.insert(n.inputs.begin(), n.inputs.end());
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < graph_.nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(graph_.nodes[k]));
  graph_.nodes = std::move(kept);
}

// Every unsupported op of the model in one error, each type with the nodes that use it, the
// nodes of subgraphs (an If's branches run at run time) included.
namespace {
void collect_unsupported(const Graph& graph, std::map<std::string, std::vector<std::string>>& missing) {
  for (const Node& n : graph.nodes) {
    if (!n.domain.empty() || !is_supported_op(n.op_type))
      missing["'" + n.op_type + "'" + (n.domain.empty() ? "" : " of domain '" + n.domain + "'")].push_back(n.name);
    for (const auto& kv : n.attributes)
      if (kv.second.graph) collect_unsupported(*kv.second.graph, missing);
  }
}
}  // namespace

void Engine::check_supported_ops() const {
  std::map<std::string, std::vector<std::string>> missing;  // "'Erf'" -> node names
  collect_unsupported(graph_, missing);
  if (missing.empty()) return;
  std::string message = "the model uses " + std::to_string(missing.size()) + " unsupported op type(s): ";
  bool first = true;
  for (const auto& kv : missing) {
    message += (first ? "" : "; ") + std::string("unsupported op ") + kv.first + " (node";
    message += kv.second.size() > 1 ? "s '" : " '";
    for (size_t k = 0; k < kv.second.size() && k < 3; ++k) message += (k ? "', '" : "") + kv.second[k];
    message += kv.second.size() > 3 ? "' and " + std::to_string(kv.second.size() - 3) + " more)" : "')";
    first = false;
  }
  const std::vector<std::string> ops = supported_ops();
  message += ". Supported: ";
  for (size_t k = 0; k < ops.size(); ++k) message += (k ? ", " : "") + ops[k];
  throw InvalidArgument(message);
}

namespace {
// Depthwise convs: one input channel per group (weights [oc, 1, kh, kw]), several groups.
ModelTraits traits_of(const Graph& graph) {
  ModelTraits traits;
  for (const Node& n : graph.nodes) {
    if (n.op_type != "Conv" || n.inputs.size() < 2 || n.attr_i("group", 1) <= 1) continue;
    const auto w = graph.initializers.find(n.inputs[1]);
    if (w != graph.initializers.end() && w->second.shape.size() >= 3 && w->second.shape[1] == 1)
      traits.depthwise_convs = true;
  }
  return traits;
}
}  // namespace

std::unique_ptr<Engine::Session> Engine::make_session() const {
  auto session = std::make_unique<Session>();
  session->backend = make_backend(options_.backend);
  session->backend->describe_model(traits_of(graph_));
  for (size_t k = 0; k < steps_.size(); ++k) {
    session->ops.push_back(make_op(node(k), graph_));
    if (runs_int8(k) || (steps_[k].rounds_to_grid && k < configs_.size()))
      session->ops[k]->set_quantization(configs_[k]);
  }
  return session;
}

std::unique_ptr<Engine::Session> Engine::acquire() const {
  {
    std::lock_guard<std::mutex> lock(sync_->pool);
    if (!sync_->idle.empty()) {
      std::unique_ptr<Session> session = std::move(sync_->idle.back());
      sync_->idle.pop_back();
      return session;
    }
  }
  return make_session();  // another thread's run holds every session
}

void Engine::give_back(std::unique_ptr<Session> session) const {
  if (!session) return;
  std::lock_guard<std::mutex> lock(sync_->pool);
  sync_->idle.push_back(std::move(session));
}

std::vector<Engine::Session*> Engine::all_sessions() {
  std::vector<Session*> sessions;
  if (sync_->idle.empty()) sync_->idle.push_back(make_session());
  for (auto& session : sync_->idle) sessions.push_back(session.get());
  return sessions;
}

int Engine::group_of(int slot) const { return int8_plan_.group_of(slot); }

// Hands freed heap pages back to the system: after calibration and quantization, the float
// kernels and weights just freed would otherwise stay resident in malloc's arenas (glibc raises
// its mmap threshold as large blocks are freed, so later large blocks come from the heap).
namespace {
void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}
}  // namespace

Engine Engine::from_file(const std::string& path, const EngineOptions& options) {
  return Engine(load_onnx_file(path), options);
}

Engine Engine::from_bytes(const void* data, size_t size, const EngineOptions& options, const std::string& base_dir) {
  return Engine(load_onnx_bytes(data, size, base_dir), options);
}

int Engine::slot_of(const std::string& name) {
  auto it = slots_.find(name);
  if (it != slots_.end()) return it->second;
  const int s = static_cast<int>(slots_.size());
  slots_[name] = s;
  constants_.emplace_back();
  is_constant_.push_back(false);
  return s;
}

void Engine::check_finite(const Tensor& t, const std::string& name) const {
  const float* x = t.f();
  const int64_t n = t.numel();
  if (all_finite(x, n)) return;  // the vectorised pass; the element is looked for only to name it
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(x[k]))
      throw InvalidArgument("input '" + name + "' holds " + (std::isnan(x[k]) ? "NaN" : "Inf") + " (flat index " +
                            std::to_string(k) + "): the engine refuses non-finite inputs");
}

std::vector<Tensor> Engine::run(const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* capture) {
  if (!capture) return run_with(inputs, nullptr);
  const CalibrationSink keep = [capture](const std::string& name, const Tensor& values) { (*capture)[name] = values; };
  return run_with(inputs, &keep);
}

std::vector<Tensor> Engine::run_observed(const std::vector<Tensor>& inputs, const CalibrationSink& sink,
                                         Observed observed) {
  return run_with(inputs, &sink, observed);
}

std::vector<Tensor> Engine::run_with(const std::vector<Tensor>& inputs, const CalibrationSink* sink,
                                     Observed observed_kind) {
  const bool every_tensor = observed_kind != Observed::calibration_tensors;
  auto state = sync_->shared();
  if (inputs.size() != graph_.inputs.size())
    throw InvalidArgument("the model takes " + std::to_string(graph_.inputs.size()) + " input(s), got " +
                          std::to_string(inputs.size()));
  std::vector<Tensor> values(slots_.size());
  std::vector<bool> present(slots_.size(), false);
  for (size_t s = 0; s < slots_.size(); ++s) present[s] = is_constant_[s];  // read in place from constants_
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueInfo& info = graph_.inputs[k];
    const Tensor& t = inputs[k];
    // Every run: the messages are built only when a check fails.
    if (t.dtype != info.dtype)
      throw InvalidArgument("input '" + info.name + "' must be " + dtype_name(info.dtype) + ", got " +
                            dtype_name(t.dtype));
    if (!info.shape.empty() || t.rank() == 0) {
      if (t.rank() != static_cast<int>(info.shape.size()))
        throw InvalidArgument("input '" + info.name + "' must have rank " + std::to_string(info.shape.size()) +
                              ", got shape " + shape_string(t.shape));
      for (size_t d = 0; d < info.shape.size(); ++d)
        if (info.shape[d] >= 0 && info.shape[d] != t.shape[d])
          throw InvalidArgument("input '" + info.name + "' has shape " + shape_string(t.shape) +
                                ", the model declares " + shape_string(info.shape) + " (-1 = any)");
    }
    checked_numel(t.shape, "input '" + info.name + "'");
    if (options_.refuse_non_finite && t.dtype == DType::f32) check_finite(t, info.name);
    values[input_slots_[k]] = t;
    present[input_slots_[k]] = true;
  }
  std::set<std::string> observed;
  // Every float value of the run, as plain float32 (the C export calibrates all of them).
  auto observe = [&](const std::string& name, const Tensor& t) {
    if (!t.is_real() || !observed.insert(name).second) return;
    if (observed_kind == Observed::every_tensor_as_held) return (*sink)(name, t);
    Tensor plain = t.as_float();
    plain.materialize();
    plain.native.reset();
    (*sink)(name, plain);
  };
  if (sink && every_tensor)
    for (size_t k = 0; k < input_slots_.size(); ++k) observe(graph_.inputs[k].name, values[input_slots_[k]]);
  Lease session(*this);
  FloatBufferPool::Scope plain_tensors(*session->floats);
  session->backend->set_threads(options_.threads);  // OpenMP thread counts are per calling thread
  RunContext ctx{*session->backend, nullptr};
  const BranchCompiler branches(options_, mode_, branch_ranges_, branch_ranges_version_);
  ctx.subgraphs = &branches;
  if (!every_tensor) ctx.calibration_sink = sink;
  std::vector<const Tensor*> in;
  std::vector<Tensor> out, dequantized;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Step& step = steps_[k];
    Op& op = *session->ops[k];
    in.assign(step.inputs.size(), nullptr);
    if (dequantized.size() < step.inputs.size()) dequantized.resize(step.inputs.size());
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0 && present[step.inputs[i]]) {
        Tensor& value = values[step.inputs[i]];
        in[i] = is_constant_[step.inputs[i]] ? &constants_[step.inputs[i]] : &value;
        // Quantized codes go as they are only to the inputs that declare u8; any other reader gets
        // float values, whatever a backend left (the codes stay for the u8 readers after it).
        if (in[i] == &value && value.is_quantized() && !step.reads_u8[i]) {
          dequantized[i] = value.as_float();
          in[i] = &dequantized[i];
        }
      }
    out.clear();
    out.resize(step.outputs.size());
    ctx.input_is_free = &step.input_is_free;
    ctx.input_is_read_later = &step.input_is_read_later;
    // A calibration tensor (a quantizable step's input 0 or fused residual) is seen once, before
    // its first quantizable reader runs (which may reuse a freed input's buffer).
    if (sink && !every_tensor && step.quantizable)
      for (size_t i = 0; i < in.size(); ++i) {
        const std::string& name = node(k).inputs[i];
        if (!in[i] || !is_calibration_tensor_.count(name) || !observed.insert(name).second) continue;
        Tensor plain = *in[i];
        plain.materialize();
        plain.native.reset();
        (*sink)(name, plain);
      }
    if (step_hook_) step_hook_(k);
    const auto start = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    op.run(ctx, in, out);
    for (size_t i = 0; i < in.size(); ++i)  // the copies made for this step only (no Tensors made per step)
      if (in[i] == &dequantized[i]) dequantized[i] = Tensor();
    if (profiling_) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::lock_guard<std::mutex> lock(sync_->times);
      times_[k].seconds += seconds;
      ++times_[k].calls;
    }
    for (size_t o = 0; o < step.outputs.size(); ++o)
      if (step.outputs[o] >= 0) {
        const Tensor& t = out[o];
        if (!t.has_data())
          throw InvalidArgument(node(k).describe() + ": output " + std::to_string(o) + " was not computed");
        values[step.outputs[o]] = std::move(out[o]);
        // An op that passed an input through (Reshape, or in place) may have changed its data.
        values[step.outputs[o]].converted.reset();
        present[step.outputs[o]] = true;
        if (sink && every_tensor) observe(node(k).outputs[o], values[step.outputs[o]]);
      }
    for (int s : step.release) values[s] = Tensor();
  }
  if (step_hook_) step_hook_(steps_.size());
  std::vector<Tensor> results;
  for (size_t k = 0; k < output_slots_.size(); ++k) {
    if (!present[output_slots_[k]]) throw InvalidArgument("graph output '" + graph_.outputs[k].name + "' was not produced");
    results.push_back(is_constant_[output_slots_[k]] ? constants_[output_slots_[k]] : values[output_slots_[k]]);
    if (results.back().is_quantized()) results.back() = results.back().as_float();  // outputs leave as float
    results.back().materialize();  // outputs leave plain, independent of the backend
    results.back().native.reset();
    results.back().converted.reset();
  }
  values.clear();
  session->backend->end_run();
  session->floats->trim();
  return results;
}

std::vector<std::string> Engine::quantizable_layers() const {
  std::vector<std::string> names;
  for (size_t k = 0; k < steps_.size(); ++k)
    if (steps_[k].quantizable) names.push_back(node(k).name);
  return names;
}

std::vector<std::string> Engine::calibration_tensors() const { return calibration_tensors_; }

std::vector<PlanStep> Engine::plan_steps() const {
  auto state = sync_->exclusive();  // no run changes the sessions meanwhile
  std::lock_guard<std::mutex> lock(sync_->pool);
  std::vector<PlanStep> plan;
  const Session* session = sync_->idle.empty() ? nullptr : sync_->idle.front().get();
  for (size_t k = 0; k < steps_.size(); ++k) {
    plan.push_back({node(k).name, node(k).op_type, session ? session->ops[k]->precision() : "f32"});
    if (session)
      for (PlanStep& inner : session->ops[k]->subgraph_plan()) plan.push_back(std::move(inner));
  }
  return plan;
}

Mode Engine::mode() const {
  auto state = sync_->shared();
  return mode_;
}

bool Engine::float_weights_released() const {
  auto state = sync_->shared();
  return float_weights_released_;
}

void Engine::set_activation_range(const std::string& tensor, float min, float max) {
  set_activation_ranges({{tensor, {min, max}}});
}

void Engine::set_activation_ranges(const std::map<std::string, std::pair<float, float>>& ranges) {
  auto state = sync_->exclusive();
  require(!carries_quantization() || ranges.empty(),
          "this model carries its own quantization (QuantizeLinear / DequantizeLinear or QLinear ops): static "
          "INT8 uses the file's scales and zero points, so it takes no calibration ranges");
  for (const auto& [tensor, range] : ranges) {  // all checked before any is set
    require(takes_range(tensor), "'" + tensor + "' is not a calibration tensor of this model");
    require(std::isfinite(range.first) && std::isfinite(range.second) && range.first <= range.second,
            "range of '" + tensor + "' must be finite, min <= max");
  }
  bool branches_changed = false;
  for (const auto& [tensor, range] : ranges) {
    if (is_calibration_tensor_.count(tensor)) {
      ranges_[tensor] = range;
    } else {
      branch_ranges_[tensor] = range;
      branches_changed = true;
    }
  }
  branch_ranges_version_ += branches_changed;  // branches compile again, with them
  if (mode_ == Mode::int8_static) plan(Mode::int8_static);  // re-plan with the new ranges (no cache flush)
}

bool Engine::takes_range(const std::string& tensor) const {
  if (is_calibration_tensor_.count(tensor)) return true;
  for (const std::string& key : subgraph_keys_)
    if (tensor.size() > key.size() + 2 && tensor.compare(0, key.size(), key) == 0 &&
        tensor.compare(key.size(), 2, "::") == 0)
      return true;
  return false;
}

std::pair<float, int32_t> Engine::group_quantization(int group) const {
  bool found = false;
  std::pair<float, float> range;
  for (const auto& kv : ranges_)
    if (group_of(slots_.at(kv.first)) == group) {
      range = found ? std::make_pair(std::min(range.first, kv.second.first), std::max(range.second, kv.second.second))
                    : kv.second;
      found = true;
    }
  require(found, "no calibration range for a tensor of this quantization group");
  const auto p = activation_params(range.first, range.second);
  return {static_cast<float>(p.scale), p.zero_point};
}

std::pair<float, int32_t> Engine::activation_quantization(const std::string& tensor) const {
  auto state = sync_->shared();
  if (carries_quantization()) {
    require(slots_.count(tensor), "'" + tensor + "' is not a value of this model");
    const auto params = static_params();
    auto it = params.find(group_of(slots_.at(tensor)));
    require(it != params.end(), "the model gives no 8-bit per-tensor quantization for '" + tensor + "'");
    return it->second;
  }
  require(ranges_.count(tensor), "no calibration range for '" + tensor + "'");
  return group_quantization(group_of(slots_.at(tensor)));
}

void Engine::set_mode(Mode mode) {
  auto state = sync_->exclusive();
  plan(mode);
  for (Session* session : all_sessions()) session->backend->release_cached();  // the previous mode's kernels
  release_free_memory();
}

void Engine::plan(Mode mode) {
  require(mode != Mode::f32 || !float_weights_released_,
          "this engine released its float weights (release_float_weights): it runs INT8 only");
  if (mode == Mode::int8_static && !carries_quantization())
    for (const std::string& name : calibration_tensors_)
      require(ranges_.count(name), "static INT8 needs a calibration range for '" + name + "': calibrate first");
  const std::map<int, std::pair<float, int32_t>> params =
      mode == Mode::int8_static ? static_params() : std::map<int, std::pair<float, int32_t>>();
  const QuantConfig::Mode kernel_mode = mode == Mode::int8_static    ? QuantConfig::Mode::int8_static
                                        : mode == Mode::int8_dynamic ? QuantConfig::Mode::int8_dynamic
                                                                     : QuantConfig::Mode::f32;
  std::vector<bool> u8_slots;
  std::vector<QuantConfig> configs = int8_plan_.configs(kernel_mode, params, given_quantization_, &u8_slots);
  for (QuantConfig& q : configs) q.weight_bits = weight_bits_;
  // The first session quantizes the weights; the others share them.
  const std::vector<Session*> sessions = all_sessions();
  for (size_t k = 0; k < steps_.size(); ++k) {
    if (steps_[k].rounds_to_grid)
      for (Session* session : sessions) session->ops[k]->set_quantization(configs[k]);
    if (!steps_[k].quantizable) continue;
    sessions[0]->ops[k]->set_quantization(configs[k]);
    configs[k].weights = sessions[0]->ops[k]->quantized_weights();
    for (size_t j = 1; j < sessions.size(); ++j) sessions[j]->ops[k]->set_quantization(configs[k]);
  }
  configs_ = std::move(configs);
  integer_tensors_.clear();
  for (const auto& [name, slot] : slots_)
    if (slot < static_cast<int>(u8_slots.size()) && u8_slots[slot])
      integer_tensors_[name] = params.at(group_of(slot));
  mode_ = mode;
}

std::vector<Engine::IntegerLayer> Engine::integer_layers() const {
  auto state = sync_->exclusive();  // no run holds a session: the idle ones are all of them
  std::vector<IntegerLayer> layers;
  if (mode_ != Mode::int8_static || sync_->idle.empty()) return layers;
  const Session& session = *sync_->idle.front();
  for (size_t k = 0; k < steps_.size(); ++k) {
    const QuantConfig* q = runs_int8(k) ? session.ops[k]->quantization() : nullptr;
    if (!q || q->mode != QuantConfig::Mode::int8_static || !q->weights) continue;
    // an activation table or a fused residual: no C kernel has one, the export keeps the layer's float
    // requantization
    const bool c_kernel = q->fixed_point && q->fixed_point->table.empty() && !q->fixed_point->residual;
    layers.push_back({node(k).name, q->weights, c_kernel ? q->fixed_point : nullptr, q->scale, q->output_scale, q->zero_point,
                      q->output_zero_point});
  }
  return layers;
}

std::map<std::string, std::pair<float, int32_t>> Engine::integer_tensors() const {
  auto state = sync_->shared();
  return integer_tensors_;
}

std::map<int, std::pair<float, int32_t>> Engine::static_params() const {
  std::map<int, std::pair<float, int32_t>> params;
  if (!given_quantization_.empty()) {
    // A group the file gives two different parameters (a Concat of differently quantized inputs)
    // gets none: its tensors stay float, and the layers reading them run in float32.
    std::set<int> conflicting;
    for (const auto& [slot, p] : given_quantization_) {
      auto [it, fresh] = params.emplace(group_of(slot), p);
      if (!fresh && it->second != p) conflicting.insert(it->first);
    }
    for (int g : conflicting) params.erase(g);
    // A group the file leaves unquantized that a pair reads (a conv's output before the pair that
    // rounds it) takes that pair's grid: the conv writes the codes the pair keeps. Pairs of two grids
    // reading one group: none.
    std::map<int, std::pair<float, int32_t>> read_by_pairs;
    for (size_t k = 0; k < steps_.size(); ++k) {
      if (!steps_[k].rounds_to_grid || steps_[k].inputs.empty() || steps_[k].inputs[0] < 0) continue;
      auto grid = given_quantization_.find(steps_[k].outputs.at(0));
      const int g = group_of(steps_[k].inputs[0]);
      if (grid == given_quantization_.end() || params.count(g) || conflicting.count(g)) continue;
      auto [it, fresh] = read_by_pairs.emplace(g, grid->second);
      if (!fresh && it->second != grid->second) conflicting.insert(g);
    }
    for (const auto& [g, p] : read_by_pairs)
      if (!conflicting.count(g)) params[g] = p;
    return params;
  }
  // Per quantization group: its (scale, zero point) from the union of its members' ranges.
  std::map<int, std::pair<float, float>> union_range;
  for (const auto& kv : ranges_) {
    const int g = group_of(slots_.at(kv.first));
    auto [it, fresh] = union_range.emplace(g, kv.second);
    if (!fresh) it->second = {std::min(it->second.first, kv.second.first), std::max(it->second.second, kv.second.second)};
  }
  for (const auto& [g, range] : union_range) {
    const auto p = activation_params(range.first, range.second);
    params[g] = {static_cast<float>(p.scale), p.zero_point};
  }
  return params;
}

void Engine::release_float_weights() {
  auto state = sync_->exclusive();
  require(mode_ != Mode::f32, "set an INT8 mode before releasing the float weights");
  std::map<std::string, int> readers, int8_readers;  // weight name -> readers, quantizable readers
  for (size_t k = 0; k < steps_.size(); ++k)
    for (size_t i = 0; i < node(k).inputs.size(); ++i) {
      const std::string& name = node(k).inputs[i];
      ++readers[name];
      if (i == 1 && runs_int8(k)) ++int8_readers[name];
    }
  for (Session* session : all_sessions()) {
    for (size_t k = 0; k < steps_.size(); ++k)
      if (runs_int8(k)) session->ops[k]->release_float_weights();
    session->backend->release_cached();
  }
  std::set<std::string> outputs;
  for (const ValueInfo& out : graph_.outputs) outputs.insert(out.name);
  for (const auto& kv : int8_readers)
    if (readers[kv.first] == kv.second && slots_.count(kv.first) && !outputs.count(kv.first)) {
      constants_[slots_.at(kv.first)] = Tensor();
      // Its shape stays: sessions built later (more threads) make their ops from the graph and
      // take the s8 weights from the plan.
      Tensor& weights = graph_.initializers.at(kv.first);
      weights.f32.reset();
      weights.i64.reset();
    }
  float_weights_released_ = true;
  release_free_memory();
}

void Engine::set_threads(int threads) {
  require(threads >= 0 && threads <= 4096, "threads must be in [0, 4096] (0 = all cores)");
  auto state = sync_->exclusive();
  options_.threads = threads;
}

void Engine::set_profiling(bool on) {
  auto state = sync_->exclusive();
  profiling_ = on;
}

void Engine::set_step_hook(std::function<void(size_t)> hook) {
  auto state = sync_->exclusive();
  step_hook_ = std::move(hook);
}

std::vector<LayerTime> Engine::layer_times() const {
  std::lock_guard<std::mutex> lock(sync_->times);
  return times_;
}

void Engine::reset_layer_times() {
  std::lock_guard<std::mutex> lock(sync_->times);
  for (LayerTime& t : times_) {
    t.seconds = 0;
    t.calls = 0;
  }
}

}  // namespace edgequant::engine
