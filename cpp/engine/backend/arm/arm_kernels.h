// The ARM backend's kernel factories, one file per family (arm_backend.cpp hands them out).
#pragma once
#include <memory>

#include "backend/arm/dispatch.h"
#include "backend/backend.h"

namespace edgequant::engine::arm {

std::unique_ptr<ConvKernel> make_int8_conv(const ConvGeometry& g, const float* w, const float* b,
                                           const ConvPostOps& post, const QuantConfig& q, ThreadCount threads);
std::unique_ptr<DenseKernel> make_int8_dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                             const Activation& act, const QuantConfig& q, ThreadCount threads);
std::unique_ptr<ConvKernel> make_f32_conv(const ConvGeometry& g, const float* w, const float* b,
                                          const ConvPostOps& post, ThreadCount threads);
// FP32 3x3 stride-1 convs by Winograd F(4x4, 3x3) or F(6x6, 3x3) (f32_winograd.cpp), where winograd_fits_arm.
bool winograd_fits_arm(const ConvGeometry& g, const QuantConfig& q);
std::unique_ptr<ConvKernel> make_f32_winograd_conv(const ConvGeometry& g, const float* w, const float* b,
                                                   const ConvPostOps& post, ThreadCount threads);
std::unique_ptr<DenseKernel> make_f32_dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                            const Activation& act, ThreadCount threads);
std::unique_ptr<PoolKernel> make_pool(const PoolGeometry& g, ThreadCount threads);
// e^x-based float kernels on NEON (f32_exp_kernels.cpp); softmax of rows and log-softmax: the portable kernel.
std::unique_ptr<UnaryKernel> make_sigmoid();
std::unique_ptr<SoftmaxKernel> make_softmax(int64_t outer, int64_t len, int64_t inner, bool log);
std::unique_ptr<ConcatKernel> make_concat();  // NHWC codes along the channels (data_movement.cpp)
std::unique_ptr<SplitKernel> make_split();
std::shared_ptr<NativeData> nhwc_image(const float* values, const Shape& nchw);  // NhwcFloat (nhwc_float.cpp)
std::unique_ptr<CodeAddKernel> make_code_add(const CodeAddition& arithmetic);  // NHWC codes (code_add.cpp)
std::unique_ptr<CodeAveragePoolKernel> make_code_average_pool(const PoolGeometry& g, int32_t qmin);  // NHWC codes

}  // namespace edgequant::engine::arm
