// CodeTable (graph/code_tables.h): a quantized model's elementwise stretch between two pairs as a
// lookup, y = table[code(x)] (a table per channel of axis 1 where the stretch has a BatchNormalization).
// x lies on its grid (a pair wrote it): its codes come as they are (u8 of that grid, a backend's
// layout included) or from its float values, exactly. The output is the
// end pair's codes where the static plan holds them as u8, else their float values; a NaN input
// (none of the 256 codes) gives NaN, as the stretch's float ops would.
#include <cmath>

#include "backend/code_map.h"
#include "graph/qdq.h"
#include "ops/grid_codes.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class CodeTable : public Op {
 public:
  CodeTable(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 5 && node.outputs.size() == 1, "expects 5 inputs, 1 output");
    channels_ = node.attr_ints("_channels", {1}).at(0);
    const std::vector<int64_t> table = node.attr_ints("_table");
    check(channels_ >= 1 && table.size() == static_cast<size_t>(256 * channels_), "needs 256 table entries per channel");
    for (int64_t q : table) check(q >= 0 && q <= 255, "table entries must be u8 codes");
    table_.assign(table.begin(), table.end());
    const CodeGrid in = code_grid(graph, node, 1, node.attr_ints("_input_qmin", {0}).at(0));
    const CodeGrid out = code_grid(graph, node, 3, quantized_range(node).min);
    in_scale_ = in.scale, in_zero_ = in.zero, out_scale_ = out.scale, out_zero_ = out.zero;
  }

  Int8Traits int8_traits() const override { return code_node_traits({0}); }
  void set_quantization(const QuantConfig& q) override {
    writes_codes_ = q.quantize_output && q.output_scale == out_scale_ && q.output_zero_point == out_zero_;
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const int64_t n = x.numel();
    const QuantParams grid = QuantParams::per_tensor(out_scale_, out_zero_);
    const bool on_grid = x.dtype == DType::u8 && x.quant.is_per_tensor(in_scale_, in_zero_);
    check(channels_ == 1 || (x.rank() >= 2 && x.shape[1] == channels_), "input channels disagree with the tables");
    if (writes_codes_ && on_grid) {
      if (Tensor kept = codes_mapped_in_layout(x, table_.data(), channels_, out_scale_, out_zero_); kept.has_data()) {
        outputs[0] = std::move(kept);
        return;
      }
    }
    Tensor codes = Tensor::quantized(DType::u8, x.shape, grid, description());
    uint8_t* q = codes.u8();
    bool nan = false;
    if (on_grid && (x.native ? x.native->to_plain_codes(q) : (std::copy(x.u8(), x.u8() + n, q), true))) {
    } else {
      nan = !quantize_to_codes(x.f(), q, n, in_scale_, static_cast<float>(in_zero_));
    }
    if (channels_ == 1) {
      map_codes(q, q, n, table_.data());
    } else {  // plain NCHW...: each channel's run of codes through its own table
      const int64_t inner = n / std::max<int64_t>(x.shape[0] * channels_, 1);
      for (int64_t row = 0; row * inner < n; ++row)
        map_codes(q + row * inner, q + row * inner, inner, table_.data() + row % channels_ * 256);
    }
    if (writes_codes_ && !nan) {
      outputs[0] = std::move(codes);
      return;
    }
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    float* y = outputs[0].f();
    const float* f = nan ? x.f() : nullptr;
    for (int64_t k = 0; k < n; ++k)
      y[k] = f && std::isnan(f[k]) ? f[k] : out_scale_ * static_cast<float>(static_cast<int32_t>(q[k]) - out_zero_);
  }

 private:
  int64_t channels_ = 1;          // one table for all, or one per channel (axis 1)
  std::vector<uint8_t> table_;    // 256 output codes by input code, per channel
  float in_scale_ = 1, out_scale_ = 1;
  int32_t in_zero_ = 0, out_zero_ = 0;
  bool writes_codes_ = false;
};

}  // namespace

std::unique_ptr<Op> make_code_table(const Node& node, const Graph& graph) { return std::make_unique<CodeTable>(node, graph); }

}  // namespace edgequant::engine
