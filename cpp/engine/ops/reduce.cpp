// ReduceMean, ReduceMax, ReduceMin, ReduceSum, ReduceL2, and ReduceL1, ReduceSumSquare, ReduceProd,
// ReduceLogSum, ReduceLogSumExp (shifted by the maximum: no overflow). The reduced axes are the `axes`
// attribute before opset 18 (before 13 for ReduceSum) and the optional second input from then
// on; no axes reduce every axis, unless noop_with_empty_axes = 1 (input form only): then nothing
// is reduced (each element is reduced alone: the identity, |x| for ReduceL2, as the ONNX
// reference). keepdims (default 1) keeps the reduced axes as size 1. Sums accumulate in double.
// Max / Min propagate NaN (numpy's maximum.reduce, the ONNX reference; ONNX Runtime's result
// depends on where the NaN sits). Over an empty set: Sum, L1, L2 and SumSquare give 0, Prod 1,
// Mean NaN, Max, LogSum and LogSumExp -inf, Min +inf. ReduceSum / Max / Min / Prod also run on
// int64 (wrapping around; an int64 Max / Min of an empty set is refused: it may be bool).
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/double_sum.h"
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

enum class Kind { mean, max, min, sum, l2, l1, sum_square, prod, log_sum, log_sum_exp };

Kind kind_of(const std::string& t) {
  if (t == "ReduceMean") return Kind::mean;
  if (t == "ReduceMax") return Kind::max;
  if (t == "ReduceMin") return Kind::min;
  if (t == "ReduceSum") return Kind::sum;
  if (t == "ReduceL1") return Kind::l1;
  if (t == "ReduceSumSquare") return Kind::sum_square;
  if (t == "ReduceProd") return Kind::prod;
  if (t == "ReduceLogSum") return Kind::log_sum;
  if (t == "ReduceLogSumExp") return Kind::log_sum_exp;
  return Kind::l2;
}

class Reduce : public Op {
 public:
  Reduce(const Node& node, const Graph& graph) : Op(node) {
    const std::string& t = node.op_type;
    kind_ = kind_of(t);
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects an input and 1 output");
    const int64_t axes_input_from = kind_ == Kind::sum ? 13 : 18;
    axes_as_input_ = graph.opset >= axes_input_from;
    const std::string since = " (opset " + std::to_string(graph.opset) + "; axes became an input in opset " +
                              std::to_string(axes_input_from) + ")";
    if (axes_as_input_) {
      check(!node.has("axes"), [&] { return "axes must be an input, not an attribute" + since; });
      check(node.inputs.size() <= 2, "expects at most 2 inputs (data, axes)");
      noop_with_empty_axes_ = node.attr_i("noop_with_empty_axes", 0) != 0;
    } else {
      check(node.inputs.size() == 1, [&] { return "axes must be an attribute, not an input" + since; });
      check(!node.has("noop_with_empty_axes"), [&] { return "noop_with_empty_axes is not an attribute before opset " +
                                                   std::to_string(axes_input_from); });
      axes_ = node.attr_ints("axes");
    }
    keepdims_ = node.attr_i("keepdims", 1) != 0;
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const bool integer_kind = kind_ == Kind::sum || kind_ == Kind::max || kind_ == Kind::min || kind_ == Kind::prod;
    check(x.dtype == DType::f32 || integer_kind,
          [&] { return "expects a float input, got " + std::string(dtype_name(x.dtype)); });
    std::vector<int64_t> axes = axes_;
    if (axes_as_input_ && node_.inputs.size() == 2 && !node_.inputs[1].empty()) {
      check(input(inputs, 1).rank() == 1, [&] { return "axes must be 1-D, got " + shape_string(input(inputs, 1).shape); });
      axes = int_values(inputs, 1);
    }
    // noop_with_empty_axes: each output element is the reduction of itself alone (x, or |x| for L2).
    std::vector<bool> reduced(x.rank(), axes.empty() && !noop_with_empty_axes_);
    for (int64_t a : axes) {
      const int axis = axis_of(a, x.rank());
      check(!reduced[axis], [&] { return "axis " + std::to_string(a) + " is listed twice"; });
      reduced[axis] = true;
    }
    Shape out;
    for (int k = 0; k < x.rank(); ++k)
      if (!reduced[k]) out.push_back(x.shape[k]);
      else if (keepdims_) out.push_back(1);
    if (x.dtype == DType::f32) {
      outputs[0] = Tensor::zeros_f32(out, description());
      reduce_float(x, reduced, outputs[0].f());
    } else {
      outputs[0] = Tensor::zeros_i64(out, description());
      reduce_int(x, reduced, outputs[0].i());
    }
  }

