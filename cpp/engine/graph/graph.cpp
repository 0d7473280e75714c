#include "graph/graph.h"

#include "common/error.h"

namespace edgequant::engine {

namespace {
const Attribute* find(const Node& node, const std::string& key, Attribute::Kind kind) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return nullptr;
  require(it->second.kind == kind, [&] { return node.describe() + ": attribute '" + key + "' has the wrong type"; });
  return &it->second;
}
}  // namespace

int64_t Node::attr_i(const std::string& key, int64_t fallback) const {
  const Attribute* a = find(*this, key, Attribute::Kind::i);
  return a ? a->i : fallback;
}
float Node::attr_f(const std::string& key, float fallback) const {
  const Attribute* a = find(*this, key, Attribute::Kind::f);
  return a ? a->f : fallback;
}
std::string Node::attr_s(const std::string& key, const std::string& fallback) const {
  const Attribute* a = find(*this, key, Attribute::Kind::s);
  return a ? a->s : fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const Attribute* a = find(*this, key, Attribute::Kind::ints);
  return a ? a->ints : fallback;
}

}  // namespace edgequant::engine
