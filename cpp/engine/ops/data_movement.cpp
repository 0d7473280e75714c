// DataMovement: a chain of data-moving ops folded at load (graph/data_movement_folding.h), its
// nodes in the `body` subgraph. For each input shape it works out once where every output element
// comes from, by running the chain's own ops on the elements' indices, and keeps that as runs of
// consecutive elements; a run then copies whole runs (memcpy), one pass in all. Where the runs are
// short (a transpose that moves single elements) or the input too large to index, it runs the
// chain's ops on the data instead, as the unfolded graph would. Where every output of a 4-D input
// is a choice of its channels (a channel shuffle and its split), an input in the backend's layout is
// picked from as it lies (Backend::channel_pick), its outputs left in that layout for the convs after.
// u8 codes move as codes (a quantized model's channel shuffle, its pairs between the moves removed).
#include <cstring>
#include <map>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

constexpr int64_t kMaxIndexed = int64_t{1} << 22;  // elements: the index tensors stay under 32 MiB
constexpr int64_t kMinAverageRun = 16;              // elements per memcpy for the runs to pay off

class DataMovement : public Op {
 public:
  explicit DataMovement(const Node& node) : Op(node) {
    auto it = node.attributes.find("body");
    check(it != node.attributes.end() && it->second.graph, "has no body subgraph");
    body_ = it->second.graph;
    check(body_->inputs.size() == 1 && body_->outputs.size() == node.outputs.size() && !body_->nodes.empty(),
          "body does not match the node's input and outputs");
    for (const Node& n : body_->nodes) ops_.push_back(make_op(n, *body_));
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;
    traits.u8_inputs = {0};
    return traits;
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& given = input(inputs, 0);
    if (!planned_ || given.shape != planned_shape_) plan(ctx, given.shape);
    if (given.native && !channel_sources_.empty() && pick_channels(ctx, given, outputs)) return;
    Tensor codes;
    const Tensor& x = plain_data(given, codes, description());
    if (!by_runs_) {
      run_chain(ctx, x, outputs);
      return;
    }
    const size_t es = element_size(x);
    const char* src = raw_data(x);
    for (size_t o = 0; o < outputs.size(); ++o) {
      outputs[o] = empty_as(x, shapes_[o], description());
      if (runs_[o].empty()) continue;
      char* dst = raw_data(outputs[o]);
      for (const Run& run : runs_[o]) {
        std::memcpy(dst, src + run.from * es, run.length * es);
        dst += run.length * es;
      }
    }
  }

 private:
  struct Run {
    int64_t from, length;  // elements of the input
  };

  // Every output picked from x in the backend's layout; false (outputs untouched) where it cannot.
  bool pick_channels(RunContext& ctx, const Tensor& x, std::vector<Tensor>& outputs) {
    if (!asked_for_picker_) {
      picker_ = ctx.backend.channel_pick();
      asked_for_picker_ = true;
    }
    if (!picker_) return false;
    std::vector<Tensor> picked(outputs.size());
    for (size_t o = 0; o < outputs.size(); ++o)
      if (!picker_->run(x, channel_sources_[o], picked[o])) return false;
    for (size_t o = 0; o < outputs.size(); ++o) outputs[o] = std::move(picked[o]);
    return true;
  }

