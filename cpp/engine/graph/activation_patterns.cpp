#include "graph/activation_patterns.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {
namespace {

constexpr float kSixth = 1.f / 6;
constexpr float kSqrt2 = 1.41421356237309505f;
constexpr float kInvSqrt2 = 0.70710678118654752f;

// Matches the patterns of the header against one graph, node by node in order: a pattern ends at
// the node being looked at, so the nodes it absorbs all come before it, and a rewritten node
// (HardSigmoid from Relu6(x + 3) / 6) can itself be part of a later pattern (x · that).
class Matcher {
 public:
  explicit Matcher(Graph& graph) : graph_(graph), index_(graph), dead_(graph.nodes.size(), false) {}

  int run() {
    int replaced = 0;
    for (size_t k = 0; k < graph_.nodes.size(); ++k) {
      Node& node = graph_.nodes[k];
      if (!node.domain.empty() || node.outputs.size() != 1 || node.inputs.size() != 2) continue;
      std::string x;
      // Each try starts from no absorbed nodes (a failed one may leave some behind).
      auto attempt = [&](bool (Matcher::*match)(const Node&, std::string&)) {
        absorbed_.clear();
        return (this->*match)(node, x);
      };
      if (attempt(&Matcher::hard_swish_written_out)) {
        replace(node, "HardSwish", x);
      } else if (attempt(&Matcher::hard_sigmoid_written_out)) {
        replace(node, "HardSigmoid", x);
        set_float(node, "alpha", kSixth);
        set_float(node, "beta", 0.5f);
      } else if (node.op_type == "Mul" && attempt(&Matcher::times_gate_of_itself)) {
        replace(node, graph_.nodes[absorbed_[0]].op_type == "Sigmoid" ? "Swish" : "HardSwish", x);
      } else if (node.op_type == "Mul" && attempt(&Matcher::gelu_written_out)) {
        replace(node, "Gelu", x);
        Attribute written_out;  // runs whatever the model's opset (Gelu itself is opset 20)
        written_out.kind = Attribute::Kind::i;
        written_out.i = 1;
        node.attributes["_written_out"] = written_out;
      } else {
        continue;
      }
      ++replaced;
    }
    erase_nodes(graph_, dead_);
    return replaced;
  }

 private:
  // The live default-domain node producing `value` when the pattern may absorb it: its only
  // reader is the pattern (graph outputs count as readers), it has one output. nullptr otherwise.
  const Node* absorbable(const std::string& value, const char* op_type) {
    const int p = index_.producer(value);
    if (p < 0 || dead_[p] || index_.readers(value) != 1) return nullptr;
    const Node& n = graph_.nodes[p];
    if (n.op_type != op_type || !n.domain.empty() || n.outputs.size() != 1 || n.inputs.empty()) return nullptr;
    absorbed_.push_back(p);
    return &n;
  }

  // A scalar float constant (shape [] or [1]) equal to `want`; the irrational ones (1/6, sqrt 2,
  // 1/sqrt 2) within float rounding.
  bool scalar_equals(const std::string& name, float want) const {
    if (name.empty() || !graph_.is_constant(name)) return false;
    const Tensor& t = graph_.initializers.at(name);
    if (t.dtype != DType::f32 || t.numel() != 1 || t.rank() > 1) return false;
    const float v = t.f()[0];
    const bool irrational = want == kSixth || want == kSqrt2 || want == kInvSqrt2;
    return irrational ? std::fabs(v / want - 1.f) <= 1e-6f : v == want;
  }

  // Of a two-input node, the input that is not the constant `want` ("" when neither is).
  std::string other_than(const Node& n, float want) const {
    if (n.inputs.size() != 2) return "";
    if (scalar_equals(n.inputs[1], want) && !graph_.is_constant(n.inputs[0])) return n.inputs[0];
    if (scalar_equals(n.inputs[0], want) && !graph_.is_constant(n.inputs[1])) return n.inputs[1];
    return "";
  }

