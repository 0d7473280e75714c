// A tensor of the engine: dense, row-major, float32 or int64 (int64 carries shapes and indices;
// every other ONNX float type is upcast to float32 at load time), or quantized: u8 / s8 / i32
// codes with the (scale, zero point) that make them real values, x = s·(q − z) (quant/affine.h),
// per tensor or per channel. Quantized tensors are what a static INT8 plan passes between its
// layers (graph/int8_plan.h); an op that reads one as float gets its values dequantized once
// (Tensor::f()), so only the ops that declare u8 inputs need to know the codes. Data is shared, so
// Reshape, Identity and Flatten are free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgequant::engine {

enum class DType { f32, i64, u8, s8, i32 };
const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);  // bytes per element

// How a quantized tensor's codes read as real values: x = scales[c]·(q − zero_points[c]), with c
// the index along `axis` (per channel), or one pair for the whole tensor (axis −1).
struct QuantParams {
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int axis = -1;

  static QuantParams per_tensor(float scale, int32_t zero_point) { return {{scale}, {zero_point}, -1}; }
  bool empty() const { return scales.empty(); }
  bool single() const { return scales.size() == 1 && axis < 0; }  // one pair for the whole tensor
  bool is_per_tensor(float scale, int32_t zero_point) const {
    return scales.size() == 1 && axis < 0 && scales[0] == scale && zero_points[0] == zero_point;
  }
  bool operator==(const QuantParams& o) const {
    return scales == o.scales && zero_points == o.zero_points && axis == o.axis;
  }
  bool operator!=(const QuantParams& o) const { return !(*this == o); }
};

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
  // u8 codes: the codes themselves in plain row-major order; false where the backend has none.
  virtual bool to_plain_codes(uint8_t* /*dst*/) const { return false; }
  // u8 codes: a copy in the same layout with every code q replaced by its channel's table (tables[256·c + q],
  // c the index along axis 1; `channels` = 1: one table for every code), read through (scale, zero_point):
  // a pair or a code table moving codes to their grid with no detour through plain order. Null where the
  // backend has no such copy (or cannot tell a code's channel in its layout).
  virtual std::shared_ptr<NativeData> with_codes_mapped(const uint8_t* /*tables*/, int64_t /*channels*/,
                                                        float /*scale*/, int32_t /*zero_point*/) const {
    return nullptr;
  }
  // Float data: its values as the u8 codes of the grid (scale, zero_point), rounded as QuantizeLinear
  // rounds them, kept in the same layout (a pair quantizing a backend's float tensor with no detour
  // through plain order). Null where the backend has no such copy or a value is NaN.
  virtual std::shared_ptr<NativeData> quantized(float /*scale*/, int32_t /*zero_point*/) const { return nullptr; }
  // How the data lies, for diagnostics and tests (oneDNN: "nChw16c", "nhwc" ...).
  virtual std::string layout() const { return "native"; }
};

struct Tensor {
  DType dtype = DType::f32;
  Shape shape;
  // Plain float32 data. For a tensor that lives in a backend layout (`native`) or holds quantized
  // codes, its real values, filled on first read as float (f()).
  mutable std::shared_ptr<std::vector<float>> f32;
  std::shared_ptr<NativeData> native;
  // Plain float32 data borrowed from the caller (an input array, read only, alive for the run).
  const float* borrowed = nullptr;
  std::shared_ptr<std::vector<int64_t>> i64;
  // u8 / s8 codes (s8 stored as their bytes) and i32 values, plain row-major; a quantized tensor in
  // a backend layout has `native` instead. `quant`: how they read as real values.
  std::shared_ptr<std::vector<uint8_t>> bytes;
  std::shared_ptr<std::vector<int32_t>> i32;
  QuantParams quant;
  // The same float32 data in a backend layout, converted by one of its readers for the readers
  // after it (a tensor two convs read, in a layout neither takes as it is): converted once per run.
  mutable std::shared_ptr<NativeData> converted;

  static Tensor zeros_f32(const Shape& shape, const std::string& context = "tensor");
  // A float32 tensor whose values are unspecified (a recycled buffer's): for an op that writes every one.
  static Tensor unspecified_f32(const Shape& shape, const std::string& context = "tensor");
  static Tensor zeros_i64(const Shape& shape, const std::string& context = "tensor");
  static Tensor from_i64(std::vector<int64_t> values);  // 1-D
  // Plain u8 / s8 codes (zeros) read through `quant`.
  static Tensor quantized(DType dtype, const Shape& shape, QuantParams quant, const std::string& context = "tensor");

  int64_t numel() const;
  // Integer codes with the parameters that make them real values.
  bool is_quantized() const { return (dtype == DType::u8 || dtype == DType::s8 || dtype == DType::i32) && !quant.empty(); }
  // Values that read as float32 through f(): float32 data, or quantized codes.
  bool is_real() const { return dtype == DType::f32 || is_quantized(); }
  // Plain u8 codes of x = scale·(q − zero_point), per tensor: what an INT8 kernel of that grid takes
  // as it is. False for other data (float, another grid, a backend layout).
  bool holds_u8(float scale, int32_t zero_point) const {
    return dtype == DType::u8 && bytes && !native && quant.is_per_tensor(scale, zero_point);
  }
  uint8_t* u8() { return bytes->data(); }
  const uint8_t* u8() const { return bytes->data(); }
  int8_t* s8() { return reinterpret_cast<int8_t*>(bytes->data()); }
  const int8_t* s8() const { return reinterpret_cast<const int8_t*>(bytes->data()); }
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
  // Converts `native` data or quantized codes to plain float32 values (once); a no-op for plain
  // float tensors.
  void materialize() const {
    if (!f32 && !borrowed && (native || is_quantized())) materialize_native();
  }
  // The same values as a float32 tensor (dequantized; plain float tensors are returned as they are).
  Tensor as_float() const;
  int64_t* i() { return i64->data(); }
  const int64_t* i() const { return i64->data(); }
  // Same data, another shape of the same element count.
  Tensor reshaped(const Shape& new_shape) const;
  // Values as int64 whatever the dtype (shape-like inputs: Reshape, Slice, Resize ...).
  std::vector<int64_t> as_i64() const;
  std::vector<float> as_f32() const;
  // Whether data was computed (any storage present).
  bool has_data() const { return f32 || native || borrowed || i64 || bytes || i32; }

 private:
  void materialize_native() const;
};

}  // namespace edgequant::engine
