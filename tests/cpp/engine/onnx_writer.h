// A minimal protobuf wire-format writer for ONNX models written byte by byte in tests (the
// generated ONNX classes are private to edgequant_engine): the loader's and the fuzzers' seeds.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "graph/tensor.h"

namespace edgequant::engine::test {

// One protobuf message: fields appended in order.
struct Message {
  std::string data;

  Message& varint(int field, uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  Message& bytes(int field, const std::string& s) {
    key(field, 2);
    put_varint(s.size());
    data += s;
    return *this;
  }
  Message& message(int field, const Message& m) { return bytes(field, m.data); }
  Message& fixed32(int field, float v) {
    key(field, 5);
    char raw[4];
    std::memcpy(raw, &v, 4);
    data.append(raw, 4);
    return *this;
  }

 private:
  void key(int field, int wire_type) { put_varint(static_cast<uint64_t>(field) << 3 | wire_type); }
  void put_varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) data += static_cast<char>((v & 0x7f) | 0x80);
    data += static_cast<char>(v);
  }
};

// --- ONNX messages (field numbers from onnx.proto) -----------------------------------------

enum : int { kFloat = 1, kInt64 = 7, kString = 8 };

inline std::string float_bytes(const std::vector<float>& values) {
  std::string s(values.size() * 4, '\0');
  if (!values.empty()) std::memcpy(&s[0], values.data(), s.size());  // data() may be null when empty
  return s;
}

// TensorProto: dims 1, data_type 2, float_data 4 (packed), name 8, raw_data 9.
inline Message tensor_proto(const std::string& name, const Shape& dims, const std::vector<float>& values, bool raw) {
  Message m;
  for (int64_t d : dims) m.varint(1, static_cast<uint64_t>(d));
  m.varint(2, kFloat);
  if (!name.empty()) m.bytes(8, name);
  if (raw) m.bytes(9, float_bytes(values));
  else m.bytes(4, float_bytes(values));
  return m;
}

// A float TensorProto whose data lies in a side file: external_data 13 { key 1, value 2 } (in
// the order given), data_location 14 = EXTERNAL.
inline Message external_tensor_proto(const std::string& name, const Shape& dims,
                                     const std::vector<std::pair<std::string, std::string>>& entries) {
  Message m;
  for (int64_t d : dims) m.varint(1, static_cast<uint64_t>(d));
  m.varint(2, kFloat);
  m.bytes(8, name);
  for (const auto& kv : entries) {
    Message entry;
    entry.bytes(1, kv.first).bytes(2, kv.second);
    m.message(13, entry);
  }
  m.varint(14, 1);
  return m;
}

// ValueInfoProto { name 1, type 2 { tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1 | dim_param 2 }}}}}
inline Message value_info(const std::string& name, const Shape& dims, int elem_type = kFloat) {
  Message shape;
  for (int64_t d : dims) {
    Message dim;
    if (d < 0) dim.bytes(2, "N");
    else dim.varint(1, static_cast<uint64_t>(d));
    shape.message(1, dim);
  }
  Message tensor_type;
  tensor_type.varint(1, static_cast<uint64_t>(elem_type)).message(2, shape);
  Message type;
  type.message(1, tensor_type);
  Message m;
  m.bytes(1, name).message(2, type);
  return m;
}

// AttributeProto: name 1, f 2, i 3, t 5, ints 8, type 20.
inline Message attr_ints_proto(const std::string& name, const std::vector<int64_t>& ints) {
  Message m;
  m.bytes(1, name).varint(20, 7);
  for (int64_t v : ints) m.varint(8, static_cast<uint64_t>(v));
  return m;
}
inline Message attr_tensor_proto(const std::string& name, const Message& tensor) {
  Message m;
  m.bytes(1, name).varint(20, 4).message(5, tensor);
  return m;
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
inline Message node_proto(const std::string& op, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                   const std::string& name = "", const std::vector<Message>& attributes = {}) {
  Message m;
  for (const auto& s : inputs) m.bytes(1, s);
  for (const auto& s : outputs) m.bytes(2, s);
  if (!name.empty()) m.bytes(3, name);
  m.bytes(4, op);
  for (const Message& a : attributes) m.message(5, a);
  return m;
}

// GraphProto: node 1, name 2, initializer 5, input 11, output 12.
struct GraphParts {
  std::vector<Message> nodes, initializers, inputs, outputs;
};

// ModelProto: ir_version 1, graph 7, opset_import 8 { domain 1, version 2 }. The graph is written
// last, so every strict prefix of the bytes lacks part of it.
inline std::string model_bytes(const GraphParts& parts, int64_t opset = 17) {
  Message graph;
  for (const Message& n : parts.nodes) graph.message(1, n);
  graph.bytes(2, "g");
  for (const Message& t : parts.initializers) graph.message(5, t);
  for (const Message& v : parts.inputs) graph.message(11, v);
  for (const Message& v : parts.outputs) graph.message(12, v);
  Message opset_id;
  opset_id.varint(2, static_cast<uint64_t>(opset));
  Message model;
  model.varint(1, 8).message(8, opset_id).message(7, graph);
  return model.data;
}

}  // namespace edgequant::engine::test
