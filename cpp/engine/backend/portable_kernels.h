// The vectorised float kernels of backend/fast_kernels.h as Backend kernels, for the backends
// that hand them out (oneDNN's; the ARM backend's later): softmax on any axis, sigmoid, and a 1x1
// convolution to one channel (YOLOv8's DFL expectation: a weighted sum of channels, one
// memory-bound pass where a convolution primitive would be a poor fit). Plain C++ loops that the
// compiler vectorises, so they build on every target.
#pragma once
#include <functional>
#include <memory>

#include "backend/backend.h"

namespace edgequant::engine {

std::unique_ptr<SoftmaxKernel> make_portable_softmax(int64_t outer, int64_t len, int64_t inner, bool log);
std::unique_ptr<UnaryKernel> make_portable_sigmoid();

// A float32 convolution that is a weighted sum of channels: 1x1, one output channel, unit strides
// and dilations, no padding, one group, no post-ops.
bool is_channel_sum(const ConvGeometry& g, const ConvPostOps& post, const QuantConfig& q);
// The channel-sum kernel of such a convolution. Inputs left in a backend's own layout go to the
// backend's kernel, built by `fallback` from the same weights on the first such input.
using ConvFactory = std::function<std::unique_ptr<ConvKernel>(const float* weights, const float* bias)>;
std::unique_ptr<ConvKernel> make_channel_sum_conv(const ConvGeometry& g, const float* weights, const float* bias,
                                                  ConvFactory fallback);

}  // namespace edgequant::engine
