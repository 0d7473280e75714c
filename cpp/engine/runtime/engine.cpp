#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "backend/int8_support.h"
#include "graph/passes.h"
#include "onnx/loader.h"
#include "runtime/fast_ops.h"

namespace edgequant::engine {

Engine::Engine(Graph graph, const EngineOptions& options)
    : graph_(std::move(graph)), options_(options), backend_(make_backend(options.backend)) {
  if (options.fuse) {
    fold_batch_norms(graph_);
    fuse_activations(graph_);
    if (fuse_residual_adds(graph_) > 0) fuse_activations(graph_);  // activations after the sums
  }
  // Initializers the passes replaced (BN folding) would otherwise stay in memory.
  std::set<std::string> read;
  for (const Node& node : graph_.nodes) read.insert(node.inputs.begin(), node.inputs.end());
  for (const ValueInfo& out : graph_.outputs) read.insert(out.name);
  for (auto it = graph_.initializers.begin(); it != graph_.initializers.end();)
    it = read.count(it->first) ? std::next(it) : graph_.initializers.erase(it);
  for (const auto& kv : graph_.initializers) {
    const int s = slot_of(kv.first);
    constants_[s] = kv.second;
    is_constant_[s] = true;
  }
  for (const ValueInfo& in : graph_.inputs) input_slots_.push_back(slot_of(in.name));
  for (Node& node : graph_.nodes) {
    Step step;
    step.op = make_fast_op(node, graph_, make_op(node, graph_));
    for (const std::string& in : node.inputs) step.inputs.push_back(in.empty() ? -1 : slot_of(in));
    for (const std::string& out : node.outputs) step.outputs.push_back(out.empty() ? -1 : slot_of(out));
    steps_.push_back(std::move(step));
    times_.push_back({node.name, node.op_type, 0, 0});
  }
  for (const ValueInfo& out : graph_.outputs) output_slots_.push_back(slot_of(out.name));
  // Free each intermediate after its last reader (graph outputs and constants are kept).
  std::vector<int> last_reader(slots_.size(), -1);
  for (size_t k = 0; k < steps_.size(); ++k)
    for (int s : steps_[k].inputs)
      if (s >= 0) last_reader[s] = static_cast<int>(k);
  std::set<int> kept(output_slots_.begin(), output_slots_.end());
  for (size_t s = 0; s < last_reader.size(); ++s)
    if (last_reader[s] >= 0 && !is_constant_[s] && !kept.count(static_cast<int>(s)))
      steps_[last_reader[s]].release.push_back(static_cast<int>(s));
  for (Step& step : steps_)
    for (int s : step.inputs)
      step.input_is_free.push_back(s >= 0 && std::count(step.release.begin(), step.release.end(), s) == 1 &&
                                   std::count(step.inputs.begin(), step.inputs.end(), s) == 1);
  set_threads(options.threads);
}

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

Engine Engine::from_bytes(const void* data, size_t size, const EngineOptions& options) {
  return Engine(load_onnx_bytes(data, size), options);
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

std::vector<Tensor> Engine::run(const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* capture) {
  require(inputs.size() == graph_.inputs.size(), "the model takes " + std::to_string(graph_.inputs.size()) +
                                                     " input(s), got " + std::to_string(inputs.size()));
  std::vector<Tensor> values(slots_.size());
  std::vector<bool> present(slots_.size(), false);
  for (size_t s = 0; s < slots_.size(); ++s) present[s] = is_constant_[s];  // read in place from constants_
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueInfo& info = graph_.inputs[k];
    const Tensor& t = inputs[k];
    require(t.dtype == info.dtype, "input '" + info.name + "' must be " + dtype_name(info.dtype) + ", got " +
                                       dtype_name(t.dtype));
    if (!info.shape.empty() || t.rank() == 0) {
      require(t.rank() == static_cast<int>(info.shape.size()),
              "input '" + info.name + "' must have rank " + std::to_string(info.shape.size()) + ", got shape " +
                  shape_string(t.shape));
      for (size_t d = 0; d < info.shape.size(); ++d)
        require(info.shape[d] < 0 || info.shape[d] == t.shape[d],
                "input '" + info.name + "' has shape " + shape_string(t.shape) + ", the model declares " +
                    shape_string(info.shape) + " (-1 = any)");
    }
    checked_numel(t.shape, "input '" + info.name + "'");
    values[input_slots_[k]] = t;
    present[input_slots_[k]] = true;
  }
  std::set<std::string> wanted;
  if (capture)
    for (const std::string& name : calibration_tensors()) wanted.insert(name);
  backend_->set_threads(options_.threads);  // OpenMP thread counts are per calling thread
  RunContext ctx{*backend_, {}};
  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    in.assign(step.inputs.size(), nullptr);
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0 && present[step.inputs[i]])
        in[i] = is_constant_[step.inputs[i]] ? &constants_[step.inputs[i]] : &values[step.inputs[i]];
    out.assign(step.outputs.size(), Tensor());
    ctx.input_is_free = step.input_is_free;
    const auto start = std::chrono::steady_clock::now();
    step.op->run(ctx, in, out);
    if (profiling_) {
      times_[k].seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++times_[k].calls;
    }
    for (size_t o = 0; o < step.outputs.size(); ++o)
      if (step.outputs[o] >= 0) {
        values[step.outputs[o]] = std::move(out[o]);
        present[step.outputs[o]] = true;
      }
    if (capture)
      for (size_t i = 0; i < step.inputs.size(); ++i) {
        const std::string& name = step.op->node().inputs[i];
        if (i == 0 && wanted.count(name) && in[0]) {
          Tensor plain = *in[0];
          plain.materialize();
          plain.native.reset();
          (*capture)[name] = plain;
        }
      }
    for (int s : step.release) values[s] = Tensor();
  }
  std::vector<Tensor> results;
  for (size_t k = 0; k < output_slots_.size(); ++k) {
    if (!present[output_slots_[k]]) throw InvalidArgument("graph output '" + graph_.outputs[k].name + "' was not produced");
    results.push_back(is_constant_[output_slots_[k]] ? constants_[output_slots_[k]] : values[output_slots_[k]]);
    results.back().materialize();  // outputs leave plain, independent of the backend
    results.back().native.reset();
  }
  values.clear();
  backend_->end_run();
  return results;
}

