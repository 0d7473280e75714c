// The ARM backend's max / average pooling, NCHW: window bounds clipped once per output instead of
// a test per tap; sums in double in the reference backend's order (bit-identical to it).
#include <algorithm>
#include <limits>
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"

namespace edgequant::engine::arm {
namespace {

class ArmPool : public PoolKernel {
 public:
  ArmPool(const PoolGeometry& g, ThreadCount threads) : g_(g), threads_(threads) {}
  void run(const float* src, float* dst) override {
    const bool is_max = g_.kind == PoolGeometry::Kind::max;
    parallel_chunks(threads_, g_.n * g_.c, 1, [&](int64_t nc0, int64_t nc1) {
      for (int64_t nc = nc0; nc < nc1; ++nc)
        for (int64_t oh = 0; oh < g_.oh; ++oh) {
          const int64_t h_start = oh * g_.stride_h - g_.pad_top;
          const int64_t h0 = std::max<int64_t>(h_start, 0), h1 = std::min(h_start + g_.kh, g_.ih);
          const int64_t h_padded = std::min(h_start + g_.kh, g_.ih + g_.pad_bottom) - h_start;
          for (int64_t ow = 0; ow < g_.ow; ++ow) {
            const int64_t w_start = ow * g_.stride_w - g_.pad_left;
            const int64_t w0 = std::max<int64_t>(w_start, 0), w1 = std::min(w_start + g_.kw, g_.iw);
            const int64_t w_padded = std::min(w_start + g_.kw, g_.iw + g_.pad_right) - w_start;
            const float* plane = src + nc * g_.ih * g_.iw;
            float& out = dst[(nc * g_.oh + oh) * g_.ow + ow];
            if (is_max) {
              float m = -std::numeric_limits<float>::infinity();
              for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) m = std::max(m, plane[h * g_.iw + w]);
              out = m;
              continue;
            }
            double acc = 0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) acc += plane[h * g_.iw + w];
            const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
            const int64_t count = g_.count_include_pad ? h_padded * w_padded : inside;
            out = static_cast<float>(count ? acc / count : 0);
          }
        }
    });
  }

 private:
  PoolGeometry g_;
  ThreadCount threads_;
};

}  // namespace

std::unique_ptr<PoolKernel> make_pool(const PoolGeometry& g, ThreadCount threads) {
  return std::make_unique<ArmPool>(g, threads);
}

}  // namespace edgequant::engine::arm
