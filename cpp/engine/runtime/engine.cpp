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
  // Quantization groups: a Split's input and parts, a Concat's inputs and output.
  group_.resize(slots_.size());
  for (size_t s = 0; s < group_.size(); ++s) group_[s] = static_cast<int>(s);
  for (const Step& step : steps_) {
    const std::string& type = step.op->node().op_type;
    if ((type != "Split" && type != "Concat") || step.inputs.empty() || step.outputs.empty()) continue;
    const std::vector<int>& many = type == "Split" ? step.outputs : step.inputs;
    const int one = type == "Split" ? step.inputs[0] : step.outputs[0];
    for (int s : many)
      if (s >= 0 && one >= 0) group_[group_of(s)] = group_of(one);
  }
  set_threads(options.threads);
}

int Engine::group_of(int slot) const {
  while (group_[slot] != slot) slot = group_[slot];
  return slot;
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
  RunContext ctx{*backend_, nullptr};
  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    in.assign(step.inputs.size(), nullptr);
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0 && present[step.inputs[i]])
        in[i] = is_constant_[step.inputs[i]] ? &constants_[step.inputs[i]] : &values[step.inputs[i]];
    out.assign(step.outputs.size(), Tensor());
    ctx.input_is_free = &step.input_is_free;
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
  if (mode_ == Mode::int8_static) plan(Mode::int8_static);  // re-plan with the new range (no cache flush per range)
}

std::pair<float, int32_t> Engine::activation_quantization(const std::string& tensor) const {
  auto it = ranges_.find(tensor);
  require(it != ranges_.end(), "no calibration range for '" + tensor + "'");
  std::pair<float, float> range = it->second;
  const int group = group_of(slots_.at(tensor));
  for (const auto& kv : ranges_)
    if (group_of(slots_.at(kv.first)) == group) {
      range.first = std::min(range.first, kv.second.first);
      range.second = std::max(range.second, kv.second.second);
    }
  const auto p = activation_params(range.first, range.second);
  return {static_cast<float>(p.scale), p.zero_point};
}

void Engine::set_mode(Mode mode) {
  plan(mode);
  backend_->release_cached();  // the kernels of the previous mode
  release_free_memory();
}

void Engine::plan(Mode mode) {
  require(mode != Mode::f32 || !float_weights_released_,
          "this engine released its float weights (release_float_weights): it runs INT8 only");
  if (mode == Mode::int8_static)
    for (const std::string& name : calibration_tensors())
      require(ranges_.count(name), "static INT8 needs a calibration range for '" + name + "': calibrate first");
  // Static: a Conv whose output only takes u8 readers (see u8_readers_only) writes it as u8 with
  // its group's (scale, zero point): the readers need no quantizing reorder, and Split / Concat
  // move the u8 data unchanged. `u8` tracks, in step order, which slots will actually hold u8.
  std::vector<std::vector<std::pair<int, int>>> readers(slots_.size());  // slot -> (step, input index)
  for (size_t k = 0; k < steps_.size(); ++k)
    for (size_t i = 0; i < steps_[k].inputs.size(); ++i)
      if (steps_[k].inputs[i] >= 0) readers[steps_[k].inputs[i]].push_back({static_cast<int>(k), static_cast<int>(i)});
  std::vector<int> memo(slots_.size(), -1);
  std::vector<bool> u8(slots_.size(), false);
  for (Step& step : steps_) {
    const Node& node = step.op->node();
    if (mode == Mode::int8_static && (node.op_type == "Split" || node.op_type == "Concat") && !step.inputs.empty()) {
      // u8 out of a Split of u8 data, or of a Concat of only u8 inputs (one group: one parameter set).
      const size_t checked = node.op_type == "Split" ? 1 : step.inputs.size();
      bool all = true;
      for (size_t i = 0; i < checked; ++i) all = all && step.inputs[i] >= 0 && u8[step.inputs[i]];
      for (int s : step.outputs)
        if (s >= 0) u8[s] = all;
    }
    if (!step.op->quantizable()) continue;
    QuantConfig q;
    if (mode == Mode::int8_dynamic) q.mode = QuantConfig::Mode::int8_dynamic;
    if (mode == Mode::int8_static) {
      q.mode = QuantConfig::Mode::int8_static;
      const auto sz = activation_quantization(node.inputs[0]);
      q.scale = sz.first;
      q.zero_point = sz.second;
      const int out = step.outputs.empty() ? -1 : step.outputs[0];
      // A fused residual Add writes u8 only over a u8 residual, which the sum reads back.
      const bool sum = node.op_type == "Conv" && node.has("_sum");
      const bool residual_u8 = sum && step.inputs.size() > 3 && step.inputs[3] >= 0 && u8[step.inputs[3]];
      if (node.op_type == "Conv" && out >= 0 && (!sum || residual_u8) && u8_readers_only(out, readers, memo)) {
        const auto out_q = activation_quantization(first_ranged_member(out));
        q.quantize_output = true;
        q.output_scale = out_q.first;
        q.output_zero_point = out_q.second;
        u8[out] = true;
        if (sum) {
          const auto residual_q = activation_quantization(first_ranged_member(step.inputs[3]));
          q.residual_scale = residual_q.first;
          q.residual_zero_point = residual_q.second;
        }
      }
    }
    step.op->set_quantization(q);
  }
  mode_ = mode;
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

bool Engine::u8_readers_only(int slot, const std::vector<std::vector<std::pair<int, int>>>& readers,
                             std::vector<int>& memo) const {
  if (memo[slot] >= 0) return memo[slot] == 1;
  bool ok = !readers[slot].empty() && !first_ranged_member(slot).empty() &&
            std::find(output_slots_.begin(), output_slots_.end(), slot) == output_slots_.end();
  for (const auto& [k, i] : readers[slot]) {
    if (!ok) break;
    const Step& step = steps_[k];
    const Node& node = step.op->node();
    if (node.op_type == "Conv" && step.op->quantizable()) {
      ok = i == 0 || (i == 3 && node.has("_sum"));
    } else if ((node.op_type == "Split" && i == 0) || node.op_type == "Concat") {
      for (int s : step.outputs) ok = ok && s >= 0 && u8_readers_only(s, readers, memo);
    } else {
      ok = false;
    }
  }
  memo[slot] = ok ? 1 : 0;
  return ok;
}

std::string Engine::first_ranged_member(int slot) const {
  const int group = group_of(slot);
  for (const auto& kv : ranges_)
    if (group_of(slots_.at(kv.first)) == group) return kv.first;
  return "";
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
