// The ONNX quantization ops, on the engine's tensors (integers held as int64, their range noted by
// the loader as `_qmin` / `_qmax`, graph/qdq.h):
//   QuantizeLinear      q = clamp(round(x / s) + z, qmin, qmax)   (round half to even)
//   DequantizeLinear    x = (q − z) · s
//   QuantizeDequantize  both at once, float to float: a QuantizeLinear -> DequantizeLinear pair
//   DynamicQuantizeLinear  uint8 with s = (max(x, 0) − min(x, 0)) / 255, z = clamp(round(−min / s))
// s and z are per tensor (scalars) or one per index of `axis` (1-D). ±Inf saturate; a NaN quantizes
// to the zero point in QuantizeLinear and stays NaN through QuantizeDequantize.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/simd.h"
#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#elif defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EDGEQUANT_QUANTIZE_AVX512 1
#endif
#include "backend/code_map.h"
#include "backend/int8_support.h"
#include "graph/qdq.h"
#include "ops/grid_codes.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// round(t + z) clamped to [lo, hi], t = x / s, rounding half to even: t is first clamped to one past
// the range (NaN stays NaN), where adding 1.5·2^23 leaves no fraction bits, so the add and the
// subtract round as nearbyint does (in the default rounding mode) and, unlike nearbyint, vectorise.
EDGEQUANT_INLINE float rounded_code(float t, float z, float lo, float hi) {
  t = t < lo - z - 1.f ? lo - z - 1.f : t;
  t = t > hi - z + 1.f ? hi - z + 1.f : t;
  float q = (t + 12582912.f) - 12582912.f + z;
  q = q < lo ? lo : q;
  return q > hi ? hi : q;
}

// x -> s·(clamp(round(x / s) + z, lo, hi) − z) over one run of a channel, in float: every integer of
// an 8- or 16-bit range is exact there, and the loop vectorises per ISA (NaN stays NaN).
EDGEQUANT_KERNEL void quantize_dequantize_run(const float* in, float* out, int64_t n, float s, float z, float lo,
                                              float hi) {
  for (int64_t k = 0; k < n; ++k) out[k] = (rounded_code(in[k] / s, z, lo, hi) - z) * s;
}


// round(v) + z, clamped to [qmin, qmax]; v = x / s already divided (ONNX divides, not multiplies by 1/s).
inline int64_t quantize_value(float v, int64_t zero, const QuantizedRange& r) {
  if (std::isnan(v)) return std::clamp<int64_t>(zero, r.min, r.max);
  const double q = std::nearbyint(static_cast<double>(v)) + static_cast<double>(zero);
  return static_cast<int64_t>(std::clamp(q, static_cast<double>(r.min), static_cast<double>(r.max)));
}

class QuantizeOp : public Op {
 public:
  QuantizeOp(const Node& node, const Graph& graph) : Op(node), range_(quantized_range(node)) {
    const std::string& t = node.op_type;
    kind_ = t == "QuantizeLinear" ? Kind::quantize : t == "DequantizeLinear" ? Kind::dequantize : Kind::both;
    check(node.inputs.size() >= 2 && node.inputs.size() <= 3 && node.outputs.size() == 1, "expects 2-3 inputs, 1 output");
    check(node.attr_i("block_size", 0) == 0, "blocked quantization (block_size) is not supported");
    check(range_.min < range_.max, "the integer range of its type is empty");
    // Constant per-tensor 8-bit parameters: the grid the INT8 kernels can hold as u8 (z moved by
    // −qmin: int8's z + 128). The engine takes the same parameters as the tensor's quantization.
    const std::string zero = node.inputs.size() > 2 ? node.inputs[2] : "";
    const bool eight_bit = (range_.min == 0 && range_.max == 255) || (range_.min == -128 && range_.max == 127);
    if (kind_ == Kind::both && eight_bit && graph.is_constant(node.inputs[1]) &&
        (zero.empty() || graph.is_constant(zero))) {
      const Tensor& s = graph.initializers.at(node.inputs[1]);
      const Tensor* z = zero.empty() ? nullptr : &graph.initializers.at(zero);
      if (s.dtype == DType::f32 && s.numel() == 1 && s.f32 && (!z || (z->numel() == 1 && z->dtype == DType::i64))) {
        u8_scale_ = s.f()[0];
        u8_zero_ = static_cast<int32_t>((z ? z->i()[0] : 0) - range_.min);
        u8_grid_ = std::isfinite(u8_scale_) && u8_scale_ > 0;
      }
    }
  }