  // value = Relu6(in): Clip(in, 0, 6), Min(Max(in, 0), 6) or Max(Min(in, 6), 0).
  bool relu6(const std::string& value, std::string& in) {
    const size_t mark = absorbed_.size();
    if (const Node* clip = absorbable(value, "Clip")) {
      const float inf = std::numeric_limits<float>::infinity();
      bool zero = clip->attr_f("min", -inf) == 0.f, six = clip->attr_f("max", inf) == 6.f;
      if (clip->inputs.size() > 1 && !clip->inputs[1].empty()) zero = scalar_equals(clip->inputs[1], 0.f);
      if (clip->inputs.size() > 2 && !clip->inputs[2].empty()) six = scalar_equals(clip->inputs[2], 6.f);
      if (zero && six && clip->inputs.size() <= 3 && !clip->inputs[0].empty()) {
        in = clip->inputs[0];
        return true;
      }
    }
    absorbed_.resize(mark);
    for (const auto& [outer, outer_c, inner, inner_c] :
         {std::make_tuple("Min", 6.f, "Max", 0.f), std::make_tuple("Max", 0.f, "Min", 6.f)}) {
      if (const Node* o = absorbable(value, outer)) {
        const std::string mid = other_than(*o, outer_c);
        if (!mid.empty())
          if (const Node* i = absorbable(mid, inner)) {
            in = other_than(*i, inner_c);
            if (!in.empty()) return true;
          }
      }
      absorbed_.resize(mark);
    }
    return false;
  }

  // value = x + 3.
  bool plus_three(const std::string& value, std::string& x) {
    const size_t mark = absorbed_.size();
    if (const Node* add = absorbable(value, "Add")) {
      x = other_than(*add, 3.f);
      if (!x.empty()) return true;
    }
    absorbed_.resize(mark);
    return false;
  }

  // node = v / 6 or v · (1/6): v.
  std::string over_six(const Node& node) const {
    if (node.op_type == "Div" && scalar_equals(node.inputs[1], 6.f) && !graph_.is_constant(node.inputs[0]))
      return node.inputs[0];
    if (node.op_type == "Mul") return other_than(node, kSixth);
    return "";
  }

  // node = Relu6(x + 3) / 6.
  bool hard_sigmoid_written_out(const Node& node, std::string& x) {
    const std::string v = over_six(node);
    std::string t;
    return !v.empty() && relu6(v, t) && plus_three(t, x);
  }

  // node = x · Relu6(x + 3) / 6 (the product first, as PyTorch and Paddle export it).
  bool hard_swish_written_out(const Node& node, std::string& x) {
    const std::string v = over_six(node);
    if (v.empty()) return false;
    const Node* mul = absorbable(v, "Mul");
    if (!mul || mul->inputs.size() != 2) return false;
    const size_t mark = absorbed_.size();
    for (int side = 0; side < 2; ++side) {
      std::string t, y;
      if (relu6(mul->inputs[side], t) && plus_three(t, y) && y == mul->inputs[1 - side]) {
        x = y;
        return true;
      }
      absorbed_.resize(mark);
    }
    return false;
  }

  // node = x · Sigmoid(x), or x · HardSigmoid(x) with HardSwish's alpha 1/6 and beta 0.5.
  bool times_gate_of_itself(const Node& node, std::string& x) {
    for (int side = 0; side < 2; ++side) {
      const std::string& gate = node.inputs[side];
      const std::string& other = node.inputs[1 - side];
      if (gate.empty() || other.empty() || gate == other) continue;
      const int p = index_.producer(gate);
      if (p < 0 || dead_[p]) continue;
      const Node& g = graph_.nodes[p];
      const bool hard = g.op_type == "HardSigmoid" && scalar_attr_equals(g, "alpha", 0.2f, kSixth) &&
                        g.attr_f("beta", 0.5f) == 0.5f;
      if ((g.op_type != "Sigmoid" && !hard) || g.inputs.size() != 1 || g.inputs[0] != other) continue;
      if (!absorbable(gate, g.op_type.c_str())) continue;
      x = other;
      return true;
    }
    return false;
  }

