// Each output pixel-vector (a block of 16 or 8 channels, or NHWC's whole pixel) is gathered and
// written in order. With AVX-512 a float32 block of 16 is a few permutes per pixel: two source
// blocks by one two-source permute (vpermt2ps), each further one by a masked permute (a shuffle's
// half of ShuffleNetV2's 58 channels draws on three); masked gathers were ~3x slower here. Other
// blocks (8-channel blocks, NHWC, u8 codes) take a loop over their lanes.
#include "backend/onednn/channel_gather.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "common/simd.h"

namespace edgequant::engine::onednn {
namespace {

struct Lane {
  int64_t input = -1;  // -1: a padding lane (zero)
  int64_t offset = 0;  // elements from the input's pixel 0 of image 0
};

struct Plan {
  int64_t images, pixels, out_blocks, out_inner;
  std::vector<Lane> lanes;            // out_blocks * out_inner
  std::vector<const char*> data;      // per input
  std::vector<int64_t> inner, image;  // per input: elements per pixel-vector and per image
};

// u8 pixels of `step` bytes to pixels of `lanes` bytes, out[l] = in[offset[l]] (NHWC codes, one input):
// each run of 64 output lanes whose sources lie within 128 bytes is one two-source byte permute per
// pixel (a shuffle's half takes every other channel). False, writing nothing, where a run's sources
// spread wider.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) bool permute_pixels(const uint8_t* in, int64_t step,
                                                                            int64_t pixels, const int64_t* offset,
                                                                            int64_t lanes, uint8_t* out) {
  struct Run {
    int64_t from;
    __mmask64 low, high, store;
    uint8_t index[64];
  };
  std::vector<Run> runs;
  for (int64_t l0 = 0; l0 < lanes; l0 += 64) {
    const int64_t count = std::min<int64_t>(64, lanes - l0);
    int64_t lo = offset[l0], hi = offset[l0];
    for (int64_t l = l0; l < l0 + count; ++l) lo = std::min(lo, offset[l]), hi = std::max(hi, offset[l]);
    if (hi - lo >= 128) return false;
    // loads that stay inside the pixel: the last pixel's bytes end the buffer
    const int64_t avail = std::min<int64_t>(128, step - lo);
    auto mask = [](int64_t n) { return n >= 64 ? ~__mmask64{0} : n <= 0 ? __mmask64{0} : (__mmask64{1} << n) - 1; };
    Run run{lo, mask(avail), mask(avail - 64), mask(count), {}};
    for (int64_t l = 0; l < count; ++l) run.index[l] = static_cast<uint8_t>(offset[l0 + l] - lo);
    runs.push_back(run);
  }
  for (int64_t p = 0; p < pixels; ++p, in += step, out += lanes)
    for (size_t r = 0, l0 = 0; r < runs.size(); ++r, l0 += 64) {
      const Run& run = runs[r];
      const __m512i a = _mm512_maskz_loadu_epi8(run.low, in + run.from);
      const __m512i b = _mm512_maskz_loadu_epi8(run.high, in + run.from + 64);
      _mm512_mask_storeu_epi8(out + l0, run.store, _mm512_permutex2var_epi8(a, _mm512_loadu_si512(run.index), b));
    }
  return true;
}

template <class T>
void gather_lanes(const Plan& plan, int64_t n, int64_t b, T* out) {
  const Lane* lanes = plan.lanes.data() + b * plan.out_inner;
  bool one_input = true;  // every lane from one input (a shuffle's half in NHWC u8 codes): offsets only
  for (int64_t l = 0; l < plan.out_inner; ++l) one_input = one_input && lanes[l].input == lanes[0].input;
  if (one_input && lanes[0].input >= 0) {
    std::vector<int64_t> offset(static_cast<size_t>(plan.out_inner));
    for (int64_t l = 0; l < plan.out_inner; ++l) offset[l] = lanes[l].offset;
    const T* in = reinterpret_cast<const T*>(plan.data[lanes[0].input]) + n * plan.image[lanes[0].input];
    const int64_t step = plan.inner[lanes[0].input];
    if constexpr (sizeof(T) == 1) {
      if (cpu_has_avx512vbmi() && permute_pixels(reinterpret_cast<const uint8_t*>(in), step, plan.pixels, offset.data(),
                                       plan.out_inner, reinterpret_cast<uint8_t*>(out)))
        return;
    }
    for (int64_t p = 0; p < plan.pixels; ++p, in += step, out += plan.out_inner)
      for (int64_t l = 0; l < plan.out_inner; ++l) out[l] = in[offset[l]];
    return;
  }
  for (int64_t p = 0; p < plan.pixels; ++p, out += plan.out_inner)
    for (int64_t l = 0; l < plan.out_inner; ++l) {
      const Lane& lane = lanes[l];
      out[l] = lane.input < 0 ? T(0)
                              : reinterpret_cast<const T*>(plan.data[lane.input])[n * plan.image[lane.input] +
                                                                                   p * plan.inner[lane.input] +
                                                                                   lane.offset];
    }
}

// An output block of 16 lanes drawn from input blocks of 16 (each lane from one of them, the lanes
// outside every mask zero): the first two merge by one two-source permute, each further block by a
// masked one-source permute.
struct SourceBlock {
  int64_t input, offset;  // the block's pixel 0 in image 0
  uint16_t mask = 0;      // the output lanes it gives
  int32_t index[16] = {};  // per output lane: its lane in this block (+16 for the second block)
};

// The source blocks of output block b, or none where an input is not in blocks of 16.
std::vector<SourceBlock> source_blocks(const Plan& plan, int64_t b) {
  std::vector<SourceBlock> blocks;
  for (int64_t l = 0; l < 16; ++l) {
    const Lane& lane = plan.lanes[b * 16 + l];
    if (lane.input < 0) continue;
    if (plan.inner[lane.input] != 16) return {};
    const int64_t start = lane.offset - lane.offset % 16;
    size_t s = 0;
    while (s < blocks.size() && !(blocks[s].input == lane.input && blocks[s].offset == start)) ++s;
    if (s == blocks.size()) blocks.push_back({lane.input, start});
    blocks[s].mask |= static_cast<uint16_t>(1u << l);
    blocks[s].index[l] = static_cast<int32_t>(lane.offset % 16 + (s == 1 ? 16 : 0));
  }
  if (blocks.size() >= 2)  // the pair's permute reads both blocks' lanes from one index
    for (int64_t l = 0; l < 16; ++l)
      if (blocks[1].mask >> l & 1u) blocks[0].index[l] = blocks[1].index[l];
  return blocks;
}

__attribute__((target("avx512f"))) void permute_blocks(const Plan& plan, const std::vector<SourceBlock>& blocks,
                                                       int64_t n, float* out) {
  auto base = [&](const SourceBlock& s) {
    return reinterpret_cast<const float*>(plan.data[s.input]) + n * plan.image[s.input] + s.offset;
  };
  const SourceBlock& first = blocks[0];
  const SourceBlock& second = blocks.size() > 1 ? blocks[1] : blocks[0];
  const float* a = base(first);
  const float* b = base(second);
  const __m512i pair_index = _mm512_loadu_si512(first.index);
  const __mmask16 pair_mask = static_cast<__mmask16>(first.mask | (blocks.size() > 1 ? second.mask : 0));
  for (int64_t p = 0; p < plan.pixels; ++p, out += 16) {
    __m512 v = _mm512_maskz_permutex2var_ps(pair_mask, _mm512_loadu_ps(a + p * 16), pair_index,
                                            _mm512_loadu_ps(b + p * 16));
    for (size_t s = 2; s < blocks.size(); ++s)
      v = _mm512_mask_permutexvar_ps(v, static_cast<__mmask16>(blocks[s].mask), _mm512_loadu_si512(blocks[s].index),
                                     _mm512_loadu_ps(base(blocks[s]) + p * 16));
    _mm512_storeu_ps(out, v);
  }
}

template <class T>
void gather(const Plan& plan, T* dst) {
  const bool avx512 = cpu_has_avx512f();
  std::vector<std::vector<SourceBlock>> fast(static_cast<size_t>(plan.out_blocks));
  if (sizeof(T) == 4 && plan.out_inner == 16 && avx512)
    for (int64_t b = 0; b < plan.out_blocks; ++b) fast[b] = source_blocks(plan, b);
  for (int64_t n = 0; n < plan.images; ++n)
    for (int64_t b = 0; b < plan.out_blocks; ++b) {
      T* out = dst + (n * plan.out_blocks + b) * plan.pixels * plan.out_inner;
      if constexpr (sizeof(T) == 4) {
        if (!fast[b].empty()) {
          permute_blocks(plan, fast[b], n, reinterpret_cast<float*>(out));
          continue;
        }
      }
      gather_lanes(plan, n, b, out);
    }
}

}  // namespace

