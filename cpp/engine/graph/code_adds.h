// Quantized models add two tensors between pairs: a residual block's sum is
// pair(a) + pair(b) -> [Relu | Clip] -> pair (TFLite's ADD as tflite_to_onnx writes it, ONNX Runtime's
// QDQ Add, QLinearAdd once expanded). Run as written, it dequantizes both inputs, adds and clamps
// in float and quantizes again: three float passes over codes that the convs around it hold as
// integers. It becomes one CodeAdd node, TFLite's integer Add of the two grids into the third
// (backend/fixed_point_requantization.h CodeAddition): codes in, codes out, in the backend's layout.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

// Replaces each such Add (its sum and activation read by nothing else) by a CodeAdd node: inputs
// (a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero) — a and b written by pairs, or by an
// earlier CodeAdd or CodeTable (consecutive residual blocks: one block's sum is the next one's skip),
// y's grid the end pair's — attributes `_qmin` / `_qmax` of the output type, `_input_qmin` (the
// two input types' lowest codes) and `_clip` (the activation's bounds, ±inf where none). Returns
// the number replaced.
int fold_code_adds(Graph& graph);

}  // namespace edgequant::engine