std::vector<std::string> Engine::quantizable_layers() const {
  std::vector<std::string> names;
  for (const Step& step : steps_)
    if (step.op->quantizable()) names.push_back(step.op->node().name);
  return names;
}

std::vector<std::string> Engine::calibration_tensors() const {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const Step& step : steps_)
    if (step.op->quantizable() && seen.insert(step.op->node().inputs[0]).second)
      names.push_back(step.op->node().inputs[0]);
  return names;
}

void Engine::set_activation_range(const std::string& tensor, float min, float max) {
  const auto names = calibration_tensors();
  require(std::find(names.begin(), names.end(), tensor) != names.end(),
          "'" + tensor + "' is not a calibration tensor of this model");
  require(std::isfinite(min) && std::isfinite(max) && min <= max, "range of '" + tensor + "' must be finite, min <= max");
  ranges_[tensor] = {min, max};
  if (mode_ == Mode::int8_static) set_mode(Mode::int8_static);  // re-plan with the new range
}

std::pair<float, int32_t> Engine::activation_quantization(const std::string& tensor) const {
  auto it = ranges_.find(tensor);
  require(it != ranges_.end(), "no calibration range for '" + tensor + "'");
  const auto p = activation_params(it->second.first, it->second.second);
  return {static_cast<float>(p.scale), p.zero_point};
}

