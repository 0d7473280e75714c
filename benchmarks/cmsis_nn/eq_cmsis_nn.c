/* The peer for bench_mcu.py --cmsis-nn: our kernel entry points forwarded onto Arm's CMSIS-NN, so an
 * exported model.c links unchanged against either library. Replaces eq_conv2d.c, eq_depthwise_conv2d.c,
 * eq_fully_connected.c, eq_add.c, eq_average_pool.c, eq_max_pool.c and eq_softmax.c of runtime/c (the
 * parameter blocks carry TFLite's quantities, which CMSIS-NN takes as they are). The CMSIS-NN scratch
 * buffer is one static block; eq_scratch_peak_bytes records the most any layer asked for, which is what
 * a TFLite Micro build plans beside its arena. */
#include "arm_nnfunctions.h"
#include "edgequant_runtime.h"

#ifndef EQ_CMSIS_SCRATCH_BYTES
#define EQ_CMSIS_SCRATCH_BYTES 32768
#endif

static union {
    int8_t bytes[EQ_CMSIS_SCRATCH_BYTES];
    int64_t align;
} scratch;

int32_t eq_scratch_peak_bytes = 0;

static cmsis_nn_context context(int32_t size) {
    cmsis_nn_context ctx;
    if (size > eq_scratch_peak_bytes) {
        eq_scratch_peak_bytes = size;
    }
    if (size > EQ_CMSIS_SCRATCH_BYTES) {
        for (;;) {
            /* a bigger EQ_CMSIS_SCRATCH_BYTES is needed: hang, the harness times out */
        }
    }
    ctx.buf = size > 0 ? scratch.bytes : NULL;
    ctx.size = size;
    return ctx;
}

static cmsis_nn_dims dims(int32_t n, int32_t h, int32_t w, int32_t c) {
    cmsis_nn_dims d;
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    return d;
}

void eq_conv2d_s8(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts, const int8_t *src,
                  const int8_t *filter, const int32_t *bias, int8_t *dst) {
    cmsis_nn_conv_params conv;
    cmsis_nn_per_channel_quant_params quant;
    cmsis_nn_dims input = dims(p->batches, p->input_height, p->input_width, p->input_channels);
    cmsis_nn_dims kernel = dims(p->output_channels, p->filter_height, p->filter_width, p->input_channels);
    cmsis_nn_dims bias_dims = dims(1, 1, 1, p->output_channels);
    cmsis_nn_dims output = dims(p->batches, p->output_height, p->output_width, p->output_channels);
    cmsis_nn_context ctx;
    conv.input_offset = p->input_offset;
    conv.output_offset = p->output_offset;
    conv.stride.h = p->stride_height;
    conv.stride.w = p->stride_width;
    conv.padding.h = p->padding_top;
    conv.padding.w = p->padding_left;
    conv.dilation.h = p->dilation_height;
    conv.dilation.w = p->dilation_width;
    conv.activation.min = p->activation_min;
    conv.activation.max = p->activation_max;
    quant.multiplier = (int32_t *)multipliers;
    quant.shift = (int32_t *)shifts;
    ctx = context(arm_convolve_wrapper_s8_get_buffer_size(&conv, &input, &kernel, &output));
    arm_convolve_wrapper_s8(&ctx, &conv, &quant, &input, src, &kernel, filter, &bias_dims, bias, &output, dst);
}

