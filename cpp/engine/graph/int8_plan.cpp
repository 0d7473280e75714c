#include "graph/int8_plan.h"

#include <algorithm>

namespace edgequant::engine {

Int8Plan::Int8Plan(std::vector<Int8Step> steps, size_t slots, std::vector<int> graph_outputs)
    : steps_(std::move(steps)), parent_(slots), graph_output_(slots, false), on_grid_(slots, false), readers_(slots) {
  for (size_t s = 0; s < slots; ++s) parent_[s] = static_cast<int>(s);
  for (int s : graph_outputs)
    if (s >= 0) graph_output_[s] = true;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Int8Step& step = steps_[k];
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0) readers_[step.inputs[i]].push_back({static_cast<int>(k), static_cast<int>(i)});
    if (!step.traits.passes_u8) continue;
    bool on_grid = step.traits.rounds_to_grid || !step.traits.u8_inputs.empty();
    for (int i : step.traits.u8_inputs)
      on_grid = on_grid && (step.traits.rounds_to_grid || (i < static_cast<int>(step.inputs.size()) &&
                                                           step.inputs[i] >= 0 && on_grid_[step.inputs[i]]));
    for (int s : step.outputs)
      if (s >= 0) on_grid_[s] = on_grid;
    // A grid-rounding step starts a group of its own: what it reads may lie on any grid.
    if (step.traits.rounds_to_grid) continue;
    int joined = -1;  // every u8 input and output of a pass-through op: one group
    auto join = [&](int s) {
      if (s < 0) return;
      if (joined >= 0) parent_[group_of(s)] = group_of(joined);
      joined = s;
    };
    for (int i : step.traits.u8_inputs)
      if (i < static_cast<int>(step.inputs.size())) join(step.inputs[i]);
    for (int s : step.outputs) join(s);
  }
}

int Int8Plan::group_of(int slot) const {
  while (parent_[slot] != slot) slot = parent_[slot];
  return slot;
}

bool Int8Plan::reads_as_u8(const Int8Traits& traits, int input) {
  return std::find(traits.u8_inputs.begin(), traits.u8_inputs.end(), input) != traits.u8_inputs.end();
}

// Whether every reader of `slot` takes u8 data: a quantized op on one of its u8 inputs, or a
// pass-through op whose outputs all do (memoised in `memo`, -1 unknown); on a slot that lies on its
// grid, readers of float too, beside one that takes the codes (float readers alone would only pay for
// dequantizing them). Graph outputs and tensors of uncalibrated groups stay float.
bool Int8Plan::u8_readers_only(int slot, std::vector<int>& memo,
                               const std::map<int, std::pair<float, int32_t>>& params) const {
  if (memo[slot] >= 0) return memo[slot] == 1;
  bool ok = !readers_[slot].empty() && params.count(group_of(slot)) && !graph_output_[slot];
  bool codes_wanted = false;  // some reader takes them as codes: float readers only would pay for nothing
  for (const auto& [k, i] : readers_[slot]) {
    if (!ok) break;
    const Int8Step& step = steps_[k];
    codes_wanted = codes_wanted || reads_as_u8(step.traits, i);
    if (!reads_as_u8(step.traits, i)) {
      ok = on_grid_[slot];
    } else if (step.traits.rounds_to_grid) {
      ok = true;  // takes codes of any grid: moves them to its own
    } else if (step.traits.passes_u8) {
      for (int s : step.outputs) ok = ok && s >= 0 && u8_readers_only(s, memo, params);
    } else {
      ok = step.traits.quantized;
    }
  }
  ok = ok && codes_wanted;
  memo[slot] = ok ? 1 : 0;
  return ok;
}

std::vector<QuantConfig> Int8Plan::configs(QuantConfig::Mode mode,
                                           const std::map<int, std::pair<float, int32_t>>& params,
                                           const std::map<int, std::pair<float, int32_t>>& slot_params,
                                           std::vector<bool>* u8_slots) const {
  const bool fixed = mode == QuantConfig::Mode::int8_static;
  std::vector<int> memo(parent_.size(), -1);
  std::vector<bool> u8(parent_.size(), false);  // in step order: the slots that will hold u8
  std::vector<QuantConfig> configs(steps_.size());
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Int8Step& step = steps_[k];
    const Int8Traits& traits = step.traits;
    if (fixed && traits.rounds_to_grid) {
      // Writes its grid's codes wherever they travel on: passing codes of its grid through, moving
      // others to it, quantizing float data.
      const int out = step.outputs.empty() ? -1 : step.outputs[0];
      if (out >= 0 && params.count(group_of(out)) && u8_readers_only(out, memo, params)) {
        u8[out] = true;
        configs[k].quantize_output = true;
        std::tie(configs[k].output_scale, configs[k].output_zero_point) = params.at(group_of(out));
      }
    } else if (fixed && traits.passes_u8 && !traits.u8_inputs.empty()) {
      bool all = true;
      for (int i : traits.u8_inputs) {
        const int slot = i < static_cast<int>(step.inputs.size()) ? step.inputs[i] : -1;
        all = all && slot >= 0 && u8[slot];
      }
      for (int s : step.outputs)
        if (s >= 0) u8[s] = all;
    }
    if (!traits.quantized || mode == QuantConfig::Mode::f32) continue;
    if (fixed && traits.dynamic_in_file) {
      configs[k].mode = QuantConfig::Mode::int8_dynamic;
      continue;
    }
    // Static: a layer whose input has no (scale, zero point) stays float32 (in a quantized model,
    // one the file leaves unquantized).
    const int in = step.inputs.at(0);
    if (fixed && !params.count(group_of(in))) {
      auto own = slot_params.find(in);
      if (own == slot_params.end()) continue;
      configs[k].mode = mode;
      std::tie(configs[k].scale, configs[k].zero_point) = own->second;
      continue;
    }
    QuantConfig& q = configs[k];
    q.mode = mode;
    if (!fixed) continue;
    std::tie(q.scale, q.zero_point) = params.at(group_of(in));
    const int out = step.outputs.empty() ? -1 : step.outputs[0];
    const int residual = traits.residual_input >= 0 && traits.residual_input < static_cast<int>(step.inputs.size())
                             ? step.inputs[traits.residual_input] : -1;
    // A residual is added as u8 (read back from the destination) only when it is u8 itself.
    const bool residual_ok = traits.residual_input < 0 || (residual >= 0 && u8[residual]);
    if (traits.u8_output && out >= 0 && residual_ok && u8_readers_only(out, memo, params)) {
      q.quantize_output = true;
      std::tie(q.output_scale, q.output_zero_point) = params.at(group_of(out));
      u8[out] = true;
      if (residual >= 0) std::tie(q.residual_scale, q.residual_zero_point) = params.at(group_of(residual));
    }
  }
  if (u8_slots) *u8_slots = u8;
  return configs;
}

}  // namespace edgequant::engine