  // Whether `from` (an output's source indices into an input of `shape`, [N, C, H, W]) takes whole
  // channels: output [N, C', H, W], plane (n, c) the input's plane (n, channels[c]) for every n.
  static bool channel_choice(const Tensor& from, const Shape& shape, std::vector<int64_t>& channels) {
    if (shape.size() != 4 || from.shape.size() != 4 || from.shape[0] != shape[0] || from.shape[2] != shape[2] ||
        from.shape[3] != shape[3] || shape[2] * shape[3] == 0 || shape[0] == 0)
      return false;
    const int64_t plane = shape[2] * shape[3], in_channels = shape[1], out_channels = from.shape[1];
    const int64_t* index = from.i();
    channels.assign(static_cast<size_t>(out_channels), 0);
    for (int64_t c = 0; c < out_channels; ++c) {
      const int64_t first = index[c * plane];
      if (first % plane != 0 || first / plane >= in_channels) return false;
      channels[c] = first / plane;
    }
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t c = 0; c < out_channels; ++c) {
        const int64_t* got = index + (n * out_channels + c) * plane;
        const int64_t want = (n * in_channels + channels[c]) * plane;
        for (int64_t k = 0; k < plane; ++k)
          if (got[k] != want + k) return false;
      }
    return true;
  }

  // The chain's nodes in order on `x`; `outputs` get the body's outputs.
  void run_chain(RunContext& ctx, const Tensor& x, std::vector<Tensor>& outputs) {
    std::map<std::string, Tensor> values{{body_->inputs[0].name, x}};
    RunContext inner{ctx.backend, nullptr};  // no input is free: x belongs to the caller
    for (size_t k = 0; k < ops_.size(); ++k) {
      const Node& n = body_->nodes[k];
      std::vector<const Tensor*> in;
      for (const std::string& name : n.inputs) {
        auto constant = body_->initializers.find(name);
        auto value = values.find(name);
        in.push_back(name.empty() ? nullptr
                     : constant != body_->initializers.end() ? &constant->second
                     : value != values.end() ? &value->second : nullptr);
      }
      std::vector<Tensor> out(n.outputs.size());
      ops_[k]->run(inner, in, out);
      for (size_t o = 0; o < out.size(); ++o) values[n.outputs[o]] = std::move(out[o]);
    }
    for (size_t o = 0; o < outputs.size(); ++o) outputs[o] = values.at(body_->outputs[o].name);
  }

  // Where each output element comes from for inputs of `shape`: the chain run on the indices.
  void plan(RunContext& ctx, const Shape& shape) {
    planned_ = true;
    planned_shape_ = shape;
    by_runs_ = false;
    channel_sources_.clear();
    const int64_t n = checked_numel(shape, description());
    if (n > kMaxIndexed) return;
    Tensor indices = Tensor::zeros_i64(shape, description());
    for (int64_t k = 0; k < n; ++k) indices.i()[k] = k;
    std::vector<Tensor> picked(node_.outputs.size());
    run_chain(ctx, indices, picked);
    std::vector<std::vector<Run>> runs(picked.size());
    std::vector<Shape> shapes;
    int64_t elements = 0, count = 0;
    for (size_t o = 0; o < picked.size(); ++o) {
      const Tensor& t = picked[o];
      check(t.dtype == DType::i64, "the chain changed the indices' type");
      const int64_t* from = t.i();
      for (int64_t k = 0, total = t.numel(); k < total; ++k)
        if (!runs[o].empty() && runs[o].back().from + runs[o].back().length == from[k]) {
          ++runs[o].back().length;
        } else {
          runs[o].push_back({from[k], 1});
        }
      elements += t.numel();
      count += static_cast<int64_t>(runs[o].size());
      shapes.push_back(t.shape);
    }
    std::vector<std::vector<int64_t>> choices(picked.size());
    bool whole_channels = true;
    for (size_t o = 0; o < picked.size() && whole_channels; ++o)
      whole_channels = channel_choice(picked[o], shape, choices[o]);
    if (whole_channels) channel_sources_ = std::move(choices);
    if (elements < kMinAverageRun * count) return;
    runs_ = std::move(runs);
    shapes_ = std::move(shapes);
    by_runs_ = true;
  }

  std::shared_ptr<const Graph> body_;
  std::vector<std::unique_ptr<Op>> ops_;
  bool planned_ = false, by_runs_ = false;
  Shape planned_shape_;
  std::vector<std::vector<Run>> runs_;
  std::vector<Shape> shapes_;
  std::vector<std::vector<int64_t>> channel_sources_;  // per output, where every output is a channel choice
  bool asked_for_picker_ = false;
  std::unique_ptr<ChannelPickKernel> picker_;
};

}  // namespace

std::unique_ptr<Op> make_data_movement(const Node& node, const Graph&) { return std::make_unique<DataMovement>(node); }

}  // namespace edgequant::engine
