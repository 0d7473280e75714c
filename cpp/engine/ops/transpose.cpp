// Transpose by 'perm' (default: reverse the axes); u8 codes move as codes (a quantized model's channel
// shuffle).
#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// An image's interleaved channels to planes (NHWC -> NCHW of an RGB or RGBA input, the Transpose a
// TFLite-derived model starts with): each pixel's C values to C planes, C fixed at compile time so
// that the loop vectorises (aarch64's LD3 / LD4). The strided copy below took ~5 instructions a value.
template <int C>
void channels_to_planes(const float* src, int64_t pixels, float* dst) {
  int64_t p = 0;
#if defined(__ARM_NEON) && defined(__aarch64__)
  // GCC's loop below took ~1 instruction a value on aarch64: LD3 / LD4 of 4 pixels, a store per plane
  for (; p + 4 <= pixels; p += 4) {
    if constexpr (C == 3) {
      const float32x4x3_t v = vld3q_f32(src + p * 3);
      vst1q_f32(dst + p, v.val[0]), vst1q_f32(dst + pixels + p, v.val[1]), vst1q_f32(dst + 2 * pixels + p, v.val[2]);
    } else {
      const float32x4x4_t v = vld4q_f32(src + p * 4);
      vst1q_f32(dst + p, v.val[0]), vst1q_f32(dst + pixels + p, v.val[1]), vst1q_f32(dst + 2 * pixels + p, v.val[2]);
      vst1q_f32(dst + 3 * pixels + p, v.val[3]);
    }
  }
#endif
  for (; p < pixels; ++p)
    for (int c = 0; c < C; ++c) dst[c * pixels + p] = src[p * C + c];
}

// The output as [outer, C, pixels] read from [outer, pixels, C] (ext / str: the merged output axes'
// extents and input strides); false where the transpose is not of that form.
bool planes(const std::vector<int64_t>& ext, const std::vector<int64_t>& str, size_t es, const char* src, char* dst) {
  const size_t m = ext.size();
  if (es != sizeof(float) || m < 2 || m > 3 || str[m - 2] != 1 || str[m - 1] != ext[m - 2]) return false;
  const int64_t c = ext[m - 2], pixels = ext[m - 1], outer = m == 3 ? ext[0] : 1;
  if ((c != 3 && c != 4) || (m == 3 && str[0] != c * pixels)) return false;
  for (int64_t n = 0; n < outer; ++n) {
    const float* s = reinterpret_cast<const float*>(src) + n * c * pixels;
    float* d = reinterpret_cast<float*>(dst) + n * c * pixels;
    if (c == 3) channels_to_planes<3>(s, pixels, d);
    else channels_to_planes<4>(s, pixels, d);
  }
  return true;
}

class Transpose : public Op {
 public:
  explicit Transpose(const Node& node) : Op(node), perm_(node.attr_ints("perm")) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;
    traits.u8_inputs = {0};
    return traits;
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    Tensor codes;
    const Tensor& x = plain_data(input(inputs, 0), codes, description());
    const int rank = x.rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty())
      for (int k = rank - 1; k >= 0; --k) perm.push_back(k);
    check(static_cast<int>(perm.size()) == rank, [&] { return "perm has " + std::to_string(perm.size()) + " entries for rank " +
                                                     std::to_string(rank); });
    std::vector<bool> seen(rank, false);
    Shape out(rank);
    for (int k = 0; k < rank; ++k) {
      const int p = axis_of(perm[k], rank);
      check(!seen[p], "perm is not a permutation");
      seen[p] = true;
      perm[k] = p;
      out[k] = x.shape[p];
    }
    // NHWC to NCHW of a plain float image: where the backend's own layout is NHWC, the values stay as they lie
    if (x.dtype == DType::f32 && !input(inputs, 0).native && perm == std::vector<int64_t>{0, 3, 1, 2})
      if (std::shared_ptr<NativeData> kept = ctx.backend.from_nhwc(x.f(), out)) {
        outputs[0] = Tensor{};
        outputs[0].dtype = DType::f32, outputs[0].shape = out, outputs[0].native = std::move(kept);
        return;
      }
    // every output value is written below: a float output's recycled buffer is not cleared first
    outputs[0] = x.dtype == DType::f32 ? Tensor::unspecified_f32(out, description()) : empty_as(x, out, description());
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    // By blocks: output axes as (extent, input stride), unit axes dropped and axes that stay
    // adjacent merged; when the innermost input axis stays innermost, whole runs are copied with
    // memcpy, else an inner strided loop.
    std::vector<int64_t> in_stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    std::vector<int64_t> ext, str;
    for (int k = 0; k < rank; ++k) {
      const int64_t e = out[k], s = in_stride[perm[k]];
      if (e == 1) continue;
      if (!ext.empty() && str.back() == s * e) {
        ext.back() *= e;
        str.back() = s;
      } else {
        ext.push_back(e);
        str.push_back(s);
      }
    }
    const size_t es = element_size(x);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    if (ext.empty()) {
      std::memcpy(dst, src, es);
      return;
    }
    if (planes(ext, str, es, src, dst)) return;
    const int m = static_cast<int>(ext.size());
    const int64_t inner = ext[m - 1], inner_stride = str[m - 1];
    std::vector<int64_t> index(m, 0);
    int64_t offset = 0;
    for (int64_t o = 0; o < total; o += inner) {
      if (inner_stride == 1) {
        std::memcpy(dst + o * es, src + offset * es, inner * es);
      } else if (es == sizeof(float)) {
        const float* s = reinterpret_cast<const float*>(src) + offset;
        float* d = reinterpret_cast<float*>(dst) + o;
        for (int64_t j = 0; j < inner; ++j) d[j] = s[j * inner_stride];
      } else if (es == 1) {
        const char* s = src + offset;
        char* d = dst + o;
        for (int64_t j = 0; j < inner; ++j) d[j] = s[j * inner_stride];
      } else {
        const int64_t* s = reinterpret_cast<const int64_t*>(src) + offset;
        int64_t* d = reinterpret_cast<int64_t*>(dst) + o;
        for (int64_t j = 0; j < inner; ++j) d[j] = s[j * inner_stride];
      }
      for (int k = m - 2; k >= 0; --k) {  // odometer over the outer axes, tracking the offset
        offset += str[k];
        if (++index[k] < ext[k]) break;
        offset -= str[k] * ext[k];
        index[k] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> perm_;
};

}  // namespace

std::unique_ptr<Op> make_transpose(const Node& node, const Graph&) { return std::make_unique<Transpose>(node); }

}  // namespace edgequant::engine
