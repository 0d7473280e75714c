#include "ops/grid_codes.h"

#include <cmath>
#include <utility>

#include "common/error.h"

namespace edgequant::engine {

CodeGrid code_grid(const Graph& graph, const Node& node, size_t scale_input, int64_t qmin) {
  const std::string& scale = node.inputs.at(scale_input);
  const std::string zero = node.inputs.size() > scale_input + 1 ? node.inputs[scale_input + 1] : "";
  require(graph.is_constant(scale) && (zero.empty() || graph.is_constant(zero)), node.describe() + ": grids must be constants");
  CodeGrid g;
  g.scale = graph.initializers.at(scale).as_f32().at(0);
  g.zero = static_cast<int32_t>((zero.empty() ? 0 : graph.initializers.at(zero).as_i64().at(0)) - qmin);
  require(std::isfinite(g.scale) && g.scale > 0, node.describe() + ": scales must be finite and positive");
  require(g.zero >= 0 && g.zero <= 255, node.describe() + ": zero points must lie in their 8-bit range");
  return g;
}

const uint8_t* plain_codes(const Tensor& x, const CodeGrid& grid, std::vector<uint8_t>& buffer) {
  if (!x.native && x.bytes) return x.u8();
  buffer.resize(static_cast<size_t>(x.numel()));
  if (x.native && x.native->to_plain_codes(buffer.data())) return buffer.data();
  quantize_to_codes(x.f(), buffer.data(), x.numel(), grid.scale, static_cast<float>(grid.zero));
  return buffer.data();
}

Tensor codes_mapped_in_layout(const Tensor& x, const uint8_t* tables, int64_t channels, float scale, int32_t zero) {
  Tensor codes;
  codes.native = x.native ? x.native->with_codes_mapped(tables, channels, scale, zero) : nullptr;
  if (codes.native) codes.dtype = DType::u8, codes.shape = x.shape, codes.quant = QuantParams::per_tensor(scale, zero);
  return codes;
}

Tensor quantized_in_layout(const Tensor& x, float scale, int32_t zero) {
  Tensor codes;
  codes.native = x.native && x.dtype == DType::f32 ? x.native->quantized(scale, zero) : nullptr;
  if (codes.native) codes.dtype = DType::u8, codes.shape = x.shape, codes.quant = QuantParams::per_tensor(scale, zero);
  return codes;
}

Int8Traits code_node_traits(std::vector<int> u8_inputs) {
  Int8Traits traits;
  traits.passes_u8 = true;
  traits.rounds_to_grid = true;
  traits.u8_inputs = std::move(u8_inputs);
  return traits;
}

}  // namespace edgequant::engine