  // value = 1 + Erf(x / sqrt 2) (or x · 1/sqrt 2): x.
  bool one_plus_erf(const std::string& value, std::string& x) {
    const size_t mark = absorbed_.size();
    if (const Node* add = absorbable(value, "Add")) {
      const std::string e = other_than(*add, 1.f);
      if (!e.empty())
        if (const Node* erf = absorbable(e, "Erf")) {
          const std::string& u = erf->inputs[0];
          if (const Node* div = absorbable(u, "Div")) {
            if (div->inputs.size() == 2 && scalar_equals(div->inputs[1], kSqrt2) && !graph_.is_constant(div->inputs[0])) {
              x = div->inputs[0];
              return true;
            }
          } else if (const Node* mul = absorbable(u, "Mul")) {
            x = other_than(*mul, kInvSqrt2);
            if (!x.empty()) return true;
          }
        }
    }
    absorbed_.resize(mark);
    return false;
  }

  // node = x · (1 + erf(x / sqrt 2)) · 1/2, the three factors in the orders exporters write them:
  // (x · s) · 0.5 (PyTorch, Paddle), x · (s · 0.5), (x · 0.5) · s.
  bool gelu_written_out(const Node& node, std::string& x) {
    const size_t mark = absorbed_.size();
    const std::string m = other_than(node, 0.5f);
    if (!m.empty())
      if (const Node* mul = absorbable(m, "Mul"); mul && mul->inputs.size() == 2)
        for (int side = 0; side < 2; ++side) {
          const size_t inner = absorbed_.size();
          if (one_plus_erf(mul->inputs[side], x) && x == mul->inputs[1 - side]) return true;
          absorbed_.resize(inner);
        }
    absorbed_.resize(mark);
    for (int side = 0; side < 2; ++side) {
      const std::string& other = node.inputs[1 - side];
      if (const Node* half = absorbable(node.inputs[side], "Mul")) {
        const std::string w = other_than(*half, 0.5f);
        const size_t inner = absorbed_.size();
        if (!w.empty() && one_plus_erf(w, x) && x == other) return true;  // x · (s · 0.5)
        absorbed_.resize(inner);
        if (!w.empty() && one_plus_erf(other, x) && x == w) return true;  // (x · 0.5) · s
      }
      absorbed_.resize(mark);
    }
    return false;
  }

  static bool scalar_attr_equals(const Node& n, const char* key, float fallback, float want) {
    return std::fabs(n.attr_f(key, fallback) / want - 1.f) <= 1e-6f;
  }

  static void set_float(Node& node, const char* key, float value) {
    Attribute a;
    a.kind = Attribute::Kind::f;
    a.f = value;
    node.attributes[key] = a;
  }

  // `node` becomes op_type(x); the absorbed nodes go.
  void replace(Node& node, const char* op_type, const std::string& x) {
    for (const std::string& in : node.inputs) index_.remove_reader(in);
    for (int p : absorbed_) {
      for (const std::string& in : graph_.nodes[p].inputs) index_.remove_reader(in);
      for (const std::string& out : graph_.nodes[p].outputs) index_.forget(out);
      dead_[p] = true;
    }
    node.op_type = op_type;
    node.inputs = {x};
    node.attributes.clear();
    index_.add_reader(x);
  }

  Graph& graph_;
  GraphIndex index_;
  std::vector<bool> dead_;
  std::vector<int> absorbed_;  // the nodes the pattern being matched would remove
};

}  // namespace

int recognise_activation_patterns(Graph& graph) { return Matcher(graph).run(); }

}  // namespace edgequant::engine
