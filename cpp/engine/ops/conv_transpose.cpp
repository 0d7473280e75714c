// ConvTranspose (issue 21), 1-D to 3-D, float32, written from the ONNX definition: groups, strides,
// pads, dilations, output_padding, output_shape and auto_pad. Every input element scatters
// x · W[c, m, k] into y[m, i · stride + k · dilation − pad_begin]; positions outside the output are
// dropped (negative pads, from an output_shape larger than the natural one, leave zeros + bias).
// 1-D and 2-D run as 3-D with unit leading dimensions.
//
// Two paths: on the reference backend the plain direct loop above (the yardstick); elsewhere the
// products col[n, (m, k), p] = Σ_c W[c, m, k] · x[n, c, p], as the backend's GEMM on x as it lies
// (oneDNN's sgemm) or, where it has none, one 1x1 convolution (transposed weights and kernel kept
// while the weights are constants). col's planes are then added into y at their kernel offsets, or
// interleaved into it in one write where the kernel tiles the output (kernel = stride: a learned
// upsampling). A Relu after it is fused by graph/passes.h (attribute `_activation`): applied to each
// output row as it is written on the tiling path, to the whole output on the others. The tests hold
// every path against ONNX Runtime.
#include <algorithm>

#include "common/simd.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// out[2i] = even[i] + bias, out[2i + 1] = odd[i] + bias: a 2x upsampling's output row from its two planes.
EDGEQUANT_KERNEL void interleave_pair(const float* even, const float* odd, float bias, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    out[2 * i] = even[i] + bias;
    out[2 * i + 1] = odd[i] + bias;
  }
}

// x = max(x, 0); NaN stays NaN, as in a Relu fused into a oneDNN convolution.
EDGEQUANT_KERNEL void relu_in_place(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? 0.f : x[i];
}

