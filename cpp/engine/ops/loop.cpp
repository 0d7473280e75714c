// Loop (issue 21): runs the body subgraph while the iteration count is below the trip count M and
// the condition holds, both read at run time (constants of the model in practice). The body's
// inputs are (iteration number, condition, loop-carried values...), its outputs (condition,
// loop-carried values..., scan outputs...); the node returns the final loop-carried values and
// each scan output's per-iteration values stacked along a new axis 0. The body's ops are built
// once and run like If's branches (ops/if.cpp): values it reads from the enclosing graph are the
// node's inputs from `_captures_from` on (onnx/loader.cpp), matched by name.
#include <algorithm>
#include <limits>
#include <map>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Loop : public Op {
 public:
  explicit Loop(const Node& node) : Op(node) {
    captures_from_ = static_cast<size_t>(node.attr_i("_captures_from", static_cast<int64_t>(node.inputs.size())));
    check(captures_from_ >= 2 && captures_from_ <= node.inputs.size(),
          "expects inputs M, cond and the loop-carried values");
    carried_ = captures_from_ - 2;
    auto it = node.attributes.find("body");
    check(it != node.attributes.end() && it->second.graph, "subgraph attribute 'body' is missing");
    body_ = it->second.graph;
    check(body_->inputs.size() == 2 + carried_,
          [&] { return "body has " + std::to_string(body_->inputs.size()) + " inputs, expected " + std::to_string(2 + carried_) +
              " (iteration number, condition and " + std::to_string(carried_) + " loop-carried values)"; });
    check(body_->outputs.size() >= 1 + carried_, [&] { return "body has " + std::to_string(body_->outputs.size()) +
                                                     " outputs, expected at least " + std::to_string(1 + carried_); });
    scans_ = body_->outputs.size() - 1 - carried_;
    check(node.outputs.size() <= carried_ + scans_,
          [&] { return "has " + std::to_string(node.outputs.size()) + " outputs, the body gives " + std::to_string(carried_ + scans_); });
    for (const Node& n : body_->nodes) ops_.push_back(make_op(n, *body_));
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const bool has_trip = inputs.size() > 0 && inputs[0], has_cond = inputs.size() > 1 && inputs[1];
    check(has_trip || has_cond, "has neither a trip count M nor a condition: it would never end");
    int64_t trips = std::numeric_limits<int64_t>::max();
    if (has_trip) {
      check(inputs[0]->numel() == 1, [&] { return "M must hold one value, got shape " + shape_string(inputs[0]->shape); });
      trips = inputs[0]->as_i64()[0];
    }
    Tensor cond = Tensor::from_i64({1}).reshaped({});
    if (has_cond) {
      check(inputs[1]->numel() == 1, [&] { return "cond must hold one value, got shape " + shape_string(inputs[1]->shape); });
      cond = *inputs[1];
    }
    std::vector<Tensor> carried;
    for (size_t k = 0; k < carried_; ++k) {
      check(inputs[2 + k] != nullptr, [&] { return "loop-carried input " + std::to_string(k) + " is missing"; });
      carried.push_back(*inputs[2 + k]);
    }
    std::map<std::string, const Tensor*> outer;  // captured values and the body's initializers
    for (size_t k = captures_from_; k < inputs.size(); ++k)
      if (inputs[k]) outer[node_.inputs[k]] = inputs[k];
    for (const auto& kv : body_->initializers) outer[kv.first] = &kv.second;

    std::vector<std::vector<Tensor>> scanned(scans_);
    RunContext inner{ctx.backend, nullptr};  // body inputs are never taken over
    for (int64_t i = 0; i < trips && is_true(cond); ++i) {
      std::map<std::string, Tensor> values;  // the body's inputs and what it computes
      values[body_->inputs[0].name] = Tensor::from_i64({i}).reshaped({});
      values[body_->inputs[1].name] = cond;
      for (size_t k = 0; k < carried_; ++k) values[body_->inputs[2 + k].name] = carried[k];
      auto find = [&](const std::string& name) -> const Tensor* {
        auto it = values.find(name);
        if (it != values.end()) return &it->second;
        auto ot = outer.find(name);
        return ot == outer.end() ? nullptr : ot->second;
      };
      for (size_t k = 0; k < ops_.size(); ++k) {
        const Node& n = body_->nodes[k];
        std::vector<const Tensor*> in;
        for (const std::string& name : n.inputs) in.push_back(name.empty() ? nullptr : find(name));
        std::vector<Tensor> out(n.outputs.size());
        ops_[k]->run(inner, in, out);
        for (size_t o = 0; o < n.outputs.size() && o < produced_outputs(n); ++o)
          if (!n.outputs[o].empty()) values[n.outputs[o]] = std::move(out[o]);
      }
      auto result = [&](size_t k) -> const Tensor& {
        const Tensor* t = find(body_->outputs[k].name);
        check(t != nullptr, [&] { return "body output '" + body_->outputs[k].name + "' was not computed"; });
        return *t;
      };
      const Tensor next_cond = result(0);
      check(next_cond.numel() == 1, "the body's condition must hold one value");
      for (size_t k = 0; k < carried_; ++k) carried[k] = result(1 + k);
      for (size_t k = 0; k < scans_; ++k) scanned[k].push_back(result(1 + carried_ + k));
      cond = next_cond;
    }
    for (size_t k = 0; k < outputs.size(); ++k)
      outputs[k] = k < carried_ ? carried[k] : stack(scanned[k - carried_], k - carried_);
  }

 private:
  static bool is_true(const Tensor& t) { return t.dtype == DType::f32 ? t.f()[0] != 0.0f : t.i()[0] != 0; }

  // The per-iteration values of a scan output along a new axis 0 ([0] after no iteration).
  Tensor stack(const std::vector<Tensor>& parts, size_t index) const {
    if (parts.empty()) return Tensor::zeros_f32({0}, description());
    const Tensor& first = parts.front();
    for (const Tensor& t : parts)
      check(t.shape == first.shape && t.dtype == first.dtype,
            [&] { return "scan output " + std::to_string(index) + " changes shape between iterations (" + shape_string(first.shape) +
                ", " + shape_string(t.shape) + ")"; });
    Shape shape{static_cast<int64_t>(parts.size())};
    shape.insert(shape.end(), first.shape.begin(), first.shape.end());
    Tensor out = empty_like(first.dtype, shape, description());
    const int64_t n = first.numel();
    for (size_t p = 0; p < parts.size(); ++p) {
      if (first.dtype == DType::f32) std::copy_n(parts[p].f(), n, out.f() + p * n);
      else std::copy_n(parts[p].i(), n, out.i() + p * n);
    }
    return out;
  }

  size_t captures_from_ = 2, carried_ = 0, scans_ = 0;
  std::shared_ptr<const Graph> body_;
  std::vector<std::unique_ptr<Op>> ops_;
};

}  // namespace

std::unique_ptr<Op> make_loop(const Node& node, const Graph&) { return std::make_unique<Loop>(node); }

}  // namespace edgequant::engine