 private:
  // Calls visit(in_offset, out_offset) for every element of x, out_offset being the flat index of
  // the output element it reduces into.
  template <class Visit>
  static void walk(const Shape& shape, const std::vector<bool>& reduced, Visit visit) {
    const int rank = static_cast<int>(shape.size());
    // Reduced axes in one run [first, last] (the common case: the last axis, the spatial axes):
    // the [outer, len, inner] view, walked without the index arithmetic below.
    int first = rank, last = -1;
    for (int k = 0; k < rank; ++k)
      if (reduced[k] && shape[k] != 1) first = std::min(first, k), last = k;
    bool contiguous = true;
    for (int k = first; k <= last; ++k) contiguous = contiguous && (reduced[k] || shape[k] == 1);
    if (contiguous) {
      const int64_t outer = first <= last ? span(shape, 0, first) : span(shape, 0, shape.size());
      const int64_t len = first <= last ? span(shape, first, last + 1) : 1;
      const int64_t inner = first <= last ? span(shape, last + 1, shape.size()) : 1;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < len; ++k) {
          const int64_t from = (o * len + k) * inner, to = o * inner;
          for (int64_t i = 0; i < inner; ++i) visit(from + i, to + i);
        }
      return;
    }
    std::vector<int64_t> out_stride(rank, 0);
    int64_t step = 1;
    for (int k = rank - 1; k >= 0; --k)
      if (!reduced[k]) {
        out_stride[k] = step;
        step *= shape[k];
      }
    int64_t total = 1;
    for (int64_t d : shape) total *= d;
    std::vector<int64_t> index(rank, 0);
    int64_t o = 0;
    for (int64_t k = 0; k < total; ++k) {
      visit(k, o);
      for (int axis = rank - 1; axis >= 0; --axis) {
        o += out_stride[axis];
        if (++index[axis] < shape[axis]) break;
        o -= out_stride[axis] * shape[axis];
        index[axis] = 0;
      }
    }
  }

  // Whether the reduced axes (those longer than 1) are the last ones: x is then `rows` rows of `len`
  // values, one output per row.
  static bool as_rows(const Shape& shape, const std::vector<bool>& reduced, int64_t& rows, int64_t& len) {
    const int rank = static_cast<int>(shape.size());
    int first = rank;
    for (int k = 0; k < rank; ++k)
      if (reduced[k] && shape[k] != 1) {
        first = k;
        break;
      }
    for (int k = first; k < rank; ++k)
      if (!reduced[k] && shape[k] != 1) return false;
    if (first == rank) return false;
    rows = span(shape, 0, first);
    len = span(shape, first, shape.size());
    return len > 0;
  }

  // Σ row in double (common/double_sum.h).
  static double row_sum(const float* row, int64_t n) { return sum_in_double(row, n); }

  static int64_t reduced_count(const Shape& shape, const std::vector<bool>& reduced) {
    int64_t n = 1;
    for (size_t k = 0; k < shape.size(); ++k)
      if (reduced[k]) n *= shape[k];
    return n;
  }

  void reduce_float(const Tensor& x, const std::vector<bool>& reduced, float* dst) const {
    const float* in = x.f();
    int64_t out_n = 1;
    for (size_t k = 0; k < x.shape.size(); ++k)
      if (!reduced[k]) out_n *= x.shape[k];
    if (kind_ == Kind::max || kind_ == Kind::min) return extreme(x, reduced, kind_ == Kind::max, dst, out_n);
    std::vector<double> acc(out_n, kind_ == Kind::prod ? 1.0 : 0.0);
    // Sums over the last axes (a spatial mean, LayerNorm's statistics): whole rows, summed by
    // row_sum. Other sums go element by element through walk().
    int64_t rows = 0, len = 0;
    const bool by_rows =
        (kind_ == Kind::sum || kind_ == Kind::mean || kind_ == Kind::log_sum) && as_rows(x.shape, reduced, rows, len);
    for (int64_t o = 0; by_rows && o < rows; ++o) acc[o] = row_sum(in + o * len, len);
    if (kind_ == Kind::log_sum_exp) {
      // log(sum(exp(x))) = peak + log(sum(exp(x - peak))): exp cannot overflow. An infinite or NaN
      // peak is the result itself (all -inf or empty: -inf; any +inf: +inf; any NaN: NaN).
      std::vector<float> peak(out_n);
      extreme(x, reduced, true, peak.data(), out_n);
      walk(x.shape, reduced, [&](int64_t i, int64_t o) {
        if (std::isfinite(peak[o])) acc[o] += std::exp(static_cast<double>(in[i]) - peak[o]);
      });
      for (int64_t o = 0; o < out_n; ++o)
        dst[o] = std::isfinite(peak[o]) ? static_cast<float>(peak[o] + std::log(acc[o])) : peak[o];
      return;
    }
    if (!by_rows) walk(x.shape, reduced, [&](int64_t i, int64_t o) {
      const double v = in[i];
      switch (kind_) {
        case Kind::l2: case Kind::sum_square: acc[o] += v * v; break;
        case Kind::l1: acc[o] += std::fabs(v); break;
        case Kind::prod: acc[o] *= v; break;
        default: acc[o] += v;  // sum, mean, log_sum
      }
    });
    const double count = static_cast<double>(reduced_count(x.shape, reduced));
    for (int64_t o = 0; o < out_n; ++o) {
      const double v = kind_ == Kind::mean ? acc[o] / count
                     : kind_ == Kind::l2 ? std::sqrt(acc[o])
                     : kind_ == Kind::log_sum ? std::log(acc[o]) : acc[o];
      dst[o] = static_cast<float>(v);
    }
  }

  // The maximum (or minimum) of each output's values; NaN propagates, an empty set gives -inf (+inf).
  void extreme(const Tensor& x, const std::vector<bool>& reduced, bool max, float* dst, int64_t out_n) const {
    const float* in = x.f();
    std::fill(dst, dst + out_n, max ? -INFINITY : INFINITY);
    walk(x.shape, reduced, [&](int64_t i, int64_t o) {
      const float v = in[i];
      // A NaN in dst stays: every comparison with it is false.
      if (std::isnan(v) || (max ? v > dst[o] : v < dst[o])) dst[o] = v;
    });
  }

  void reduce_int(const Tensor& x, const std::vector<bool>& reduced, int64_t* dst) const {
    const int64_t* in = x.i();
    int64_t out_n = 1;
    for (size_t k = 0; k < x.shape.size(); ++k)
      if (!reduced[k]) out_n *= x.shape[k];
    // The engine holds bool as int64: the extreme of an empty set would be INT64_MIN / MAX for int64
    // but false / true for bool, and the two cannot be told apart here.
    check(out_n == 0 || reduced_count(x.shape, reduced) > 0 || (kind_ != Kind::max && kind_ != Kind::min),
          "the maximum / minimum of an empty set of integer (or bool) values is not supported");
    const int64_t start = kind_ == Kind::max ? std::numeric_limits<int64_t>::min()
                        : kind_ == Kind::min ? std::numeric_limits<int64_t>::max()
                        : kind_ == Kind::prod ? 1 : 0;
    std::fill(dst, dst + out_n, start);
    walk(x.shape, reduced, [&](int64_t i, int64_t o) {
      const int64_t v = in[i];
      if (kind_ == Kind::max) dst[o] = std::max(dst[o], v);
      else if (kind_ == Kind::min) dst[o] = std::min(dst[o], v);
      else if (kind_ == Kind::prod)
        dst[o] = static_cast<int64_t>(static_cast<uint64_t>(dst[o]) * static_cast<uint64_t>(v));
      else dst[o] = static_cast<int64_t>(static_cast<uint64_t>(dst[o]) + static_cast<uint64_t>(v));  // wraps
    });
  }

  Kind kind_;
  bool axes_as_input_ = false, noop_with_empty_axes_ = false, keepdims_ = true;
  std::vector<int64_t> axes_;
};

}  // namespace

std::unique_ptr<Op> make_reduce(const Node& node, const Graph& graph) { return std::make_unique<Reduce>(node, graph); }

}  // namespace edgequant::engine
