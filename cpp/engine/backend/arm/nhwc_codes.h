// The ARM backend's own form of a quantized activation: NHWC s8 codes q − 128 of the engine's u8
// grid x = s·(q − z) (backend/int8_support.h). A static INT8 conv whose readers all take u8 writes
// its output this way and the next INT8 conv takes the rows as they are — SDOT multiplies s8 by
// s8, the pixel's channels are one contiguous row of its GEMM — with no transpose and no float
// pass in between. The engine sees a u8 tensor (Tensor::quant); a float reader gets NCHW float
// values through to_plain().
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/arm/scratch.h"
#include "backend/code_map.h"
#include "graph/tensor.h"

namespace edgequant::engine::arm {

class NhwcCodes : public NativeData {
 public:
  // Codes of n images of c channels, h × w pixels (the tensor's NCHW shape), on the grid (scale, zero_point).
  NhwcCodes(const Shape& nchw, float scale, int32_t zero_point)
      : n(nchw[0]), c(nchw[1]), h(nchw[2]), w(nchw[3]), scale(scale), zero_point(zero_point),
        codes(n * c * h * w + kSlack) {
    std::memset(codes.data() + n * c * h * w, 0, kSlack);
  }
  // Bytes readable past the last code (zeros): a GEMM reads a pointwise layer's rows in whole
  // 16-byte steps (the bytes past a row meet zero weights).
  static constexpr int64_t kSlack = 16;

  // x = s·(q − z), NCHW.
  void to_plain(float* dst) const override {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < h * w; ++p) {
        const int8_t* pixel = codes.data() + (i * h * w + p) * c;
        for (int64_t ch = 0; ch < c; ++ch)
          dst[(i * c + ch) * h * w + p] = scale * static_cast<float>(pixel[ch] + 128 - zero_point);
      }
  }
  bool to_plain_codes(uint8_t* dst) const override {  // the u8 codes q, NCHW
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < h * w; ++p) {
        const int8_t* pixel = codes.data() + (i * h * w + p) * c;
        for (int64_t ch = 0; ch < c; ++ch) dst[(i * c + ch) * h * w + p] = static_cast<uint8_t>(pixel[ch] + 128);
      }
    return true;
  }
  // The same NHWC layout with each u8 code q replaced by its channel's table entry (stored, as every code
  // here, as q − 128).
  std::shared_ptr<NativeData> with_codes_mapped(const uint8_t* tables, int64_t channels, float s,
                                                int32_t z) const override {
    if (channels != 1 && channels != c) return nullptr;
    std::vector<uint8_t> stored(static_cast<size_t>(256 * channels));  // by stored byte b = q − 128 (as u8: q ^ 0x80)
    for (int64_t t = 0; t < channels; ++t)
      for (int b = 0; b < 256; ++b) stored[t * 256 + b] = static_cast<uint8_t>(tables[t * 256 + (b ^ 0x80)] ^ 0x80);
    auto copy = std::make_shared<NhwcCodes>(Shape{n, c, h, w}, s, z);
    const auto* in = reinterpret_cast<const uint8_t*>(codes.data());
    auto* out = reinterpret_cast<uint8_t*>(copy->codes.data());
    if (channels == 1) {
      map_codes(in, out, n * c * h * w, stored.data());
    } else {
      map_codes_by_channel(in, out, n * h * w, c, stored.data());
    }
    return copy;
  }
  bool on_grid(float s, int32_t z) const { return s == scale && z == zero_point; }
  int8_t* data() { return codes.data(); }
  const int8_t* data() const { return codes.data(); }

  const int64_t n, c, h, w;
  const float scale;
  const int32_t zero_point;

 private:
  Scratch<int8_t> codes;  // every code written by the kernel that makes the tensor (not the slack)
};

// The engine's u8 tensor over `data` (shape NCHW as the graph sees it).
inline Tensor codes_tensor(const Shape& shape, std::shared_ptr<NhwcCodes> data) {
  Tensor t;
  t.dtype = DType::u8;
  t.shape = shape;
  t.quant = QuantParams::per_tensor(data->scale, data->zero_point);
  t.native = std::move(data);
  return t;
}

// The tensor's NHWC codes when it holds them for `shape` (not reshaped since), else nullptr.
inline const NhwcCodes* nhwc_codes(const Tensor& t) {
  const auto* codes = dynamic_cast<const NhwcCodes*>(t.native.get());
  if (!codes || t.rank() != 4 || t.shape[0] != codes->n || t.shape[1] != codes->c || t.shape[2] != codes->h ||
      t.shape[3] != codes->w)
    return nullptr;
  return codes;
}

}  // namespace edgequant::engine::arm