class ConvTranspose : public Op {
 public:
  ConvTranspose(const Node& node, const Graph& graph) : Op(node), constant_weights_(graph.is_constant(node.inputs.at(1))) {
    check(node.inputs.size() >= 2 && node.inputs.size() <= 3 && !node.inputs[1].empty() && node.outputs.size() == 1,
          "expects inputs X, W (and optional B) and one output");
    groups_ = node.attr_i("group", 1);
    check(groups_ >= 1, [&] { return "group must be >= 1, got " + std::to_string(groups_); });
    const std::string activation = node.attr_s("_activation", "");
    check(activation.empty() || activation == "relu", [&] { return "cannot fuse a " + activation + " activation"; });
    relu_ = activation == "relu";
    auto_pad_ = node.attr_s("auto_pad", "NOTSET");
    check(auto_pad_ == "NOTSET" || auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER" || auto_pad_ == "VALID",
          [&] { return "unknown auto_pad '" + auto_pad_ + "'"; });
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const Tensor& w = float_input(inputs, 1);
    check(x.rank() >= 3 && x.rank() <= 5, [&] { return "expects X of rank 3 to 5 (1-D to 3-D), got shape " + shape_string(x.shape); });
    const int spatial = x.rank() - 2;
    check(w.rank() == x.rank(), [&] { return "W has shape " + shape_string(w.shape) + ", expected rank " + std::to_string(x.rank()); });
    const int64_t batch = x.shape[0], channels = x.shape[1];
    check(w.shape[0] == channels && channels % groups_ == 0,
          [&] { return "W has " + std::to_string(w.shape[0]) + " input channels and group " + std::to_string(groups_) +
              ", X has " + std::to_string(channels) + " channels (W[0] must equal them, group divide them)"; });
    const int64_t out_per_group = w.shape[1], out_channels = out_per_group * groups_;
    const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
    if (b) check(b->dtype == DType::f32 && b->shape == Shape({out_channels}),
                 [&] { return "B has shape " + shape_string(b->shape) + ", expected [" + std::to_string(out_channels) + "]"; });

    const Shape kernel(w.shape.begin() + 2, w.shape.end()), in(x.shape.begin() + 2, x.shape.end());
    const auto list = [&](const std::string& key, size_t n, int64_t fill) {
      std::vector<int64_t> v = node_.attr_ints(key, std::vector<int64_t>(n, fill));
      check(v.size() == n, [&] { return key + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(n); });
      return v;
    };
    const std::vector<int64_t> kernel_shape = list("kernel_shape", spatial, 0);
    const std::vector<int64_t> strides = list("strides", spatial, 1), dilations = list("dilations", spatial, 1);
    const std::vector<int64_t> output_padding = list("output_padding", spatial, 0);
    std::vector<int64_t> pads = list("pads", 2 * spatial, 0);
    std::vector<int64_t> output_shape = node_.attr_ints("output_shape", {});
    if (output_shape.size() == static_cast<size_t>(spatial + 2))  // N, C given too
      output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    check(output_shape.empty() || output_shape.size() == static_cast<size_t>(spatial),
          [&] { return "output_shape has " + std::to_string(output_shape.size()) + " values, expected " + std::to_string(spatial); });

    Shape out_shape{batch, out_channels};
    for (int i = 0; i < spatial; ++i) {
      check(kernel_shape[i] == 0 || kernel_shape[i] == kernel[i], "kernel_shape disagrees with W's shape");
      check(strides[i] >= 1 && dilations[i] >= 1, "strides and dilations must be >= 1");
      check(output_padding[i] >= 0 && output_padding[i] < std::max(strides[i], dilations[i]),
            "output_padding must be in [0, max(stride, dilation))");
      const int64_t natural = strides[i] * (in[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1;
      int64_t target = -1;
      if (!output_shape.empty()) target = output_shape[i];
      else if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") target = in[i] * strides[i];
      if (target >= 0) {
        // Split as the ONNX definition says, halves rounded down: a negative total (an output_shape
        // above the natural size) adds the extra positions at the end, as ONNX Runtime does.
        const int64_t total = natural - target, half = total >= 0 ? total / 2 : -((1 - total) / 2);
        const bool upper = auto_pad_ == "SAME_UPPER";
        pads[i] = upper ? half : total - half;
        pads[spatial + i] = upper ? total - half : half;
      } else if (auto_pad_ == "VALID") {
        pads[i] = pads[spatial + i] = 0;
      }
      check(pads[i] >= 0 || target >= 0, "pads must be >= 0");
      const int64_t size = natural - pads[i] - pads[spatial + i];
      check(size >= 0, [&] { return "the output would have a negative size along spatial axis " + std::to_string(i); });
      out_shape.push_back(size);
    }
    outputs[0] = Tensor::unspecified_f32(out_shape, description());  // every element written below

    // As 3-D: unit leading axes for 1-D and 2-D.
    const int lead = 3 - spatial;
    int64_t is[3] = {1, 1, 1}, os[3] = {1, 1, 1}, ks[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    for (int i = 0; i < spatial; ++i) {
      is[lead + i] = in[i];
      os[lead + i] = out_shape[2 + i];
      ks[lead + i] = kernel[i];
      st[lead + i] = strides[i];
      dl[lead + i] = dilations[i];
      pb[lead + i] = pads[i];
    }
    Geometry geo;
    std::copy_n(is, 3, geo.in);
    std::copy_n(os, 3, geo.out);
    std::copy_n(ks, 3, geo.kernel);
    std::copy_n(st, 3, geo.stride);
    std::copy_n(dl, 3, geo.dilation);
    std::copy_n(pb, 3, geo.pad);
    geo.batch = batch;
    geo.channels = channels;
    geo.out_channels = out_channels;
    geo.out_per_group = out_per_group;
    float* y = outputs[0].f();
    const float* bp = b ? b->f() : nullptr;
    const bool reference = ctx.backend.name() == "reference";
    if (reference || !geo.tiles_output()) fill_bias(geo, bp, y);  // else every output is written once
    if (reference) direct(geo, x.f(), w.f(), y);
    else if (via_dense(ctx.backend, geo, x.f(), w.f(), bp, y)) return;  // the fused Relu applied
    if (relu_) relu_in_place(y, outputs[0].numel());
  }

 private:
  struct Geometry {
    int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];
    int64_t batch, channels, out_channels, out_per_group;
    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t k_size() const { return kernel[0] * kernel[1] * kernel[2]; }
    // Kernel = stride, no dilation, pads or output padding (a learned 2x upsampling): each output
    // position takes exactly one product, from kernel offset (o mod stride) of input o / stride.
    bool tiles_output() const {
      for (int d = 0; d < 3; ++d)
        if (kernel[d] != stride[d] || dilation[d] != 1 || pad[d] != 0 || out[d] != in[d] * stride[d]) return false;
      return true;
    }
  };

  static void fill_bias(const Geometry& g, const float* bias, float* y) {
    for (int64_t nm = 0; nm < g.batch * g.out_channels; ++nm)
      std::fill_n(y + nm * g.out_size(), g.out_size(), bias ? bias[nm % g.out_channels] : 0.0f);
  }

  // The reference: y[n, m] += x[n, c] · W[c, m] scattered, element by element.
  void direct(const Geometry& g, const float* xp, const float* wp, float* y) const {
    const int64_t in_size = g.in_size(), out_size = g.out_size(), k_size = g.k_size();
    const int64_t in_per_group = g.channels / groups_;
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t m = 0; m < g.out_channels; ++m) {
        float* dst = y + (n * g.out_channels + m) * out_size;
        const int64_t grp = m / g.out_per_group, mg = m % g.out_per_group;
        for (int64_t cg = 0; cg < in_per_group; ++cg) {
          const int64_t c = grp * in_per_group + cg;
          const float* src = xp + (n * g.channels + c) * in_size;
          const float* ker = wp + (c * g.out_per_group + mg) * k_size;
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw)
                scatter(g, src, ker[(kd * g.kernel[1] + kh) * g.kernel[2] + kw], 1, kd, kh, kw, dst);
        }
      }
  }