void eq_depthwise_conv2d_s8(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                            const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    cmsis_nn_dw_conv_params conv;
    cmsis_nn_per_channel_quant_params quant;
    cmsis_nn_dims input = dims(p->batches, p->input_height, p->input_width, p->input_channels);
    cmsis_nn_dims kernel = dims(1, p->filter_height, p->filter_width, p->output_channels);
    cmsis_nn_dims bias_dims = dims(1, 1, 1, p->output_channels);
    cmsis_nn_dims output = dims(p->batches, p->output_height, p->output_width, p->output_channels);
    cmsis_nn_context ctx;
    conv.input_offset = p->input_offset;
    conv.output_offset = p->output_offset;
    conv.ch_mult = p->depth_multiplier;
    conv.stride.h = p->stride_height;
    conv.stride.w = p->stride_width;
    conv.padding.h = p->padding_top;
    conv.padding.w = p->padding_left;
    conv.dilation.h = p->dilation_height;
    conv.dilation.w = p->dilation_width;
    conv.activation.min = p->activation_min;
    conv.activation.max = p->activation_max;
    quant.multiplier = (int32_t *)multipliers;
    quant.shift = (int32_t *)shifts;
    ctx = context(arm_depthwise_conv_wrapper_s8_get_buffer_size(&conv, &input, &kernel, &output));
    arm_depthwise_conv_wrapper_s8(&ctx, &conv, &quant, &input, src, &kernel, filter, &bias_dims, bias, &output, dst);
}

void eq_fully_connected_s8(const eq_fully_connected_params *p, const int8_t *src, const int8_t *weights,
                           const int32_t *bias, int8_t *dst) {
    cmsis_nn_fc_params fc;
    cmsis_nn_per_tensor_quant_params quant;
    cmsis_nn_dims input = dims(p->batches, 1, 1, p->input_depth);
    cmsis_nn_dims kernel = dims(p->input_depth, 1, 1, p->output_depth);
    cmsis_nn_dims bias_dims = dims(1, 1, 1, p->output_depth);
    cmsis_nn_dims output = dims(p->batches, 1, 1, p->output_depth);
    cmsis_nn_context ctx;
    fc.input_offset = p->input_offset;
    fc.filter_offset = p->filter_offset;
    fc.output_offset = p->output_offset;
    fc.activation.min = p->activation_min;
    fc.activation.max = p->activation_max;
    quant.multiplier = p->multiplier;
    quant.shift = p->shift;
    ctx = context(arm_fully_connected_s8_get_buffer_size(&kernel));
    arm_fully_connected_s8(&ctx, &fc, &quant, &input, src, &kernel, weights, &bias_dims, bias, &output, dst);
}

void eq_add_s8(const eq_add_params *p, const int8_t *src1, const int8_t *src2, int8_t *dst) {
    arm_elementwise_add_s8(src1, src2, p->input1_offset, p->input1_multiplier, p->input1_shift, p->input2_offset,
                           p->input2_multiplier, p->input2_shift, p->left_shift, dst, p->output_offset,
                           p->output_multiplier, p->output_shift, p->activation_min, p->activation_max, p->size);
}

static void pool(const eq_window_params *p, const int8_t *src, int8_t *dst, int average) {
    cmsis_nn_pool_params pool_params;
    cmsis_nn_dims input = dims(p->batches, p->input_height, p->input_width, p->input_channels);
    cmsis_nn_dims kernel = dims(1, p->filter_height, p->filter_width, 1);
    cmsis_nn_dims output = dims(p->batches, p->output_height, p->output_width, p->input_channels);
    cmsis_nn_context ctx;
    pool_params.stride.h = p->stride_height;
    pool_params.stride.w = p->stride_width;
    pool_params.padding.h = p->padding_top;
    pool_params.padding.w = p->padding_left;
    pool_params.activation.min = p->activation_min;
    pool_params.activation.max = p->activation_max;
    if (average) {
        ctx = context(arm_avgpool_s8_get_buffer_size(p->output_width, p->input_channels));
        arm_avgpool_s8(&ctx, &pool_params, &input, src, &kernel, &output, dst);
    } else {
        ctx = context(0);
        arm_max_pool_s8(&ctx, &pool_params, &input, src, &kernel, &output, dst);
    }
}

void eq_average_pool_s8(const eq_window_params *p, const int8_t *src, int8_t *dst) { pool(p, src, dst, 1); }

void eq_max_pool_s8(const eq_window_params *p, const int8_t *src, int8_t *dst) { pool(p, src, dst, 0); }

void eq_softmax_s8(const eq_softmax_params *p, const int8_t *src, int8_t *dst) {
    arm_softmax_s8(src, p->rows, p->depth, p->input_multiplier, p->input_left_shift, p->diff_min, dst);
}
