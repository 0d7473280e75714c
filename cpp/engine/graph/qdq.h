// Quantized ONNX models: the rewrites that let the engine run a model whose quantization is in the
// file. Two forms exist:
// - QDQ (ONNX Runtime's quantize_static default, OpenVINO's and TensorRT's input): float ops with
//   QuantizeLinear -> DequantizeLinear pairs on their inputs and outputs, weights as integer codes
//   behind a DequantizeLinear (folded into float initializers at load, onnx/loader.cpp).
// - QOperator: QLinearConv / QLinearMatMul (and com.microsoft's QLinearAdd ...) on integer tensors.
//   expand_qlinear_ops writes each as DequantizeLinear -> float op -> QuantizeLinear, the QDQ form.
// A QuantizeLinear whose every reader is a DequantizeLinear with the same parameters becomes one
// QuantizeDequantize node (pair_quantize_dequantize): the float grid value s·(q − z) the pair
// computes. Its (scale, zero point) is the "given" quantization of the tensor it writes: static INT8
// quantizes a Conv / Gemm / MatMul that reads it with exactly those parameters (session/engine.cpp),
// so the INT8 kernels see the file's integers without calibration.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace edgequant::engine {

// The integer range of a quantized ONNX element type (uint8, int8, uint16, int16, int32), kept on
// QuantizeLinear / DequantizeLinear / QuantizeDequantize nodes as the attributes `_qmin`, `_qmax`
// (the engine holds every integer as int64, so the type itself is gone after loading).
struct QuantizedRange {
  int64_t min = 0, max = 255;
};
// False for a type that is not a quantized integer type (a float, int64, bool ...).
bool quantized_range_of(int onnx_type, QuantizedRange& range);
void set_quantized_range(Node& node, const QuantizedRange& range);
QuantizedRange quantized_range(const Node& node);  // uint8 when the node carries none

// The grid of a QuantizeDequantize node with constant per-tensor 8-bit parameters: x = scale·(q −
// zero), q in [min, min + 255] (an int8 type's zero and min as in the file). False for any other node.
struct PairGrid {
  float scale = 1;
  int64_t zero = 0, min = 0;
};
bool pair_grid(const Graph& graph, const Node& pair, PairGrid& grid);

// Where a node keeps the (scale, zero point) of the grid its output lies on: the index of the scale
// input (the zero point's follows it) — 1 for QuantizeDequantize and DequantizeLinear, 3 for a
// CodeTable or CodeAveragePool (its end pair's), 6 for a CodeAdd — or 0 for a node that writes no grid.
size_t output_grid_input(const Node& node);

// The grid a node's output lies on: a pair's, or the end pair's of the engine's own nodes that write
// codes (CodeTable, CodeAdd, CodeAveragePool: a block's sum read by the next block's Add, a pool
// after a residual sum). False for any other node.
bool written_grid(const Graph& graph, const Node& node, PairGrid& grid);

// The scales a quantized model gives the `channels` output channels of weight initializer `name`
// (graph.h WeightScales), whose output-channel axis is `output_axis`: a per-tensor scale repeated;
// {} when the file gives none or quantizes along another axis.
std::vector<float> given_weight_scales(const Graph& graph, const std::string& name, int64_t output_axis,
                                       int64_t channels);

// Conv weights `to`, written as weights `from` times `gains` per output channel (a folded
// BatchNormalization or per-channel Mul), keep the file's codes: their scales are the file's times
// |gain|. A negative gain moves the lowest code one past the top of the range; such a channel is
// refitted by the quantizer (int8_support.h). Nothing when `from` carries no scales of the file.
void carry_weight_scales(Graph& graph, const std::string& from, const std::string& to, const std::vector<float>& gains);

// QLinearConv, QLinearMatMul and com.microsoft's QLinearAdd / QLinearMul / QLinearGlobalAveragePool /
// QLinearSigmoid / QLinearLeakyRelu / QLinearConcat as DequantizeLinear -> op -> QuantizeLinear.
// Returns the number of nodes expanded.
int expand_qlinear_ops(Graph& graph);

// com.microsoft's DynamicQuantizeLSTM (quantize_dynamic's LSTM: int8 W [dirs, input, 4·hidden] and
// R [dirs, hidden, 4·hidden] with per-direction or per-gate-column scales and zero points) as an ONNX
// LSTM with the dequantized, transposed constant weights, and R's scale per direction and gate column
// in `_recurrent_scales` (the LSTM keeps R's codes where they fit s8). Returns the number rewritten;
// one with computed weights stays, and is reported as unsupported.
int expand_dynamic_quantized_lstm(Graph& graph);

// MaxPool / GlobalMaxPool / nearest Resize of a QuantizeLinear's integers (QOperator models keep
// them on uint8) as DequantizeLinear -> op -> QuantizeLinear with that node's parameters: exact,
// since they commute with dequantization. Returns the number rewritten.
int dequantize_around_float_ops(Graph& graph);

// ONNX Runtime's quantize_dynamic form, DynamicQuantizeLinear -> ConvInteger / MatMulInteger -> Cast(float)
// -> Mul(x_scale · w_scale), as one Conv / MatMul with the dequantized weights (their scales kept as the
// file's, graph.h) marked `_dynamic_int8`: it runs the engine's dynamic INT8 kernels, which quantize the
// input the same way (u8, the range with 0, per run). Weight codes whose q − z leave s8 (uint8 weights
// with a zero point away from 128) are shifted per channel into s8 and the shift's window sums added by a
// product with ones (a 1-channel Conv or MatMul, a Mul, an Add): the file's integers either way. Returns
// the number rewritten; anything else stays exact integer ops.
int fold_dynamic_quantization(Graph& graph);

// QuantizeLinear -> DequantizeLinear (same scale, zero point and axis) as one QuantizeDequantize
// node. Returns the number of pairs.
int pair_quantize_dequantize(Graph& graph);

// A Concat between pairs whose inputs come from pairs of other grids (ONNX Runtime quantizes each
// input with its own scale, the output with another): each such input gets a copy of the output's
// pair. Exact — the output pair rounds each element alone, and rounding a value already on its grid
// changes nothing — and the Concat's inputs then share one grid, so it moves codes. Returns the
// number of pairs added.
int requantize_concat_inputs(Graph& graph);

// A pair after an op that only moves data (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Split, Gather),
// whose input lies on the pair's own grid (written by a pair of that grid or a code node, through
// such moves): ONNX Runtime's QDQ form puts one after each move of a channel shuffle. Moving values
// of a grid leaves them on it and the pair maps each to itself, so it goes (the move writes its
// output), and the moves join into one DataMovement that passes the codes on. Returns the number removed.
int remove_pairs_after_data_moves(Graph& graph);

}  // namespace edgequant::engine