void Engine::set_mode(Mode mode) {
  require(mode != Mode::f32 || !float_weights_released_,
          "this engine released its float weights (release_float_weights): it runs INT8 only");
  if (mode == Mode::int8_static)
    for (const std::string& name : calibration_tensors())
      require(ranges_.count(name), "static INT8 needs a calibration range for '" + name + "': calibrate first");
  // Static: a Conv whose output only static INT8 Convs read (as their input, or as the residual
  // of a fused Add) hands them u8 data quantized with that tensor's (scale, zero point), so they
  // need no quantizing reorder.
  std::vector<int> readers(slots_.size(), 0), conv_readers(slots_.size(), 0);
  for (const Step& step : steps_)
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0) {
        ++readers[step.inputs[i]];
        const bool conv = step.op->quantizable() && step.op->node().op_type == "Conv";
        if (conv && (i == 0 || (i == 3 && step.op->node().has("_sum")))) ++conv_readers[step.inputs[i]];
      }
  std::set<int> outputs(output_slots_.begin(), output_slots_.end());
  auto conv_only = [&](int slot) { return slot >= 0 && readers[slot] > 0 && readers[slot] == conv_readers[slot] && !outputs.count(slot); };
  // Also through a Concat read only by such convs: its inputs leave u8 with the Concat's output
  // parameters, and the backend concatenates the u8 data.
  std::map<int, std::string> via_concat;  // slot read by a Concat -> the Concat's output name
  for (const Step& step : steps_)
    if (step.op->node().op_type == "Concat" && step.outputs.size() == 1 && conv_only(step.outputs[0]) &&
        ranges_.count(step.op->node().outputs[0]))
      for (int in : step.inputs)
        if (in >= 0 && readers[in] == 1 && !outputs.count(in)) via_concat[in] = step.op->node().outputs[0];
  std::set<int> quantized_slots;  // conv outputs leaving u8 with their own tensor's parameters
  for (Step& step : steps_) {
    if (!step.op->quantizable()) continue;
    const Node& node = step.op->node();
    QuantConfig q;
    if (mode == Mode::int8_dynamic) q.mode = QuantConfig::Mode::int8_dynamic;
    if (mode == Mode::int8_static) {
      q.mode = QuantConfig::Mode::int8_static;
      const auto sz = activation_quantization(node.inputs[0]);
      q.scale = sz.first;
      q.zero_point = sz.second;
      const int out = step.outputs.empty() ? -1 : step.outputs[0];
      // A fused residual Add writes u8 only over a u8 residual (its producer's own parameters),
      // which the sum reads back; steps run in order, so that producer is already planned.
      const bool sum = node.op_type == "Conv" && node.has("_sum");
      const bool residual_u8 = sum && step.inputs.size() > 3 && quantized_slots.count(step.inputs[3]);
      std::string quantized_as;
      if (node.op_type == "Conv" && (!sum || residual_u8) && conv_only(out) && ranges_.count(node.outputs[0]))
        quantized_as = node.outputs[0];
      else if (node.op_type == "Conv" && !sum && via_concat.count(out))
        quantized_as = via_concat[out];
      if (!quantized_as.empty()) {
        const auto out_q = activation_quantization(quantized_as);
        q.quantize_output = true;
        q.output_scale = out_q.first;
        q.output_zero_point = out_q.second;
        if (quantized_as == node.outputs[0]) quantized_slots.insert(out);
        if (sum) {
          const auto residual_q = activation_quantization(node.inputs[3]);
          q.residual_scale = residual_q.first;
          q.residual_zero_point = residual_q.second;
        }
      }
    }
    step.op->set_quantization(q);
  }
  mode_ = mode;
  backend_->release_cached();  // the kernels of the previous mode
  release_free_memory();
}

void Engine::release_float_weights() {
  require(mode_ != Mode::f32, "set an INT8 mode before releasing the float weights");
  std::map<std::string, int> readers, int8_readers;  // weight name -> readers, quantizable readers
  for (const Step& step : steps_)
    for (size_t i = 0; i < step.op->node().inputs.size(); ++i) {
      const std::string& name = step.op->node().inputs[i];
      ++readers[name];
      if (i == 1 && step.op->quantizable()) ++int8_readers[name];
    }
  for (Step& step : steps_)
    if (step.op->quantizable()) step.op->release_float_weights();
  std::set<std::string> outputs;
  for (const ValueInfo& out : graph_.outputs) outputs.insert(out.name);
  for (const auto& kv : int8_readers)
    if (readers[kv.first] == kv.second && slots_.count(kv.first) && !outputs.count(kv.first)) {
      constants_[slots_.at(kv.first)] = Tensor();
      graph_.initializers.erase(kv.first);
    }
  float_weights_released_ = true;
  backend_->release_cached();
  release_free_memory();
}

void Engine::set_threads(int threads) {
  require(threads >= 0 && threads <= 4096, "threads must be in [0, 4096] (0 = all cores)");
  options_.threads = threads;
  backend_->set_threads(threads);
}

void Engine::reset_layer_times() {
  for (LayerTime& t : times_) {
    t.seconds = 0;
    t.calls = 0;
  }
}

}  // namespace edgequant::engine
