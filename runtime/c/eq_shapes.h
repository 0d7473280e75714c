/* Parameter blocks the int8 kernels take. The exporter fills them at export time (TFLite's
 * "Prepare": shapes, offsets, activation ranges, fixed-point multipliers), so they live in flash
 * as const data and the kernels ("Eval") allocate nothing. Layout: NHWC activations, OHWI conv
 * filters, 1HWO depthwise filters, [out, in] fully-connected weights (TFLite's layouts). */
#ifndef EQ_SHAPES_H
#define EQ_SHAPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Conv2D, DepthwiseConv2D, pooling: one spatial window description. */
typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_channels;
    int32_t output_height, output_width, output_channels;
    int32_t filter_height, filter_width;
    int32_t stride_height, stride_width;
    int32_t dilation_height, dilation_width;
    int32_t padding_top, padding_left;
    int32_t depth_multiplier;  /* depthwise only */
    int32_t input_offset;      /* -input zero point */
    int32_t output_offset;     /* output zero point */
    int32_t activation_min, activation_max;
} eq_window_params;

typedef struct {
    int32_t batches, input_depth, output_depth;
    int32_t input_offset, filter_offset, output_offset;
    int32_t multiplier, shift;
    int32_t activation_min, activation_max;
} eq_fully_connected_params;

typedef struct {
    int32_t size;
    int32_t left_shift;  /* 20 for int8 */
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
    int32_t activation_min, activation_max;
} eq_add_params;

typedef struct {
    int32_t size;
    int32_t input_offset, output_offset;
    int32_t multiplier, shift;
    int32_t activation_min, activation_max;
} eq_relu_params;

typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier, input_left_shift;
    int32_t diff_min;
} eq_softmax_params;

#ifdef __cplusplus
}
#endif

#endif /* EQ_SHAPES_H */
