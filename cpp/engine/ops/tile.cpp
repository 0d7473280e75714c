// Tile (opset >= 6): the input repeated repeats[k] times along each axis k, float32 or int64. The
// output is built row by row (rows of the last axis), each output row a copy of an input row
// repeated along the last axis.
#include <cstring>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Tile : public Op {
 public:
  Tile(const Node& node, const Graph& graph) : Op(node) {
    check(graph.opset >= 6, [&] { return "Tile before opset 6 (tiles and axis inputs) is not supported (opset " +
                                std::to_string(graph.opset) + ")"; });
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs (input, repeats), 1 output");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const Tensor& repeats_tensor = input(inputs, 1);
    check(repeats_tensor.dtype == DType::i64, "repeats must be int64");
    const std::vector<int64_t> repeats = repeats_tensor.as_i64();
    check(repeats_tensor.rank() == 1 && static_cast<int>(repeats.size()) == x.rank(),
          [&] { return "repeats must be 1-D with one value per input axis (" + std::to_string(x.rank()) + "), got " +
              shape_string(repeats_tensor.shape); });
    Shape out(x.rank());
    for (int k = 0; k < x.rank(); ++k) {
      check(repeats[k] >= 0, [&] { return "repeats must be >= 0, got " + std::to_string(repeats[k]); });
      check(!__builtin_mul_overflow(x.shape[k], repeats[k], &out[k]),
            [&] { return "the output shape overflows (repeats " + std::to_string(repeats[k]) + ")"; });
    }
    outputs[0] = empty_like(x.dtype, out, description());
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    if (x.rank() == 0) {
      std::memcpy(raw_data(outputs[0]), raw_data(x), element_size(x));
      return;
    }
    const int rank = x.rank();
    const size_t size = element_size(x);
    const int64_t in_row = x.shape[rank - 1], out_row = out[rank - 1];
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    std::vector<int64_t> index(rank, 0);  // output index over the leading axes
    for (int64_t r = 0; r < total / out_row; ++r) {
      int64_t source_row = 0;
      for (int k = 0; k + 1 < rank; ++k) source_row = source_row * x.shape[k] + index[k] % x.shape[k];
      const char* from = src + source_row * in_row * size;
      char* to = dst + r * out_row * size;
      for (int64_t copy = 0; copy < repeats[rank - 1]; ++copy)
        std::memcpy(to + copy * in_row * size, from, in_row * size);
      for (int k = rank - 2; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Op> make_tile(const Node& node, const Graph& graph) { return std::make_unique<Tile>(node, graph); }

}  // namespace edgequant::engine
