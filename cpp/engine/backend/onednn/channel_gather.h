// Channels of native 4-D tensors gathered into a new tensor without leaving the backend's layout:
// a channel shuffle's halves (Backend::channel_pick) and a Concat whose inputs' channel counts are
// not whole blocks. Without it such tensors went plain NCHW and the convs after them reordered
// them back (yolo-fastestv2 and ShuffleNetV2: ~40 reorders a run).
#pragma once
#include <memory>
#include <vector>

#include "backend/onednn/dnnl_common.h"

namespace edgequant::engine::onednn {

// Channel c of the result: channel `channel` of input `input`.
struct ChannelSource {
  size_t input;
  int64_t channel;
};

// The channels `sources` of `inputs` (float32, or u8 codes of one scale and zero point, copied as
// they are; one N, H and W; each in a pixel-vector layout: nChw16c, nChw8c or NHWC) as a new tensor
// in the first input's layout, the lanes past the last channel of a blocked result zero. `shape`:
// the first input's tensor shape (a reshaped native tensor is not gathered). nullptr where that
// does not apply.
std::shared_ptr<DnnlNative> gather_channels(const DnnlContext& ctx, const std::vector<const DnnlNative*>& inputs,
                                            const std::vector<ChannelSource>& sources, const Shape& shape);

}  // namespace edgequant::engine::onednn