  // dst[o(p, k)] += scale · src[p · src_step] over the input positions p, for kernel offset k.
  static void scatter(const Geometry& g, const float* src, float scale, int64_t src_step, int64_t kd, int64_t kh,
                      int64_t kw, float* dst) {
    for (int64_t id = 0; id < g.in[0]; ++id) {
      const int64_t od = id * g.stride[0] + kd * g.dilation[0] - g.pad[0];
      if (od < 0 || od >= g.out[0]) continue;
      for (int64_t ih = 0; ih < g.in[1]; ++ih) {
        const int64_t oh = ih * g.stride[1] + kh * g.dilation[1] - g.pad[1];
        if (oh < 0 || oh >= g.out[1]) continue;
        const float* row = src + (id * g.in[1] + ih) * g.in[2] * src_step;
        // The input columns whose ow = iw · stride + shift falls inside the row: [first, last).
        const int64_t shift = kw * g.dilation[2] - g.pad[2], step = g.stride[2];
        const int64_t first = shift >= 0 ? 0 : (-shift + step - 1) / step;
        const int64_t last = std::min(g.in[2], g.out[2] - shift <= 0 ? 0 : (g.out[2] - shift + step - 1) / step);
        float* out = dst + (od * g.out[1] + oh) * g.out[2];
        for (int64_t iw = first; iw < last; ++iw) out[iw * step + shift] += row[iw * src_step] * scale;
      }
    }
  }