  // On the u8 grid: u8 data of the same grid passes through (a Conv before it then writes its
  // output already quantized, as ONNX Runtime's QLinearConv does), and where the static plan holds
  // its output as u8, other data (float, codes of another grid) is written as codes (its readers then
  // take them as they are, or dequantized: the same values).
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    if (!u8_grid_) return traits;
    traits.passes_u8 = true;
    traits.rounds_to_grid = true;
    traits.u8_inputs = {0};
    return traits;
  }
  void set_quantization(const QuantConfig& q) override {
    writes_codes_ = u8_grid_ && q.quantize_output && q.output_scale == u8_scale_ && q.output_zero_point == u8_zero_;
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    if (u8_grid_ && x.dtype == DType::u8 && x.quant.is_per_tensor(u8_scale_, u8_zero_)) {
      outputs[0] = ctx.pass_through(0, x);  // u8 codes already on this grid: rounding them again changes nothing
      return;
    }
    if (writes_codes_ && x.is_real() && write_codes(x, outputs[0])) return;
    const Tensor& scale = float_input(inputs, 1);
    const bool has_zero = inputs.size() > 2 && inputs[2] != nullptr;
    if (kind_ == Kind::dequantize) check(x.dtype == DType::i64, "input 0 must hold integers");
    else check(x.is_real(), "input 0 must be float");
    // Per tensor, or per index of `axis`: value k belongs to channel (k / inner) % channels.
    int64_t channels = 1, inner = 1;
    if (scale.rank() == 1 && scale.numel() != 1) {
      const int axis = axis_of(node_.attr_i("axis", 1), x.rank());
      channels = x.shape[axis];
      check(scale.numel() == channels, [&] { return std::to_string(scale.numel()) + " scales for " + std::to_string(channels) +
                                           " channels along axis " + std::to_string(axis); });
      for (int d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
    } else {
      check(scale.numel() == 1, "the scale must be a scalar or 1-D");
    }
    const float* s = scale.f();
    for (int64_t c = 0; c < channels; ++c)
      check(std::isfinite(s[c]) && (s[c] > 0 || kind_ == Kind::dequantize),
            [&] { return "scales must be finite and positive, got " + std::to_string(s[c]); });
    std::vector<int64_t> zero(channels, 0);
    if (has_zero) {
      const Tensor& z = *inputs[2];
      check(z.dtype == DType::i64 && z.numel() == channels, "the zero point must be an integer tensor shaped like the scale");
      for (int64_t c = 0; c < channels; ++c) {
        zero[c] = z.i()[c];
        check(zero[c] >= range_.min && zero[c] <= range_.max, [&] { return "zero point " + std::to_string(zero[c]) +
                                                                  " is outside its type's range"; });
      }
    }
    const int64_t n = x.numel();
    auto channel = [&](int64_t k) { return channels == 1 ? 0 : (k / inner) % channels; };
    if (kind_ == Kind::quantize) {
      outputs[0] = Tensor::zeros_i64(x.shape, description());
      const float* in = x.f();
      int64_t* out = outputs[0].i();
      for (int64_t k = 0; k < n; ++k) {
        const int64_t c = channel(k);
        out[k] = quantize_value(in[k] / s[c], zero[c], range_);
      }
      return;
    }
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    float* out = outputs[0].f();
    if (kind_ == Kind::dequantize) {
      const int64_t* in = x.i();
      for (int64_t k = 0; k < n; ++k) {
        const int64_t c = channel(k);
        out[k] = static_cast<float>(in[k] - zero[c]) * s[c];
      }
      return;
    }
    const float* in = x.f();
    const bool narrow = range_.min >= -65536 && range_.max <= 65536;
    const int64_t run = channels == 1 ? n : inner;  // values in a row with one (scale, zero point)
    for (int64_t c0 = 0; c0 < n; c0 += run) {
      const int64_t c = channel(c0), end = std::min(n, c0 + run);
      if (narrow) {
        quantize_dequantize_run(in + c0, out + c0, end - c0, s[c], static_cast<float>(zero[c]),
                                static_cast<float>(range_.min), static_cast<float>(range_.max));
        continue;
      }
      for (int64_t k = c0; k < end; ++k)
        out[k] = static_cast<float>(quantize_value(in[k] / s[c], zero[c], range_) - zero[c]) * s[c];
    }
  }

 private:
  // x as u8 codes of the grid (an int8 type's codes moved by 128). False, writing nothing, where x
  // holds a NaN: the pair keeps NaN as NaN, which no code holds.
  bool write_codes(const Tensor& x, Tensor& y) const {
    const QuantParams grid = QuantParams::per_tensor(u8_scale_, u8_zero_);
    if (x.dtype == DType::u8 && x.quant.single()) {
      // Codes of another grid: each of the 256 through the same float steps as below, once.
      uint8_t table[256];
      for (int q = 0; q < 256; ++q)
        table[q] = static_cast<uint8_t>(static_cast<int32_t>(rounded_code(
            x.quant.scales[0] * static_cast<float>(q - x.quant.zero_points[0]) / u8_scale_, static_cast<float>(u8_zero_), 0.f, 255.f)));
      if (Tensor kept = codes_mapped_in_layout(x, table, 1, u8_scale_, u8_zero_); kept.has_data()) {
        y = std::move(kept);
        return true;
      }
      Tensor codes = Tensor::quantized(DType::u8, x.shape, grid, description());
      if (x.native ? x.native->to_plain_codes(codes.u8()) : x.bytes != nullptr) {
        map_codes(x.native ? codes.u8() : x.u8(), codes.u8(), x.numel(), table);
        y = std::move(codes);
        return true;
      }
    }
    if (Tensor kept = quantized_in_layout(x, u8_scale_, u8_zero_); kept.has_data()) {  // same codes, same layout
      y = std::move(kept);
      return true;
    }
    Tensor codes = Tensor::quantized(DType::u8, x.shape, grid, description());
    if (!quantize_to_codes(x.f(), codes.u8(), x.numel(), u8_scale_, static_cast<float>(u8_zero_))) return false;
    y = std::move(codes);
    return true;
  }

  enum class Kind { quantize, dequantize, both } kind_;
  QuantizedRange range_;
  bool writes_codes_ = false;
  bool u8_grid_ = false;
  float u8_scale_ = 1;
  int32_t u8_zero_ = 0;
};

