// Float values to the u8 codes of a grid, as QuantizeLinear rounds them (half to even, saturating):
// the one loop the pairs (ops/quantize_linear.cpp) and the code tables (ops/code_table.cpp) share.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "graph/quant_config.h"
#include "graph/tensor.h"

namespace edgequant::engine {

// out[k] = clamp(round(in[k] / s) + z, 0, 255), z the grid's u8 zero point; false if some in[k] is
// NaN (its code is then meaningless).
bool quantize_to_codes(const float* in, uint8_t* out, int64_t n, float s, float z);

// The u8 grid a code node (CodeTable, CodeAdd, CodeAveragePool) keeps in its inputs scale_input
// (the scale) and scale_input + 1 (the zero point, "" for 0), zero moved by −qmin (int8's + 128).
// Throws InvalidArgument naming the node where they are not constants, the scale not finite and
// positive, or the zero point outside its 8-bit range.
struct CodeGrid {
  float scale = 1;
  int32_t zero = 0;
};
CodeGrid code_grid(const Graph& graph, const Node& node, size_t scale_input, int64_t qmin);


// x's u8 codes of `grid`, plain row-major: as they lie, from the backend's layout, or from its values
// (which lie on the grid: a pair wrote them), into `buffer`.
const uint8_t* plain_codes(const Tensor& x, const CodeGrid& grid, std::vector<uint8_t>& buffer);

// x's codes, in a backend's layout, through `tables` (one, or one per channel of axis 1) onto the grid
// (scale, zero), kept in that layout (NativeData::with_codes_mapped): the conv or Concat after takes them
// as they are. A tensor without data where x is plain or the backend cannot.
Tensor codes_mapped_in_layout(const Tensor& x, const uint8_t* tables, int64_t channels, float scale, int32_t zero);

// x's float values, in a backend's layout, as codes of the grid (scale, zero) kept in that layout
// (NativeData::quantized). A tensor without data where x is plain, holds a NaN, or the backend cannot.
Tensor quantized_in_layout(const Tensor& x, float scale, int32_t zero);

// What a code node declares to the INT8 plan: its `u8_inputs` taken as codes, its output written on its
// own grid (the end pair's), passed on as u8.
Int8Traits code_node_traits(std::vector<int> u8_inputs);

}  // namespace edgequant::engine
