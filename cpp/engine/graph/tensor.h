// A tensor of the engine: dense, row-major, float32 or int64 (int64 carries shapes and indices;
// every other ONNX float type is upcast to float32 at load time). Data is shared, so Reshape,
// Identity and Flatten are free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgequant::engine {

enum class DType { f32, i64 };
const char* dtype_name(DType dtype);

using Shape = std::vector<int64_t>;

// Product of dims; throws InvalidArgument(context ...) on a negative dim or on overflow.
int64_t checked_numel(const Shape& shape, const std::string& context);
std::string shape_string(const Shape& shape);

// A float32 tensor's data in a backend's own layout (e.g. oneDNN's blocked nChw16c), kept
// between consecutive backend primitives; converted to plain row-major only when read as such.
struct NativeData {
  virtual ~NativeData() = default;
  virtual void to_plain(float* dst) const = 0;
  // The plain data as rows of `row` elements written `row_stride` elements apart (a Concat writing
  // straight into its output); false where the backend cannot, and the caller copies.
  virtual bool to_plain_rows(float* /*dst*/, int64_t /*row*/, int64_t /*row_stride*/) const { return false; }
  // Whether the data is held as u8 codes of s·(q − z), and with which (s, z): a quantized model's
  // QuantizeDequantize with the same parameters passes such data on unchanged (ops/quantize_linear.cpp).
  virtual bool quantized_as(float& /*scale*/, int32_t& /*zero_point*/) const { return false; }
};

struct Tensor {
  DType dtype = DType::f32;
  Shape shape;
  // Plain data. For a tensor that lives in a backend layout (`native`), filled on first read.
  mutable std::shared_ptr<std::vector<float>> f32;
  std::shared_ptr<NativeData> native;
  // Plain float32 data borrowed from the caller (an input array, read only, alive for the run).
  const float* borrowed = nullptr;
  std::shared_ptr<std::vector<int64_t>> i64;
  // The same float32 data in a backend layout, converted by one of its readers for the readers
  // after it (a tensor two convs read, in a layout neither takes as it is): converted once per run.
  mutable std::shared_ptr<NativeData> converted;

  static Tensor zeros_f32(const Shape& shape, const std::string& context = "tensor");
  static Tensor zeros_i64(const Shape& shape, const std::string& context = "tensor");
  static Tensor from_i64(std::vector<int64_t> values);  // 1-D

  int64_t numel() const;
  int rank() const { return static_cast<int>(shape.size()); }
  float* f() {
    if (borrowed) return const_cast<float*>(borrowed);  // ops never write their inputs
    materialize();
    return f32->data();
  }
  const float* f() const {
    if (borrowed) return borrowed;
    materialize();
    return f32->data();
  }
  // Converts `native` data to plain (once); a no-op for plain tensors.
  void materialize() const {
    if (!f32 && native) materialize_native();
  }
  int64_t* i() { return i64->data(); }
  const int64_t* i() const { return i64->data(); }
  // Same data, another shape of the same element count.
  Tensor reshaped(const Shape& new_shape) const;
  // Values as int64 whatever the dtype (shape-like inputs: Reshape, Slice, Resize ...).
  std::vector<int64_t> as_i64() const;
  std::vector<float> as_f32() const;

 private:
  void materialize_native() const;
};

}  // namespace edgequant::engine