class DynamicQuantize : public Op {
 public:
  explicit DynamicQuantize(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 3, "expects 1 input, 3 outputs");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const int64_t n = x.numel();
    const float* in = x.f();
    uint32_t non_finite = 0;  // exponent bits all ones: NaN or Inf (an integer OR GCC vectorises)
    for (int64_t k = 0; k < n; ++k) {
      uint32_t bits;
      std::memcpy(&bits, in + k, sizeof bits);
      non_finite |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    check(!non_finite, "input holds NaN or Inf");
    float lo = 0, hi = 0;  // the range always holds 0
    range_of(in, n, lo, hi);
    const QuantizedRange u8{0, 255};
    const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const int64_t zero = quantize_value(-lo / scale, 0, u8);
    outputs[0] = Tensor::zeros_i64(x.shape, description());
    int64_t* out = outputs[0].i();
    for (int64_t k = 0; k < n; ++k) out[k] = quantize_value(in[k] / scale, zero, u8);
    outputs[1] = Tensor::zeros_f32({}, description());
    outputs[1].f()[0] = scale;
    outputs[2] = Tensor::from_i64({zero}).reshaped({});
  }
};

}  // namespace

namespace {

// The loop GCC vectorises per ISA (and a NEON body on aarch64). Same rounding as quantize_dequantize_run.
EDGEQUANT_KERNEL bool quantize_to_codes_loop(const float* in, uint8_t* out, int64_t n, float s, float z) {
  int32_t nan = 0;
  int64_t k = 0;
#if defined(__ARM_NEON) && defined(__aarch64__)
  // GCC's vectorisation of the loop below spent ~10 instructions per value on aarch64 (a model's
  // input pair: 0.28 M of VWW's 3.3 M). The same codes 16 values a step: FRINTN rounds half to
  // even as the magic-number add and subtract do, and needs no clamp before it (a value beyond
  // the grid stays beyond it and is clamped after; NaN lanes are reported, their codes unused).
  {
    const float32x4_t scale = vdupq_n_f32(s), zero = vdupq_n_f32(z);
    const float32x4_t q_lo = vdupq_n_f32(0.f), q_hi = vdupq_n_f32(255.f);
    uint32x4_t ordered = vdupq_n_u32(~0u);  // lanes stay all ones while no value is NaN
    auto code = [&](float32x4_t x) {
      ordered = vandq_u32(ordered, vceqq_f32(x, x));
      const float32x4_t t = vaddq_f32(vrndnq_f32(vdivq_f32(x, scale)), zero);
      return vcvtq_u32_f32(vminq_f32(vmaxq_f32(t, q_lo), q_hi));
    };
    for (; k + 16 <= n; k += 16) {
      const uint16x8_t lo = vcombine_u16(vmovn_u32(code(vld1q_f32(in + k))), vmovn_u32(code(vld1q_f32(in + k + 4))));
      const uint16x8_t hi = vcombine_u16(vmovn_u32(code(vld1q_f32(in + k + 8))), vmovn_u32(code(vld1q_f32(in + k + 12))));
      vst1q_u8(out + k, vcombine_u8(vmovn_u16(lo), vmovn_u16(hi)));
    }
    nan = vminvq_u32(ordered) == 0;
  }
#endif
  for (; k < n; ++k) {
    const float x = in[k];
    nan |= x != x;
    out[k] = static_cast<uint8_t>(static_cast<int32_t>(rounded_code(x / s, z, 0.f, 255.f)));
  }
  return nan == 0;
}

#ifdef EDGEQUANT_QUANTIZE_AVX512
// GCC 12 warns inside its own AVX-512 intrinsics (their "undefined" source operands, GCC bug 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 values a step: the division ONNX specifies, VRNDSCALEPS to the nearest integer (ties to even, as the
// loop's magic-number add rounds; a value past the grid stays past it and is clamped after), the clamp and
// a narrowing store. GCC's clone of the loop took ~2 cycles a value here (a model's input pair: 0.2 ms
// of yolo-fastestv2's quantized file).
__attribute__((target("avx512f"))) bool quantize_to_codes_avx512(const float* in, uint8_t* out, int64_t n, float s,
                                                                 float z) {
  const __m512 scale = _mm512_set1_ps(s), zero = _mm512_set1_ps(z);
  const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.f);
  __mmask16 nan = 0;
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512 x = _mm512_loadu_ps(in + k);
    nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __m512 t = _mm512_roundscale_ps(_mm512_div_ps(x, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(t, zero), lo), hi);  // a NaN lane: 0, unused
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q)));
  }
  return quantize_to_codes_loop(in + k, out + k, n - k, s, z) && nan == 0;
}
#pragma GCC diagnostic pop
#endif

}  // namespace

// ops/grid_codes.h.
bool quantize_to_codes(const float* in, uint8_t* out, int64_t n, float s, float z) {
#ifdef EDGEQUANT_QUANTIZE_AVX512
  if (cpu_has_avx512f()) return quantize_to_codes_avx512(in, out, n, s, z);
#endif
  return quantize_to_codes_loop(in, out, n, s, z);
}

std::unique_ptr<Op> make_quantize_linear(const Node& node, const Graph& graph) {
  return std::make_unique<QuantizeOp>(node, graph);
}
std::unique_ptr<Op> make_dynamic_quantize_linear(const Node& node, const Graph&) {
  return std::make_unique<DynamicQuantize>(node);
}

}  // namespace edgequant::engine
