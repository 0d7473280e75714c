// Transpose by 'perm' (default: reverse the axes).
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Transpose : public Op {
 public:
  explicit Transpose(const Node& node) : Op(node), perm_(node.attr_ints("perm")) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const int rank = x.rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty())
      for (int k = rank - 1; k >= 0; --k) perm.push_back(k);
    check(static_cast<int>(perm.size()) == rank, "perm has " + std::to_string(perm.size()) + " entries for rank " +
                                                     std::to_string(rank));
    std::vector<bool> seen(rank, false);
    Shape out(rank);
    for (int k = 0; k < rank; ++k) {
      const int p = axis_of(perm[k], rank);
      check(!seen[p], "perm is not a permutation");
      seen[p] = true;
      perm[k] = p;
      out[k] = x.shape[p];
    }
    outputs[0] = empty_like(x.dtype, out, node_.describe());
    const int64_t total = checked_numel(out, node_.describe());
    if (total == 0) return;
    std::vector<int64_t> in_stride(rank, 1), stride(rank);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    for (int k = 0; k < rank; ++k) stride[k] = in_stride[perm[k]];
    const size_t es = element_size(x);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    std::vector<int64_t> index(rank, 0);
    int64_t offset = 0;
    for (int64_t o = 0; o < total; ++o) {
      std::memcpy(dst + o * es, src + offset * es, es);
      for (int k = rank - 1; k >= 0; --k) {  // odometer: advance the output index, track the offset
        offset += stride[k];
        if (++index[k] < out[k]) break;
        offset -= stride[k] * out[k];
        index[k] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> perm_;
};

}  // namespace

std::unique_ptr<Op> make_transpose(const Node& node, const Graph&) { return std::make_unique<Transpose>(node); }

}  // namespace edgequant::engine
