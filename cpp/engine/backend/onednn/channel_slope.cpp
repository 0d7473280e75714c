// PRelu with a slope per channel on a float32 tensor in one of the layouts conv outputs take
// ([N][blocks][H][W][width]: nChw16c, nChw8c, NHWC), written in the same layout. Made plain, the
// PRelu cost a reorder out and the pool or conv after it a reorder back (MTCNN's O-Net: 0.24 ms of
// its 0.79 for the first PReLU).
#include "backend/onednn/dnnl_common.h"
#include "common/simd.h"

namespace edgequant::engine::onednn {
namespace {

// One block's plane: `pixels` vectors of `width` channels, slope a[j] for channel j of the vector.
EDGEQUANT_KERNEL void slope_plane(const float* x, const float* a, int64_t pixels, int64_t width, float* y) {
  for (int64_t p = 0; p < pixels; ++p, x += width, y += width)
    for (int64_t j = 0; j < width; ++j) y[j] = x[j] < 0 ? a[j] * x[j] : x[j];
}

class DnnlChannelSlope : public ChannelSlopeKernel {
 public:
  explicit DnnlChannelSlope(const DnnlContext& ctx) : ctx_(ctx) {}

  bool run(const Tensor& src, const std::vector<float>& slopes, Tensor& y) override {
    if (src.rank() != 4 || static_cast<int64_t>(slopes.size()) != src.shape[1]) return false;
    const memory::dims dims(src.shape.begin(), src.shape.end());
    const DnnlNative* x = native_f32(src, dims);
    if (!x || x->quantized()) return false;
    const memory::desc& desc = x->desc();
    const std::optional<int64_t> width = pixel_vector_width(desc);
    if (!width) return false;
    const int64_t channels = src.shape[1], blocks = (channels + *width - 1) / *width;
    const int64_t pixels = src.shape[2] * src.shape[3];
    if (static_cast<int64_t>(desc.get_size()) != src.shape[0] * blocks * pixels * *width * 4) return false;
    // The slopes laid out as one block's vectors; channels past C (a blocked layout's padding) get 0.
    padded_.assign(static_cast<size_t>(blocks * *width), 0.f);
    std::copy(slopes.begin(), slopes.end(), padded_.begin());
    auto out = std::make_shared<DnnlNative>(ctx_, desc, x->plain(), 1.f, 0);
    const float* in = static_cast<const float*>(x->mem().get_data_handle());
    float* dst = static_cast<float*>(out->mem().get_data_handle());
    for (int64_t n = 0; n < src.shape[0]; ++n)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t base = (n * blocks + b) * pixels * *width;
        slope_plane(in + base, padded_.data() + b * *width, pixels, *width, dst + base);
      }
    y = native_tensor(src.shape, out);
    return true;
  }

 private:
  const DnnlContext& ctx_;
  std::vector<float> padded_;
};

}  // namespace

std::unique_ptr<ChannelSlopeKernel> make_channel_slope(const DnnlContext& ctx) {
  return std::make_unique<DnnlChannelSlope>(ctx);
}

}  // namespace edgequant::engine::onednn
