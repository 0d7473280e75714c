// CodeAveragePool (graph/code_average_pools.h): a quantized model's pair(x) -> average pool -> pair on
// one grid. Where x comes as u8 codes of that grid (the static INT8 plan hands the pair's codes over),
// each window's codes c (the file's own: int8 or uint8) are summed in integers and divided by the
// number of its taps inside the input, rounding half away from zero — TFLite's AVERAGE_POOL_2D bit for
// bit, in the backend's layout where it holds the codes so and has a kernel, on plain codes otherwise.
// Float inputs (FP32 and dynamic INT8 runs) take the float path of the nodes it replaced: the average
// of the values (summed in double in window order, NaN kept) rounded to the grid, half to even. The
// output is the end pair's codes where the plan holds them as u8, else their values.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/fixed_point_requantization.h"
#include "graph/qdq.h"
#include "ops/grid_codes.h"
#include "ops/op.h"
#include "ops/pool_windows.h"

namespace edgequant::engine {
namespace {

// Calls window(plane, oh, ow, h0, h1, w0, w1) for every output of every (n, c) plane: the window's
// rows [h0, h1) and columns [w0, w1) inside the input.
template <class Window>
void for_each_window(const PoolGeometry& g, const Window& window) {
  for (int64_t nc = 0; nc < g.n * g.c; ++nc)
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const int64_t top = oh * g.stride_h - g.pad_top;
      const int64_t h0 = std::max<int64_t>(top, 0), h1 = std::min(top + g.kh, g.ih);
      for (int64_t ow = 0; ow < g.ow; ++ow) {
        const int64_t left = ow * g.stride_w - g.pad_left;
        window(nc, oh, ow, h0, h1, std::max<int64_t>(left, 0), std::min(left + g.kw, g.iw));
      }
    }
}

class CodeAveragePool : public Op {
 public:
  CodeAveragePool(const Node& node, const Graph& graph)
      : Op(node), windows_(node, node.attr_ints("_global", {0}).at(0) != 0, description()) {
    check(node.inputs.size() == 5 && node.outputs.size() == 1, "expects 5 inputs, 1 output");
    check(!windows_.include_pad(), "counts no padding (count_include_pad = 0)");
    qmin_ = node.attr_ints("_input_qmin", {0}).at(0);
    grid_ = code_grid(graph, node, 1, qmin_);
    const CodeGrid out = code_grid(graph, node, 3, quantized_range(node).min);
    check(out.scale == grid_.scale && out.zero == grid_.zero && quantized_range(node).min == qmin_,
          "its input and output grids must be one");
  }

  Int8Traits int8_traits() const override { return code_node_traits({0}); }
  void set_quantization(const QuantConfig& q) override {
    writes_codes_ = q.quantize_output && q.output_scale == grid_.scale && q.output_zero_point == grid_.zero;
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    int64_t explicit_end[2];
    const PoolGeometry g = windows_.geometry(x.shape, PoolGeometry::Kind::average, explicit_end);
    const Shape shape{g.n, g.c, g.oh, g.ow};
    const bool codes_in = x.dtype == DType::u8 && x.quant.is_per_tensor(grid_.scale, grid_.zero);
    if (codes_in && x.native) {  // the backend's kernel on its own layout, where it has one
      if (!kernel_built_ || g.n != geometry_.n || g.ih != geometry_.ih || g.iw != geometry_.iw || g.c != geometry_.c) {
        kernel_ = ctx.backend.code_average_pool(g, static_cast<int32_t>(qmin_));
        geometry_ = g;
        kernel_built_ = true;
      }
      if (kernel_ && kernel_->run(x, outputs[0])) {
        if (!writes_codes_) outputs[0] = outputs[0].as_float();  // a float reader only: the codes' values
        return;
      }
    }
    Tensor codes = Tensor::quantized(DType::u8, shape, QuantParams::per_tensor(grid_.scale, grid_.zero), description());
    uint8_t* y = codes.u8();
    const int64_t in_plane = g.ih * g.iw, out_plane = g.oh * g.ow;
    if (codes_in) {
      std::vector<uint8_t> buffer;
      const uint8_t* q = plain_codes(x, grid_, buffer);
      const int64_t qmin = qmin_;
      for_each_window(g, [&](int64_t nc, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        const uint8_t* plane = q + nc * in_plane;
        int64_t sum = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) sum += plane[h * g.iw + w];
        const int64_t count = (h1 - h0) * (w1 - w0);  // ≥ 1: no window lies wholly in the padding
        y[nc * out_plane + oh * g.ow + ow] = static_cast<uint8_t>(average_codes(sum + qmin * count, count) - qmin);
      });
      outputs[0] = writes_codes_ ? std::move(codes) : codes.as_float();
      return;
    }
    Tensor values = Tensor::zeros_f32(shape, description());
    float* v = values.f();
    const float* in = x.f();
    for_each_window(g, [&](int64_t nc, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const float* plane = in + nc * in_plane;
      double sum = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) sum += plane[h * g.iw + w];
      v[nc * out_plane + oh * g.ow + ow] = static_cast<float>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
    });
    const int64_t n = values.numel();
    const bool nan = !quantize_to_codes(v, y, n, grid_.scale, static_cast<float>(grid_.zero));
    if (writes_codes_ && !nan) {
      outputs[0] = std::move(codes);
      return;
    }
    for (int64_t k = 0; k < n; ++k)  // the pair's values; NaN stays NaN
      if (!std::isnan(v[k])) v[k] = grid_.scale * static_cast<float>(static_cast<int32_t>(y[k]) - grid_.zero);
    outputs[0] = std::move(values);
  }

 private:
  PoolWindows windows_;
  CodeGrid grid_;
  int64_t qmin_ = 0;
  bool writes_codes_ = false;
  std::unique_ptr<CodeAveragePoolKernel> kernel_;  // the backend's, for the geometry it was asked for
  PoolGeometry geometry_{};
  bool kernel_built_ = false;
};

}  // namespace

std::unique_ptr<Op> make_code_average_pool(const Node& node, const Graph& graph) {
  return std::make_unique<CodeAveragePool>(node, graph);
}

}  // namespace edgequant::engine
