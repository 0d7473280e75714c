// ConvInteger and MatMulInteger: products of integer tensors (uint8 / int8 codes held as int64)
// minus their zero points, accumulated exactly in int64 and returned as ONNX's int32 (held as
// int64). Plain loops, written from the definitions: these ops appear in models quantized by
// ONNX Runtime's quantize_dynamic, followed by a Cast and a Mul by the two scales.
//   MatMulInteger  Y[.., m, n] = Σ_k (A[.., m, k] − a_zero[m]) · (B[.., k, n] − b_zero[n])
//   ConvInteger    Conv of (x − x_zero) with (w − w_zero[oc]), no bias
#include "graph/padding.h"
#include "ops/broadcasting.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// A zero point: absent (0), a scalar, or one per index along the dimension of `count` entries.
std::vector<int64_t> zero_points(const Op& op, const Tensor* t, int64_t count, const std::string& what) {
  if (!t) return std::vector<int64_t>(static_cast<size_t>(count), 0);
  if (t->dtype != DType::i64) throw InvalidArgument(op.node().describe() + ": " + what + " must be an integer tensor");
  std::vector<int64_t> v = t->as_i64();
  if (v.size() == 1) return std::vector<int64_t>(static_cast<size_t>(count), v[0]);
  if (static_cast<int64_t>(v.size()) != count)
    throw InvalidArgument(op.node().describe() + ": " + what + " has " + std::to_string(v.size()) + " values, expected 1 or " +
                          std::to_string(count));
  return v;
}

const Tensor* optional_input(const std::vector<const Tensor*>& inputs, size_t k) {
  return k < inputs.size() ? inputs[k] : nullptr;
}

class MatMulInteger : public Op {
 public:
  explicit MatMulInteger(const Node& node) : Op(node) {
    check(node.inputs.size() >= 2 && node.inputs.size() <= 4 && node.outputs.size() == 1, "expects 2-4 inputs, 1 output");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor &a = input(inputs, 0), &b = input(inputs, 1);
    check(a.dtype == DType::i64 && b.dtype == DType::i64, "A and B must be integer tensors");
    check(a.rank() >= 2 && b.rank() >= 2, "A and B must have rank >= 2 (1-D operands are not supported)");
    const int64_t m = a.shape[a.rank() - 2], k = a.shape[a.rank() - 1], n = b.shape[b.rank() - 1];
    check(b.shape[b.rank() - 2] == k, [&] { return "inner dimensions differ: " + shape_string(a.shape) + " · " + shape_string(b.shape); });
    const Shape batch_a(a.shape.begin(), a.shape.end() - 2), batch_b(b.shape.begin(), b.shape.end() - 2);
    Shape batch;
    const std::string why = broadcast_shapes({batch_a, batch_b}, batch);
    check(why.empty(), [&] { return "batch dimensions: " + why; });
    const std::vector<int64_t> za = zero_points(*this, optional_input(inputs, 2), m, "a_zero_point");
    const std::vector<int64_t> zb = zero_points(*this, optional_input(inputs, 3), n, "b_zero_point");
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    outputs[0] = Tensor::zeros_i64(out_shape, description());
    int64_t* y = outputs[0].i();
    auto product = [&](int64_t t, const int64_t* pa, const int64_t* pb) {
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t acc = 0;
          for (int64_t p = 0; p < k; ++p) acc += (pa[i * k + p] - za[i]) * (pb[p * n + j] - zb[j]);
          y[(t * m + i) * n + j] = static_cast<int32_t>(acc);
        }
    };
    if (batch.empty()) return product(0, a.i(), b.i());
    for_each_broadcast(batch, {batch_a, batch_b}, [&](int64_t t, const int64_t* index) {
      product(t, a.i() + index[0] * m * k, b.i() + index[1] * k * n);
    });
  }
};

