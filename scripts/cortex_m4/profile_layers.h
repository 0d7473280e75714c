/* Force-included (-include) into model.c only by bench_mcu.py's per-layer runs: wraps each kernel call
 * in SysTick reads (check_model.c's eq_profile_*), so the harness prints instructions per layer with
 * the layer's kind and filter shape. Not part of a deployed build. */
#ifndef EQ_PROFILE_LAYERS_H
#define EQ_PROFILE_LAYERS_H

#include "edgequant_runtime.h"

void eq_profile_begin(void);
void eq_profile_end(const char *kind, int32_t filter_height, int32_t filter_width, int32_t input_channels);

#define EQ_PROFILED_(kind, p, call) \
    (eq_profile_begin(), call, eq_profile_end(kind, (p)->filter_height, (p)->filter_width, (p)->input_channels))
#define EQ_PROFILED_FLAT_(kind, call) (eq_profile_begin(), call, eq_profile_end(kind, 0, 0, 0))

/* a function-like macro does not expand inside its own replacement: the inner name is the real call */
#define eq_conv2d_s8(p, ...) EQ_PROFILED_("conv2d", p, eq_conv2d_s8(p, __VA_ARGS__))
#define eq_depthwise_conv2d_s8(p, ...) EQ_PROFILED_("depthwise_conv2d", p, eq_depthwise_conv2d_s8(p, __VA_ARGS__))
#define eq_average_pool_s8(p, ...) EQ_PROFILED_("average_pool", p, eq_average_pool_s8(p, __VA_ARGS__))
#define eq_max_pool_s8(p, ...) EQ_PROFILED_("max_pool", p, eq_max_pool_s8(p, __VA_ARGS__))
#define eq_fully_connected_s8(...) EQ_PROFILED_FLAT_("fully_connected", eq_fully_connected_s8(__VA_ARGS__))
#define eq_add_s8(...) EQ_PROFILED_FLAT_("add", eq_add_s8(__VA_ARGS__))
#define eq_softmax_s8(...) EQ_PROFILED_FLAT_("softmax", eq_softmax_s8(__VA_ARGS__))

#endif /* EQ_PROFILE_LAYERS_H */
