#include "ops/pool_windows.h"

#include <algorithm>

#include "common/error.h"
#include "graph/padding.h"

namespace edgequant::engine {

PoolWindows::PoolWindows(const Node& node, bool global, const std::string& context)
    : context_(context), global_(global) {
  if (global_) return;
  auto check = [&](bool ok, const std::string& why) { require(ok, context_ + ": " + why); };
  kernel_ = node.attr_ints("kernel_shape");
  check(kernel_.size() == 2, "only 2-D pooling is supported (kernel_shape of length 2)");
  strides_ = node.attr_ints("strides", {1, 1});
  pads_ = node.attr_ints("pads", {0, 0, 0, 0});
  auto_pad_ = node.attr_s("auto_pad", "NOTSET");
  ceil_ = node.attr_i("ceil_mode", 0) != 0;
  include_pad_ = node.attr_i("count_include_pad", 0) != 0;
  check(strides_.size() == 2 && pads_.size() == 4, "strides / pads have the wrong length");
  for (auto d : node.attr_ints("dilations", {1, 1})) check(d == 1, "pooling dilations are not supported");
  for (int k = 0; k < 2; ++k) check(kernel_[k] >= 1 && strides_[k] >= 1, "kernel and strides must be >= 1");
  for (auto p : pads_) check(p >= 0 && p < (1 << 20), "pads must be non-negative");
  for (int k = 0; k < 2; ++k)  // the first window would lie wholly in the padding (ONNX Runtime refuses too)
    check(pads_[k] < kernel_[k], "pads must be smaller than the kernel");
}

PoolGeometry PoolWindows::geometry(const Shape& x, PoolGeometry::Kind kind, int64_t explicit_end[2]) const {
  require(x.size() == 4, [&] { return context_ + ": expects an NCHW input, got shape " + shape_string(x); });
  PoolGeometry g{};
  g.kind = kind;
  g.n = x[0]; g.c = x[1]; g.ih = x[2]; g.iw = x[3];
  explicit_end[0] = explicit_end[1] = 0;
  if (global_) {
    g.kh = g.ih; g.kw = g.iw; g.stride_h = g.stride_w = 1; g.oh = g.ow = 1;
    require(g.ih > 0 && g.iw > 0, [&] { return context_ + ": empty spatial input"; });
    return g;
  }
  g.kh = kernel_[0]; g.kw = kernel_[1]; g.stride_h = strides_[0]; g.stride_w = strides_[1];
  g.count_include_pad = include_pad_;
  int64_t pads[4] = {pads_[0], pads_[1], pads_[2], pads_[3]};
  auto extent = [&](int axis, int64_t in, int64_t k, int64_t s) {
    if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
      const Padding pad = same_padding(in, same_output_size(in, s), k, s, 1, auto_pad_ == "SAME_UPPER");
      pads[axis] = pad.begin;
      pads[axis + 2] = pad.end;
    } else if (auto_pad_ == "VALID") {
      pads[axis] = pads[axis + 2] = 0;
    }
    explicit_end[axis] = pads[axis + 2];
    const int64_t span = in + pads[axis] + pads[axis + 2] - k;
    require(span >= 0, [&] { return context_ + ": input " + shape_string(x) + " is smaller than the pooling window"; });
    int64_t out = (ceil_ ? (span + s - 1) / s : span / s) + 1;
    if (ceil_ && (out - 1) * s >= in + pads[axis]) --out;  // no window may start in the padding
    pads[axis + 2] = std::max(pads[axis + 2], (out - 1) * s + k - in - pads[axis]);
    return out;
  };
  g.oh = extent(0, g.ih, g.kh, g.stride_h);
  g.ow = extent(1, g.iw, g.kw, g.stride_w);
  g.pad_top = pads[0]; g.pad_left = pads[1]; g.pad_bottom = pads[2]; g.pad_right = pads[3];
  return g;
}

}  // namespace edgequant::engine
