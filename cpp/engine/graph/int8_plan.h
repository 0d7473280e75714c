// The static INT8 plan: which tensors travel between layers as u8 and with which (scale, zero
// point), decided from what each op declares (Int8Traits), never from op-type names. A backend
// with integer kernels (oneDNN's; the ARM ones later) then skips a quantizing pass per layer: a
// convolution writes its output already quantized for its readers, and data-movement ops (Split,
// Concat) pass the u8 data through unchanged. Tensors such ops join share one (scale, zero
// point): a quantization group.
#pragma once
#include <map>
#include <utility>
#include <vector>

#include "graph/quant_config.h"

namespace edgequant::engine {

// One step of the graph as the planner sees it: value slots (-1: omitted) and the declaration.
struct Int8Step {
  std::vector<int> inputs, outputs;
  Int8Traits traits;
};

class Int8Plan {
 public:
  Int8Plan() = default;
  // `slots`: the number of value slots; `graph_outputs`: slots that leave the graph (kept float).
  Int8Plan(std::vector<Int8Step> steps, size_t slots, std::vector<int> graph_outputs);

  // A representative slot of `slot`'s quantization group.
  int group_of(int slot) const;

  // Per step, the configuration of its kernels in `mode` (f32 for steps that are not quantized).
  // Static mode: `params` maps quantization groups to their (scale, zero point); a quantized
  // step whose input group has none takes its input slot's from `slot_params` (a quantized model's
  // tensor in a group the file quantizes two ways: it reads and writes float), or stays float32.
  // `u8_slots`, if given, receives per slot whether it travels as u8 codes (Tensor::quant).
  std::vector<QuantConfig> configs(QuantConfig::Mode mode, const std::map<int, std::pair<float, int32_t>>& params,
                                   const std::map<int, std::pair<float, int32_t>>& slot_params = {},
                                   std::vector<bool>* u8_slots = nullptr) const;

 private:
  bool u8_readers_only(int slot, std::vector<int>& memo, const std::map<int, std::pair<float, int32_t>>& params) const;
  static bool reads_as_u8(const Int8Traits& traits, int input);

  std::vector<Int8Step> steps_;
  std::vector<int> parent_;  // union-find over slots
  std::vector<bool> graph_output_;
  // Slots whose float value is exactly their group's grid value (written by a rounds_to_grid step, or
  // passed through from such slots): u8 there loses nothing for a reader that takes float.
  std::vector<bool> on_grid_;
  std::vector<std::vector<std::pair<int, int>>> readers_;  // slot -> (step, input index)
};

}  // namespace edgequant::engine