class ConvInteger : public Op {
 public:
  explicit ConvInteger(const Node& node) : Op(node) {
    check(node.inputs.size() >= 2 && node.inputs.size() <= 4 && node.outputs.size() == 1, "expects 2-4 inputs, 1 output");
    group_ = node.attr_i("group", 1);
    auto_pad_ = node.attr_s("auto_pad", "NOTSET");
    check(group_ >= 1, "group must be >= 1");
    check(auto_pad_ == "NOTSET" || auto_pad_ == "VALID" || auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER",
          [&] { return "unknown auto_pad '" + auto_pad_ + "'"; });
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor &x = input(inputs, 0), &w = input(inputs, 1);
    check(x.dtype == DType::i64 && w.dtype == DType::i64, "x and w must be integer tensors");
    check(x.rank() == 4 && w.rank() == 4, "only 2-D convolutions (rank-4 x and w) are supported");
    const int64_t batch = x.shape[0], ic = x.shape[1], ih = x.shape[2], iw = x.shape[3];
    const int64_t oc = w.shape[0], icg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    check(oc % group_ == 0 && icg * group_ == ic, "channels do not match the weights and group");
    const auto strides = node_.attr_ints("strides", {1, 1}), dilations = node_.attr_ints("dilations", {1, 1});
    auto pads = node_.attr_ints("pads", {0, 0, 0, 0});
    check(strides.size() == 2 && dilations.size() == 2 && pads.size() == 4, "strides / dilations / pads have the wrong length");
    for (int d = 0; d < 2; ++d) check(strides[d] >= 1 && dilations[d] >= 1, "strides and dilations must be >= 1");
    if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
      const bool upper = auto_pad_ == "SAME_UPPER";
      const Padding ph = same_padding(ih, same_output_size(ih, strides[0]), kh, strides[0], dilations[0], upper);
      const Padding pw = same_padding(iw, same_output_size(iw, strides[1]), kw, strides[1], dilations[1], upper);
      pads = {ph.begin, pw.begin, ph.end, pw.end};
    } else if (auto_pad_ == "VALID") {
      pads = {0, 0, 0, 0};
    }
    const int64_t span_h = (kh - 1) * dilations[0] + 1, span_w = (kw - 1) * dilations[1] + 1;
    check(ih + pads[0] + pads[2] >= span_h && iw + pads[1] + pads[3] >= span_w, "input is smaller than the kernel");
    const int64_t oh = (ih + pads[0] + pads[2] - span_h) / strides[0] + 1;
    const int64_t ow = (iw + pads[1] + pads[3] - span_w) / strides[1] + 1;
    const int64_t zx = zero_points(*this, optional_input(inputs, 2), 1, "x_zero_point")[0];
    const std::vector<int64_t> zw = zero_points(*this, optional_input(inputs, 3), oc, "w_zero_point");
    outputs[0] = Tensor::zeros_i64({batch, oc, oh, ow}, description());
    int64_t* y = outputs[0].i();
    const int64_t ocg = oc / group_;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t o = 0; o < oc; ++o) {
        const int64_t g = o / ocg;
        for (int64_t r = 0; r < oh; ++r)
          for (int64_t c = 0; c < ow; ++c) {
            int64_t acc = 0;
            for (int64_t ci = 0; ci < icg; ++ci)
              for (int64_t u = 0; u < kh; ++u) {
                const int64_t row = r * strides[0] - pads[0] + u * dilations[0];
                for (int64_t v = 0; v < kw; ++v) {
                  const int64_t col = c * strides[1] - pads[1] + v * dilations[1];
                  // Padding holds the zero point: it contributes (zx − zx) · w = 0.
                  if (row < 0 || row >= ih || col < 0 || col >= iw) continue;
                  const int64_t xv = x.i()[((b * ic + g * icg + ci) * ih + row) * iw + col];
                  acc += (xv - zx) * (w.i()[((o * icg + ci) * kh + u) * kw + v] - zw[o]);
                }
              }
            y[((b * oc + o) * oh + r) * ow + c] = static_cast<int32_t>(acc);
          }
      }
  }

 private:
  int64_t group_ = 1;
  std::string auto_pad_;
};

}  // namespace

std::unique_ptr<Op> make_integer_product(const Node& node, const Graph&) {
  if (node.op_type == "MatMulInteger") return std::make_unique<MatMulInteger>(node);
  return std::make_unique<ConvInteger>(node);
}

}  // namespace edgequant::engine
