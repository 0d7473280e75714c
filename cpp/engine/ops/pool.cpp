// MaxPool, AveragePool (count_include_pad, ceil_mode, auto_pad) and GlobalAveragePool over 2-D
// NCHW inputs. ceil_mode becomes extra bottom/right padding that no window starts in; an average
// that counts the padding counts only the explicit pads, not that overhang (ONNX, ORT, PyTorch).
#include <cstring>

#include "ops/op.h"
#include "ops/pool_windows.h"

namespace edgequant::engine {
namespace {

class Pool : public Op {
 public:
  explicit Pool(const Node& node)
      : Op(node), windows_(node, node.op_type == "GlobalAveragePool", description()) {
    check(node.inputs.size() == 1 && node.outputs.size() >= 1, "expects 1 input");
    kind_ = node.op_type == "MaxPool" ? PoolGeometry::Kind::max : PoolGeometry::Kind::average;
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
    int64_t explicit_end[2];
    PoolGeometry g = windows_.geometry(x.shape, kind_, explicit_end);
    Tensor padded;
    const Tensor* src = &x;
    if (g.count_include_pad && kind_ == PoolGeometry::Kind::average &&
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
  PoolWindows windows_;
  PoolGeometry::Kind kind_;
  PoolGeometry geometry_{};
  std::unique_ptr<PoolKernel> kernel_obj_;
};

}  // namespace

std::unique_ptr<Op> make_pool(const Node& node, const Graph&) { return std::make_unique<Pool>(node); }

}  // namespace edgequant::engine