std::shared_ptr<DnnlNative> gather_channels(const DnnlContext& ctx, const std::vector<const DnnlNative*>& inputs,
                                            const std::vector<ChannelSource>& sources, const Shape& shape) {
  if (inputs.empty() || sources.empty()) return nullptr;
  const memory::desc& first = inputs[0]->desc();
  const dt type = first.get_data_type();
  const size_t element = memory::data_type_size(type);
  const std::optional<tag> layout = layout_tag(first);
  const memory::dims dims = first.get_dims();
  if (!layout || *layout == tag::nchw || (element != 4 && element != 1) ||
      dims != memory::dims(shape.begin(), shape.end()))
    return nullptr;
  Plan plan;
  std::vector<int64_t> input_channels;
  plan.images = dims[0];
  plan.pixels = dims[2] * dims[3];
  for (const DnnlNative* input : inputs) {
    const memory::desc& d = input->desc();
    const std::optional<int64_t> inner = pixel_vector_width(d);
    const memory::dims in = d.get_dims();
    if (!inner || d.get_data_type() != type || in[0] != dims[0] || in[2] != dims[2] || in[3] != dims[3] ||
        input->scale() != inputs[0]->scale() || input->zero_point() != inputs[0]->zero_point())
      return nullptr;
    plan.data.push_back(static_cast<const char*>(input->mem().get_data_handle()));
    input_channels.push_back(in[1]);
    plan.inner.push_back(*inner);
    plan.image.push_back((in[1] + *inner - 1) / *inner * plan.pixels * *inner);
  }
  const int64_t channels = static_cast<int64_t>(sources.size());
  plan.out_inner = *layout == tag::nhwc ? channels : plan.inner[0];
  plan.out_blocks = (channels + plan.out_inner - 1) / plan.out_inner;
  plan.lanes.assign(static_cast<size_t>(plan.out_blocks * plan.out_inner), Lane{});
  for (int64_t c = 0; c < channels; ++c) {
    const ChannelSource& from = sources[c];
    if (from.input >= inputs.size() || from.channel < 0 || from.channel >= input_channels[from.input]) return nullptr;
    const int64_t inner = plan.inner[from.input];
    plan.lanes[c] = {static_cast<int64_t>(from.input), from.channel / inner * plan.pixels * inner + from.channel % inner};
  }
  const memory::dims out{dims[0], channels, dims[2], dims[3]};
  auto result = std::make_shared<DnnlNative>(ctx, memory::desc(out, type, *layout), memory::desc(out, dt::f32, tag::nchw),
                                             inputs[0]->scale(), inputs[0]->zero_point());
  if (element == 4)
    gather(plan, static_cast<float*>(result->mem().get_data_handle()));
  else
    gather(plan, static_cast<uint8_t*>(result->mem().get_data_handle()));
  return result;
}

}  // namespace edgequant::engine::onednn
