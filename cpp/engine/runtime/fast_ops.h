// Faster runtime versions of a few data-movement and elementwise ops (Transpose, Split, Concat,
// Resize, Softmax, Sigmoid, a 1x1 Conv to one channel). Each wraps the generic op of ops/ and hands
// it every case it does not cover, so errors and corner cases stay the generic op's; on the
// reference backend the float kernels (Softmax, Sigmoid, channel sum) always hand over, so the
// reference backend is the yardstick of their vectorised kernels (runtime/fast_kernels.h).
#pragma once
#include <memory>

#include "ops/op.h"

namespace edgequant::engine {

// A faster op for `node`, wrapping `generic`; returns `generic` itself when there is none.
std::unique_ptr<Op> make_fast_op(const Node& node, const Graph& graph, std::unique_ptr<Op> generic);

}  // namespace edgequant::engine
