/* edgequant's integer-only C99 kernel library: int8 kernels bit-exact with TensorFlow Lite
 * (Micro)'s reference kernels, no allocation, no float, no globals. Each kernel takes a const
 * parameter block filled at export time (see eq_shapes.h). Later SIMD versions (CMSIS-DSP, NEON,
 * dot-product) sit beside these and are tested against the *_ref functions. */
#ifndef EDGEQUANT_RUNTIME_H
#define EDGEQUANT_RUNTIME_H

#include "eq_add.h"
#include "eq_conv2d.h"
#include "eq_depthwise_conv2d.h"
#include "eq_fixed_point.h"
#include "eq_fully_connected.h"
#include "eq_pooling.h"
#include "eq_relu.h"
#include "eq_reshape.h"
#include "eq_shapes.h"
#include "eq_softmax.h"

/* EQ_KERNEL(eq_conv2d_s8) names the fast kernel, or its plain reference when built with
 * -DEQ_FORCE_REFERENCE, so any result can be double-checked against the formula. */
#ifdef EQ_FORCE_REFERENCE
#define EQ_KERNEL(name) name##_ref
#else
#define EQ_KERNEL(name) name
#endif

#endif /* EDGEQUANT_RUNTIME_H */
