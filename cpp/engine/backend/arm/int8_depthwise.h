// The ARM backend's INT8 depthwise convolution (one output channel per input channel): the exact
// integer sums acc[pixel][channel] = Σ_taps (q − z)·w of NHWC s8 codes q − 128, which the conv's
// epilogue then requantizes. Plain NEON (every aarch64 core: SDOT sums across k, and a depthwise
// tap has one k per channel).
//
// Each image is copied once into a frame padded with the zero point's code (z − 128), so every
// window reads its taps at fixed offsets with no bounds test, and the sum over all taps is
// Σ (q − 128)·w + (128 − z)·Σ w exactly (a padded tap adds (z − 128 + 128 − z)·w = 0). Products
// s8 × s8 are added two taps at a time in int16 (SMULL + SMLAL) before widening to int32: the one
// pair that overflows int16 is (−128)·(−128) twice, so pairs run where no channel has −128 at both
// taps of a pair, single taps otherwise. image_codes requantizes the sums in registers instead
// (TFLite's fixed point) and stores s8 codes.
//
// A layer of 8 channels at stride 1 (MobileNet 0.25's first depthwise layer) runs two neighbouring
// pixels in one 16-lane block: a tap's 16 bytes are its 8 channels for pixel p and, 8 bytes on, for
// pixel p + 1, against the weights repeated twice — where a block of 8 channels left half the lanes
// idle.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/arm/dispatch.h"
#include "backend/backend.h"
#include "graph/quant_config.h"

namespace edgequant::engine::arm {

struct CodesRequantization;  // fixed_point_neon.h

class Int8Depthwise {
 public:
  // khwc: the s8 weights [channel][tap], taps in (kh, kw) order.
  Int8Depthwise(const ConvGeometry& g, const int8_t* khwc);
  // The sums of one NHWC image x of s8 codes q − 128 whose zero point is `zero` (u8), plus
  // add[c] if given, into acc[(oh·ow + ow)·channels + c].
  void image(const int8_t* x, int32_t zero, int threads, int32_t* acc, const int32_t* add = nullptr) const;
  // The same sums requantized in registers by `r` (channels padded to 16; for 8 channels at stride 1,
  // read as 16 lanes of two pixels, by its first 8 entries repeated), the last channels by
  // `scalar` (its requantize()), stored as NHWC s8 codes y[(oh·ow + ow)·channels + c].
  void image_codes(const int8_t* x, int32_t zero, int threads, const int32_t* add, const CodesRequantization& r,
                   const FixedPointRequantization& scalar, int8_t* y) const;

 private:
  // The common walk: each_block(oh, c, lanes, run_row) per row and block of 16 channels (then one of
  // 8: lanes is std::integral_constant<int, 16 or 8>), run_row(store) computing the row's windows;
  // tail(oh, ow, c, sum) for the channels after the last block.
  template <class Rows, class Tail>
  void rows(const int8_t* x, int32_t zero, int threads, const int32_t* add, const Rows& each_block,
            const Tail& tail) const;

  ConvGeometry g_;
  std::vector<int8_t> w_;         // [tap][channel]
  std::vector<int32_t> wsum_;     // Σ_taps w per channel
  std::vector<int64_t> offsets_;  // per tap: its byte offset from the window's first in the frame
  int64_t frame_h_ = 0, frame_w_ = 0;
  bool in_place_ = false;  // no padding and no crop: the image is its own frame
  bool pairs_fit_int16_ = true;
  bool pixel_pairs_ = false;        // 8 channels, stride 1: two pixels per 16-lane block
  std::vector<int8_t> w_twice_;     // pixel_pairs_: [tap][16], each tap's 8 weights twice
};

}  // namespace edgequant::engine::arm
