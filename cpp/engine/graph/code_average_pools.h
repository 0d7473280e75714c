// Quantized models average between pairs: pair(x) -> AveragePool | GlobalAveragePool -> pair on the
// same grid (TFLite's AVERAGE_POOL_2D as tflite_to_onnx writes it — TFLite requires one grid — and
// ONNX Runtime's QDQ pool). Run as written it dequantizes, averages in float and quantizes again,
// rounding the average's half steps to even where TFLite's integer kernel rounds them away from zero.
// It becomes one CodeAveragePool node: the codes summed in integers and divided with TFLite's
// rounding (ops/code_average_pool.cpp), codes in, codes out.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

// Replaces each such pool (its output read by the end pair alone; no padding counted, no dilation)
// by a CodeAveragePool node: inputs (x, x_scale, x_zero, y_scale, y_zero) as a CodeTable's — x
// written by a pair or by the engine's code nodes (graph/qdq.h written_grid), y's grid the end
// pair's and equal to x's — the pool's attributes, `_global` (1 for GlobalAveragePool), the end
// pair's `_qmin` / `_qmax` and `_input_qmin`. Returns the number replaced.
int fold_code_average_pools(Graph& graph);

}  // namespace edgequant::engine
