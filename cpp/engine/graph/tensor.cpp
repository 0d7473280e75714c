#include "graph/tensor.h"

#include "common/error.h"
#include "graph/float_buffer_pool.h"

namespace edgequant::engine {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::s8: return "int8";
    case DType::i32: return "int32";
  }
  return "unknown";
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::u8:
    case DType::s8: return 1;
    case DType::f32:
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

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

namespace {
// From the running session's pool (graph/float_buffer_pool.h) when the tensor is large enough.
std::shared_ptr<std::vector<float>> float_zeros(size_t n, bool zeroed = true) {
  FloatBufferPool* pool = FloatBufferPool::current();
  if (pool && n >= FloatBufferPool::kMinFloats) return zeroed ? pool->zeros(n) : pool->unspecified(n);
  return std::make_shared<std::vector<float>>(n);
}
}  // namespace

Tensor Tensor::zeros_f32(const Shape& shape, const std::string& context) {
  Tensor t;
  t.dtype = DType::f32;
  t.shape = shape;
  t.f32 = float_zeros(static_cast<size_t>(checked_numel(shape, context)));
  return t;
}

Tensor Tensor::unspecified_f32(const Shape& shape, const std::string& context) {
  Tensor t;
  t.dtype = DType::f32;
  t.shape = shape;
  t.f32 = float_zeros(static_cast<size_t>(checked_numel(shape, context)), false);
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

Tensor Tensor::quantized(DType dtype, const Shape& shape, QuantParams quant, const std::string& context) {
  require(dtype == DType::u8 || dtype == DType::s8, context + ": quantized tensors hold u8 or s8 codes here");
  require(!quant.empty() && quant.scales.size() == quant.zero_points.size(),
          context + ": a quantized tensor needs its scales and zero points");
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.bytes = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(checked_numel(shape, context)));
  t.quant = std::move(quant);
  return t;
}

namespace {
// x = s·(q − z) per element, with the channel of element k along quant.axis (per tensor: one).
template <class Code>
void dequantize(const Code* q, const Shape& shape, const QuantParams& quant, float* dst) {
  int64_t n = 1, inner = 1, channels = 1;
  for (int64_t d : shape) n *= d;
  if (quant.axis >= 0 && quant.scales.size() > 1) {
    require(quant.axis < static_cast<int>(shape.size()) && shape[quant.axis] == static_cast<int64_t>(quant.scales.size()),
            "tensor: per-channel parameters do not match the shape " + shape_string(shape));
    channels = shape[quant.axis];
    for (size_t d = quant.axis + 1; d < shape.size(); ++d) inner *= shape[d];
  }
  for (int64_t k = 0; k < n; ++k) {
    const size_t c = channels == 1 ? 0 : static_cast<size_t>((k / inner) % channels);
    dst[k] = quant.scales[c] * static_cast<float>(static_cast<int32_t>(q[k]) - quant.zero_points[c]);
  }
}
}  // namespace

void Tensor::materialize_native() const {
  auto plain = float_zeros(static_cast<size_t>(checked_numel(shape, "tensor")));
  if (native) {
    native->to_plain(plain->data());
  } else if (dtype == DType::u8) {
    dequantize(bytes->data(), shape, quant, plain->data());
  } else if (dtype == DType::s8) {
    dequantize(reinterpret_cast<const int8_t*>(bytes->data()), shape, quant, plain->data());
  } else {
    dequantize(i32->data(), shape, quant, plain->data());
  }
  f32 = std::move(plain);
}

Tensor Tensor::as_float() const {
  if (dtype == DType::f32) return *this;
  require(is_quantized(), std::string("tensor: ") + dtype_name(dtype) + " data without a scale does not read as float");
  materialize();
  Tensor t;
  t.shape = shape;
  t.f32 = f32;  // the values dequantized once, shared (readers never write their inputs)
  return t;
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
  if (!is_quantized() && (dtype == DType::u8 || dtype == DType::s8 || dtype == DType::i32)) {
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    for (size_t k = 0; k < out.size(); ++k)
      out[k] = dtype == DType::u8 ? u8()[k] : dtype == DType::s8 ? s8()[k] : (*i32)[k];
    return out;
  }
  const float* x = f();
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<int64_t>(x[k]);
  return out;
}

std::vector<float> Tensor::as_f32() const {
  if (is_real()) {
    const float* x = f();
    return std::vector<float>(x, x + numel());
  }
  const std::vector<int64_t> values = as_i64();
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace edgequant::engine
