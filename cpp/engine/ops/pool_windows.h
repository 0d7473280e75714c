// The windows of a 2-D pooling node (MaxPool, AveragePool, GlobalAveragePool and the engine's
// CodeAveragePool): its attributes checked once, and the geometry they give an NCHW input. ceil_mode
// becomes extra bottom / right padding that no window starts in.
#pragma once
#include <string>
#include <vector>

#include "backend/backend.h"
#include "graph/graph.h"

namespace edgequant::engine {

class PoolWindows {
 public:
  // Throws InvalidArgument (prefixed by `context`) on attributes no pooling accepts.
  PoolWindows(const Node& node, bool global, const std::string& context);

  // The geometry over `x` (NCHW), kind and count_include_pad as given; explicit_end receives the
  // bottom / right pads before ceil_mode's overhang (what an average that counts padding counts).
  PoolGeometry geometry(const Shape& x, PoolGeometry::Kind kind, int64_t explicit_end[2]) const;

  bool include_pad() const { return include_pad_; }

 private:
  std::string context_;
  bool global_ = false, ceil_ = false, include_pad_ = false;
  std::vector<int64_t> kernel_, strides_, pads_;
  std::string auto_pad_;
};

}  // namespace edgequant::engine
