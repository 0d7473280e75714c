// MaxPool, AveragePool (count_include_pad, ceil_mode, auto_pad) and GlobalAveragePool over 2-D
// NCHW inputs. ceil_mode becomes extra bottom/right padding that no window starts in; an average
// that counts the padding counts only the explicit pads, not that overhang (ONNX, ORT, PyTorch).
#include <cstring>

#include "graph/padding.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Pool : public Op {
 public:
  explicit Pool(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() >= 1, "expects 1 input");
    global_ = node.op_type == "GlobalAveragePool";
    kind_ = node.op_type == "MaxPool" ? PoolGeometry::Kind::max : PoolGeometry::Kind::average;
    if (global_) return;
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
    check(node.outputs.size() == 1 || node.outputs[1].empty(), "MaxPool indices output is not supported");
  }
  // Max pooling commutes with the monotone map q -> s·(q − z): a backend may pool u8 data as it is
  // (oneDNN's kernel does; the others read it as float), its output on the same grid.
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    if (kind_ != PoolGeometry::Kind::max) return traits;
    traits.passes_u8 = true;
    traits.u8_inputs = {0};
    return traits;
  }


  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() == 4, [&] { return "expects an NCHW input, got shape " + shape_string(x.shape); });
    PoolGeometry g{};
    Tensor padded;
    const Tensor* src = &x;
    g.kind = kind_;
    g.n = x.shape[0]; g.c = x.shape[1]; g.ih = x.shape[2]; g.iw = x.shape[3];
    if (global_) {
      g.kh = g.ih; g.kw = g.iw; g.stride_h = g.stride_w = 1; g.oh = g.ow = 1;
      check(g.ih > 0 && g.iw > 0, "empty spatial input");
    } else {
      g.kh = kernel_[0]; g.kw = kernel_[1]; g.stride_h = strides_[0]; g.stride_w = strides_[1];
      g.count_include_pad = include_pad_;
      int64_t pads[4] = {pads_[0], pads_[1], pads_[2], pads_[3]};
      int64_t explicit_end[2] = {0, 0};  // bottom / right pads before ceil_mode's overhang
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
        check(span >= 0, [&] { return "input " + shape_string(x.shape) + " is smaller than the pooling window"; });
        int64_t out = (ceil_ ? (span + s - 1) / s : span / s) + 1;
        if (ceil_ && (out - 1) * s >= in + pads[axis]) --out;  // no window may start in the padding
        pads[axis + 2] = std::max(pads[axis + 2], (out - 1) * s + k - in - pads[axis]);
        return out;
      };
      g.oh = extent(0, g.ih, g.kh, g.stride_h);
      g.ow = extent(1, g.iw, g.kw, g.stride_w);
      g.pad_top = pads[0]; g.pad_left = pads[1]; g.pad_bottom = pads[2]; g.pad_right = pads[3];
      if (include_pad_ && kind_ == PoolGeometry::Kind::average &&
          (g.pad_bottom > explicit_end[0] || g.pad_right > explicit_end[1])) {
        // The backends count all padding: zero-pad the explicit pads into a copy of the input and
        // exclude only the ceil_mode overhang, which a window is clipped to.
        const int64_t ph = g.pad_top + g.ih + explicit_end[0], pw = g.pad_left + g.iw + explicit_end[1];
        padded = Tensor::zeros_f32({g.n, g.c, ph, pw}, description());
        for (int64_t nc = 0; nc < g.n * g.c; ++nc)
          for (int64_t h = 0; h < g.ih; ++h)
            std::memcpy(padded.f() + (nc * ph + g.pad_top + h) * pw + g.pad_left, x.f() + (nc * g.ih + h) * g.iw,
                        static_cast<size_t>(g.iw) * sizeof(float));
        g.pad_bottom -= explicit_end[0];
        g.pad_right -= explicit_end[1];
        g.ih = ph; g.iw = pw; g.pad_top = g.pad_left = 0;
        g.count_include_pad = false;
        src = &padded;
      }
    }
    if (g.n * g.c == 0) {
      outputs[0] = Tensor::zeros_f32({g.n, g.c, g.oh, g.ow}, description());
      return;
    }
    if (!kernel_obj_ || g.n != geometry_.n || g.ih != geometry_.ih || g.iw != geometry_.iw || g.c != geometry_.c) {
      kernel_obj_ = ctx.backend.pool(g);
      geometry_ = g;
    }
    kernel_obj_->run(*src, outputs[0], {g.n, g.c, g.oh, g.ow});  // may stay in the backend's layout
  }

 private:
  bool global_ = false, ceil_ = false, include_pad_ = false;
  PoolGeometry::Kind kind_;
  std::vector<int64_t> kernel_, strides_, pads_;
  std::string auto_pad_;
  PoolGeometry geometry_{};
  std::unique_ptr<PoolKernel> kernel_obj_;
};

}  // namespace

std::unique_ptr<Op> make_pool(const Node& node, const Graph&) { return std::make_unique<Pool>(node); }

}  // namespace edgequant::engine