  // The products col[n, (grp, m, k), p] = Σ_c W[c, (m, k)] · x[n, c, p] on the backend (x read in
  // place, the backend's threads), then each of col's planes scattered into y by its kernel offset k
  // (contiguous reads, strided writes), or interleaved where the kernel tiles the output.
  // Returns whether the fused Relu was applied (on the tiling path, row by row).
  bool via_dense(Backend& backend, const Geometry& g, const float* xp, const float* wp, const float* bias, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size(), k_size = g.k_size();
    const int64_t in_per_group = g.channels / groups_, cols = g.out_per_group * k_size;
    if (in_size == 0 || cols == 0 || in_per_group == 0 || g.batch == 0) {
      if (g.tiles_output()) fill_bias(g, bias, y);
      return false;
    }
    ConvGeometry conv{};
    conv.n = g.batch, conv.ic = g.channels, conv.ih = g.in[0] * g.in[1], conv.iw = g.in[2];
    conv.oc = groups_ * cols, conv.oh = conv.ih, conv.ow = conv.iw, conv.kh = conv.kw = 1;
    conv.stride_h = conv.stride_w = conv.dilation_h = conv.dilation_w = 1, conv.groups = groups_;
    // Weights [groups·cols, in_per_group, 1, 1] (W[c, (m, k)] per group, transposed) and the kernel, kept
    // from run to run while the weights are the graph's constants and the input shape stays.
    Prepared& p = prepared_;
    const bool same_weights = constant_weights_ && p.weights == wp && !p.wt.empty();
    if (!same_weights) {
      p.wt.assign(static_cast<size_t>(groups_ * cols * in_per_group), 0.f);
      for (int64_t grp = 0; grp < groups_; ++grp)
        for (int64_t c = 0; c < in_per_group; ++c)
          for (int64_t j = 0; j < cols; ++j)
            p.wt[(grp * cols + j) * in_per_group + c] = wp[((grp * in_per_group + c) * cols) + j];
      p.weights = wp;
      p.kernel.reset();
    }
    // Kernel = stride on a GEMM: the products of a band of input rows, then their interleave into y while
    // they are still in cache (seal_det's 24 -> 24 2x2 upsampling at 160x160: 9.8 MB of products
    // otherwise written to memory and read back).
    if (p.gemm && g.tiles_output()) {
      const int64_t rows = g.in[0] * g.in[1], row = g.in[2];
      const int64_t band = std::clamp<int64_t>(kBandFloats / std::max<int64_t>(1, groups_ * cols * row), 1, rows);
      p.col.resize(static_cast<size_t>(groups_ * cols * band * row));
      for (int64_t n = 0; p.gemm && n < g.batch; ++n)
        for (int64_t r0 = 0; p.gemm && r0 < rows; r0 += band) {
          const int64_t r1 = std::min(rows, r0 + band), len = (r1 - r0) * row;
          for (int64_t grp = 0; p.gemm && grp < groups_; ++grp)
            p.gemm = backend.gemm(cols, len, in_per_group, p.wt.data() + grp * cols * in_per_group, in_per_group,
                                  xp + (n * g.channels + grp * in_per_group) * in_size + r0 * row, in_size,
                                  p.col.data() + grp * cols * len, len);
          if (!p.gemm) break;  // the backend has no GEMM (asked at the first band: nothing written yet)
          for (int64_t m = 0; m < g.out_channels; ++m) {
            const int64_t grp = m / g.out_per_group, mg = m % g.out_per_group;
            interleave(g, p.col.data() + (grp * cols + mg * k_size) * len, len, r0, r1, bias ? bias[m] : 0.0f,
                       relu_, y + (n * g.out_channels + m) * out_size);
          }
        }
      if (p.gemm) return true;
    }
    p.col.resize(static_cast<size_t>(g.batch * groups_ * cols * in_size));
    // A GEMM per image and group on x as it lies, where the backend has one; else the 1x1 conv.
    bool done = p.gemm;
    for (int64_t n = 0; done && n < g.batch; ++n)
      for (int64_t grp = 0; done && grp < groups_; ++grp)
        done = backend.gemm(cols, in_size, in_per_group, p.wt.data() + grp * cols * in_per_group, in_per_group,
                            xp + (n * g.channels + grp * in_per_group) * in_size, in_size,
                            p.col.data() + (n * groups_ + grp) * cols * in_size, in_size);
    if (!done) {
      p.gemm = false;  // asked once: the backend has no GEMM
      const bool same_kernel = p.kernel && p.conv.n == conv.n && p.conv.ic == conv.ic && p.conv.ih == conv.ih &&
                               p.conv.iw == conv.iw && p.conv.oc == conv.oc;
      if (!same_kernel) {
        p.kernel = backend.conv(conv, p.wt.data(), nullptr, ConvPostOps{}, QuantConfig{});
        p.conv = conv;
      }
      p.kernel->run(xp, p.col.data());
    }
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t grp = 0; grp < groups_; ++grp)
        for (int64_t mg = 0; mg < g.out_per_group; ++mg) {
          const int64_t m = grp * g.out_per_group + mg;
          float* dst = y + (n * g.out_channels + m) * out_size;
          const float* planes = p.col.data() + ((n * groups_ + grp) * cols + mg * k_size) * in_size;
          if (g.tiles_output()) {
            interleave(g, planes, in_size, 0, g.in[0] * g.in[1], bias ? bias[m] : 0.0f, relu_, dst);
            continue;
          }
          for (int64_t kd = 0, k = 0; kd < g.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) scatter(g, planes + k * in_size, 1.0f, 1, kd, kh, kw, dst);
        }
    return g.tiles_output();
  }

  // tiles_output(): input rows [r0, r1) (over depth and height) of one output channel's planes, the
  // planes `plane` floats apart with row r0 first. Each output row, written once, interleaves the
  // stride[2] planes of its (kd, kh) offset at its input row, plus the bias.
  static void interleave(const Geometry& g, const float* planes, int64_t plane, int64_t r0, int64_t r1, float bias,
                         bool relu, float* dst) {
    const int64_t step = g.stride[2], width = g.in[2];
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t id = r / g.in[1], ih = r % g.in[1];
      const float* in_row = planes + (r - r0) * width;
      for (int64_t kd = 0; kd < g.stride[0]; ++kd)
        for (int64_t kh = 0; kh < g.stride[1]; ++kh) {
          const float* src = in_row + (kd * g.kernel[1] + kh) * g.kernel[2] * plane;
          float* out = dst + ((id * g.stride[0] + kd) * g.out[1] + ih * g.stride[1] + kh) * g.out[2];
          if (step == 2) {  // the common 2x upsampling: two planes, alternate columns
            interleave_pair(src, src + plane, bias, out, width);
          } else {
            for (int64_t kw = 0; kw < step; ++kw)
              for (int64_t iw = 0; iw < width; ++iw) out[iw * step + kw] = src[kw * plane + iw] + bias;
          }
          if (relu) relu_in_place(out, g.out[2]);
        }
    }
  }

  // Products kept per band of the tiling path: 128 Ki floats (512 KiB, within a core's L2).
  static constexpr int64_t kBandFloats = 128 * 1024;

  // What via_dense prepares from the weights, and its scratch: kept for the next run (see there).
  struct Prepared {
    const float* weights = nullptr;
    std::vector<float> wt;  // W transposed per group: [groups, cols, in_per_group]
    bool gemm = true;       // until the backend says it has no GEMM
    ConvGeometry conv{};
    std::unique_ptr<ConvKernel> kernel;
    std::vector<float> col;
  };

  const bool constant_weights_;
  Prepared prepared_;
  int64_t groups_ = 1;
  bool relu_ = false;
  std::string auto_pad_;
};

}  // namespace

std::unique_ptr<Op> make_conv_transpose(const Node& node, const Graph& graph) {
  return std::make_unique<ConvTranspose>(node, graph);
}

}  // namespace edgequant::engine
