#include "graph/tensor.h"

#include "common/error.h"

namespace edgequant::engine {

const char* dtype_name(DType dtype) { return dtype == DType::f32 ? "float32" : "int64"; }

int64_t checked_numel(const Shape& shape, const std::string& context) {
  // Called on every tensor of every run: the messages are built only when a check fails.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw InvalidArgument(context + ": negative dimension in shape " + shape_string(shape));
    if (d != 0 && n > INT64_MAX / d) throw InvalidArgument(context + ": shape " + shape_string(shape) + " overflows");
    n *= d;
  }
  // Bound a single tensor to 2^34 elements (64 GiB of float32): larger is a malformed model.
  if (n > (int64_t{1} << 34)) throw InvalidArgument(context + ": shape " + shape_string(shape) + " is too large");
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor Tensor::zeros_f32(const Shape& shape, const std::string& context) {
  Tensor t;
  t.dtype = DType::f32;
  t.shape = shape;
  t.f32 = std::make_shared<std::vector<float>>(static_cast<size_t>(checked_numel(shape, context)));
  return t;
}

Tensor Tensor::zeros_i64(const Shape& shape, const std::string& context) {
  Tensor t;
  t.dtype = DType::i64;
  t.shape = shape;
  t.i64 = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(checked_numel(shape, context)));
  return t;
}

Tensor Tensor::from_i64(std::vector<int64_t> values) {
  Tensor t;
  t.dtype = DType::i64;
  t.shape = {static_cast<int64_t>(values.size())};
  t.i64 = std::make_shared<std::vector<int64_t>>(std::move(values));
  return t;
}

void Tensor::materialize_native() const {
  auto plain = std::make_shared<std::vector<float>>(static_cast<size_t>(checked_numel(shape, "tensor")));
  native->to_plain(plain->data());
  f32 = std::move(plain);
}

int64_t Tensor::numel() const { return checked_numel(shape, "tensor"); }

Tensor Tensor::reshaped(const Shape& new_shape) const {
  require(checked_numel(new_shape, "reshape") == numel(),
          [&] { return "cannot reshape " + shape_string(shape) + " to " + shape_string(new_shape); });
  Tensor t = *this;
  t.shape = new_shape;
  return t;
}

std::vector<int64_t> Tensor::as_i64() const {
  if (dtype == DType::i64) return *i64;
  const float* x = f();
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<int64_t>(x[k]);
  return out;
}

std::vector<float> Tensor::as_f32() const {
  if (dtype == DType::f32) {
    const float* x = f();
    return std::vector<float>(x, x + numel());
  }
  std::vector<float> out(i64->size());
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>((*i64)[k]);
  return out;
}

}  // namespace edgequant::engine
