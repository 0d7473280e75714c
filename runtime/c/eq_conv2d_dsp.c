/* Conv2D on the Cortex-M DSP extension (see eq_dsp.h): one output pixel, four output channels at a
 * time, so each input word is loaded and widened once for four filters; the valid taps of a filter
 * row are one contiguous run of (taps x channels) int8 values in both the NHWC input and the OHWI
 * filter (dilation 1), so a 3x3 conv makes three dot-product runs per pixel, a 1x1 conv one, and the
 * small-channel input convs (KWS: 10x4 taps, one channel) still get runs of 4+ values. No scratch. */
#include "eq_dsp.h"

#if EQ_USE_DSP

#include "eq_conv2d.h"
#include "eq_fixed_point.h"

/* one input word against four filter rows (dot4's asm; operands named there) */
#define EQ_DOT4_WORD \
    "ldr %[xo], [%[x]], #4\n\t" \
    "sxtab16 %[xe], %[off], %[xo]\n\t" \
    "sxtab16 %[xo], %[off], %[xo], ror #8\n\t" \
    "ldr %[q], [%[w], %[s]]\n\t" \
    "sxtb16 %[t], %[q]\n\t" \
    "sxtb16 %[q], %[q], ror #8\n\t" \
    "smlad %[a1], %[t], %[xe], %[a1]\n\t" \
    "smlad %[a1], %[q], %[xo], %[a1]\n\t" \
    "ldr %[q], [%[w]], #4\n\t" \
    "sxtb16 %[t], %[q]\n\t" \
    "sxtb16 %[q], %[q], ror #8\n\t" \
    "smlad %[a0], %[t], %[xe], %[a0]\n\t" \
    "smlad %[a0], %[q], %[xo], %[a0]\n\t" \
    "ldr %[q], [%[w2], %[s]]\n\t" \
    "sxtb16 %[t], %[q]\n\t" \
    "sxtb16 %[q], %[q], ror #8\n\t" \
    "smlad %[a3], %[t], %[xe], %[a3]\n\t" \
    "smlad %[a3], %[q], %[xo], %[a3]\n\t" \
    "ldr %[q], [%[w2]], #4\n\t" \
    "sxtb16 %[t], %[q]\n\t" \
    "sxtb16 %[q], %[q], ror #8\n\t" \
    "smlad %[a2], %[t], %[xe], %[a2]\n\t" \
    "smlad %[a2], %[q], %[xo], %[a2]\n\t"

/* acc[k] = start[k] + sum_i w[k * stride + i] * (x[i] + offset), k = 0..3, i < n (start may be acc). Not inlined, and rows 1 and 3
 * addressed from rows 0 and 2 by the stride, so the loop's 14 live values fit the M4's registers. */
__attribute__((noinline)) static void dot4(const int8_t *x, const int8_t *w, int32_t stride, int32_t n,
                                           uint32_t offset2, const int32_t *start, int32_t *acc) {
    const int8_t *w2 = w + 2 * stride;
    const int32_t offset = (int16_t)(offset2 & 0xFFFFu);
    int32_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3];
    int32_t i;
    i = n >> 2;
#if defined(__OPTIMIZE__)
    /* (an unoptimized build keeps a frame pointer: 13 registers are too few for this block) */
    if (i > 0) {
        /* per input word: widen it once (with the offset), then per filter row one load, two
         * widenings, two SMLADs; written out because the compiler spills at this register count */
        uint32_t xe, xo, q, t;
        __asm__ volatile(
            /* two words per pass; an odd word first (the flags of the LSRS survive it: no
             * instruction in EQ_DOT4_WORD sets them) */
            "lsrs %[i], %[i], #1\n\t"
            "bcc 2f\n\t"
            EQ_DOT4_WORD
            "beq 4f\n"
            "2:\n\t"
            EQ_DOT4_WORD
            EQ_DOT4_WORD
            "subs %[i], %[i], #1\n\t"
            "bne 2b\n"
            "4:"
            : [x] "+r"(x), [w] "+r"(w), [w2] "+r"(w2), [i] "+r"(i), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
              [a3] "+r"(a3), [xe] "=&r"(xe), [xo] "=&r"(xo), [q] "=&r"(q), [t] "=&r"(t)
            : [off] "r"(offset2), [s] "r"(stride)
            : "cc", "memory");
    }
#else
    for (; i > 0; --i) {
        const uint32_t v = eq_load_u32(x);
        const uint32_t xe = eq_sxtab16(offset2, v), xo = eq_sxtab16_odd(offset2, v);
        uint32_t q = eq_load_u32(w);
        a0 = eq_smlad(eq_sxtb16_odd(q), xo, eq_smlad(eq_sxtb16(q), xe, a0));
        q = eq_load_u32(w + stride);
        a1 = eq_smlad(eq_sxtb16_odd(q), xo, eq_smlad(eq_sxtb16(q), xe, a1));
        q = eq_load_u32(w2);
        a2 = eq_smlad(eq_sxtb16_odd(q), xo, eq_smlad(eq_sxtb16(q), xe, a2));
        q = eq_load_u32(w2 + stride);
        a3 = eq_smlad(eq_sxtb16_odd(q), xo, eq_smlad(eq_sxtb16(q), xe, a3));
        x += 4;
        w += 4;
        w2 += 4;
    }
#endif
    for (i = n & 3; i > 0; --i) {
        const int32_t xv = (int32_t)*x++ + offset;
        a0 += (int32_t)w[0] * xv;
        a1 += (int32_t)w[stride] * xv;
        a2 += (int32_t)w2[0] * xv;
        a3 += (int32_t)w2[stride] * xv;
        ++w;
        ++w2;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc + sum_i w[i] * (x[i] + offset), i < n */
static int32_t dot1(const int8_t *x, const int8_t *w, int32_t n, uint32_t offset2, int32_t offset, int32_t acc) {
    int32_t i;
    for (i = n >> 2; i > 0; --i) {
        const uint32_t v = eq_load_u32(x), q = eq_load_u32(w);
        acc = eq_smlad(eq_sxtb16(q), eq_sxtab16(offset2, v), acc);
        acc = eq_smlad(eq_sxtb16_odd(q), eq_sxtab16_odd(offset2, v), acc);
        x += 4;
        w += 4;
    }
    for (i = n & 3; i > 0; --i) {
        acc += (int32_t)*w++ * ((int32_t)*x++ + offset);
    }
    return acc;
}

static int8_t requantize(const eq_window_params *p, int32_t acc, int32_t multiplier, int32_t shift) {
    acc = eq_multiply_by_quantized_multiplier_fast(acc, multiplier, shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

/* The first tap index k in [0, size) with 0 <= origin + k * step < limit, and one past the last. */
static void clip_taps(int32_t origin, int32_t step, int32_t size, int32_t limit, int32_t *begin, int32_t *end) {
    int32_t b = 0, e = size;
    while (b < e && origin + b * step < 0) {
        ++b;
    }
    while (e > b && origin + (e - 1) * step >= limit) {
        --e;
    }
    *begin = b;
    *end = e;
}

/* dst[k] = clamp(output_offset + M_k * acc[k]) for four channels, unrolled (the requantization is
 * most of the work per output once the dot products are two MACs per instruction); one SSAT clamps
 * when [lo, hi] is the whole int8 range. */
static inline void store4(int8_t *dst, const int32_t *acc, const int32_t *multipliers, const int32_t *shifts,
                          int32_t output_offset, int32_t lo, int32_t hi) {
    const int32_t q0 = eq_multiply_by_quantized_multiplier_fast(acc[0], multipliers[0], shifts[0]) + output_offset;
    const int32_t q1 = eq_multiply_by_quantized_multiplier_fast(acc[1], multipliers[1], shifts[1]) + output_offset;
    const int32_t q2 = eq_multiply_by_quantized_multiplier_fast(acc[2], multipliers[2], shifts[2]) + output_offset;
    const int32_t q3 = eq_multiply_by_quantized_multiplier_fast(acc[3], multipliers[3], shifts[3]) + output_offset;
    if (lo == -128 && hi == 127) {
        dst[0] = (int8_t)eq_ssat8(q0);
        dst[1] = (int8_t)eq_ssat8(q1);
        dst[2] = (int8_t)eq_ssat8(q2);
        dst[3] = (int8_t)eq_ssat8(q3);
    } else {
        dst[0] = (int8_t)eq_clamp_i32(q0, lo, hi);
        dst[1] = (int8_t)eq_clamp_i32(q1, lo, hi);
        dst[2] = (int8_t)eq_clamp_i32(q2, lo, hi);
        dst[3] = (int8_t)eq_clamp_i32(q3, lo, hi);
    }
}

/* All output channels of one pixel whose taps are one run x[0..n) against each filter's first n
 * values (a 1x1 conv, or a patch gathered by gather_patch). Accumulators start at the bias. */
static const int32_t zeros[4] = {0, 0, 0, 0};

static int8_t *pixel_from_run(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                              const int8_t *x, const int8_t *filter, const int32_t *bias, int32_t filter_size,
                              int32_t n, uint32_t offset2, int8_t *dst) {
    const int32_t channels = p->output_channels;
    /* locals: the int8 stores below may alias *p as far as the compiler knows */
    const int32_t output_offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    int32_t oc;
    for (oc = 0; oc + 4 <= channels; oc += 4) {
        int32_t acc[4];
        dot4(x, filter + oc * filter_size, filter_size, n, offset2, bias ? bias + oc : zeros, acc);
        store4(dst, acc, multipliers + oc, shifts + oc, output_offset, lo, hi);
        dst += 4;
    }
    for (; oc < channels; ++oc) {
        const int32_t acc = dot1(x, filter + oc * filter_size, n, offset2, p->input_offset, bias ? bias[oc] : 0);
        *dst++ = requantize(p, acc, multipliers[oc], shifts[oc]);
    }
    return dst;
}

/* Filters up to this many values per output channel (KWS's 10x4x1 input conv, the 3x3x3 RGB convs) are
 * computed from a copy of the pixel's receptive field on the stack, so each filter is one run; taps
 * outside the input hold the zero point (x + offset = 0). */
#define EQ_CONV_PATCH 64

static void gather_patch(const eq_window_params *p, const int8_t *image, int32_t y0, int32_t x0, int8_t *patch) {
    const int32_t channels = p->input_channels;
    const int8_t zero_point = (int8_t)-p->input_offset;
    int32_t ky, kx, c;
    for (ky = 0; ky < p->filter_height; ++ky) {
        const int32_t iy = y0 + ky * p->dilation_height;
        for (kx = 0; kx < p->filter_width; ++kx) {
            const int32_t ix = x0 + kx * p->dilation_width;
            if (iy < 0 || iy >= p->input_height || ix < 0 || ix >= p->input_width) {
                memset(patch, zero_point, (size_t)channels);
            } else {
                const int8_t *pixel = image + (iy * p->input_width + ix) * channels;
                for (c = 0; c < channels; ++c) {
                    patch[c] = pixel[c];
                }
            }
            patch += channels;
        }
    }
}

void eq_conv2d_s8_dsp(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                      const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    const int32_t channels = p->input_channels;
    const int32_t filter_row = p->filter_width * channels;
    const int32_t filter_size = p->filter_height * filter_row;
    const int32_t image_row = p->input_width * channels;
    const int32_t offset = p->input_offset;
    const uint32_t offset2 = eq_offset_pair(offset);
    const int32_t one_by_one = p->filter_height == 1 && p->filter_width == 1;
    const int32_t gathered = !one_by_one && filter_size <= EQ_CONV_PATCH;
    const int32_t output_offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    /* with dilation 1 a filter row's valid taps are one run; otherwise one run per tap */
    const int32_t dilated = p->dilation_width != 1;
    int8_t patch[EQ_CONV_PATCH];
    int32_t b, oy, ox, oc, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * image_row;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            int32_t ky_begin, ky_end;
            clip_taps(y0, p->dilation_height, p->filter_height, p->input_height, &ky_begin, &ky_end);
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                int32_t kx_begin, kx_end, run;
                if (one_by_one && y0 >= 0 && y0 < p->input_height && x0 >= 0 && x0 < p->input_width) {
                    dst = pixel_from_run(p, multipliers, shifts, image + y0 * image_row + x0 * channels, filter, bias,
                                         filter_size, channels, offset2, dst);
                    continue;
                }
                if (gathered) {
                    gather_patch(p, image, y0, x0, patch);
                    dst = pixel_from_run(p, multipliers, shifts, patch, filter, bias, filter_size, filter_size,
                                         offset2, dst);
                    continue;
                }
                clip_taps(x0, p->dilation_width, p->filter_width, p->input_width, &kx_begin, &kx_end);
                run = (kx_end - kx_begin) * channels;
                for (oc = 0; oc < p->output_channels; oc += 4) {
                    const int8_t *weights = filter + oc * filter_size;
                    int32_t acc[4] = {0, 0, 0, 0};
                    int32_t k, lanes = eq_min_i32(4, p->output_channels - oc);
                    for (ky = ky_begin; ky < ky_end; ++ky) {
                        const int8_t *row = image + (y0 + ky * p->dilation_height) * image_row;
                        const int8_t *taps = weights + ky * filter_row;
                        for (kx = kx_begin; kx < kx_end; kx = dilated ? kx + 1 : kx_end) {
                            const int8_t *x = row + (x0 + kx * p->dilation_width) * channels;
                            const int32_t n = dilated ? channels : run;
                            if (lanes == 4) {
                                dot4(x, taps + kx * channels, filter_size, n, offset2, acc, acc);
                            } else {
                                for (k = 0; k < lanes; ++k) {
                                    acc[k] = dot1(x, taps + k * filter_size + kx * channels, n, offset2, offset,
                                                  acc[k]);
                                }
                            }
                        }
                    }
                    if (lanes == 4) {
                        if (bias) {
                            acc[0] += bias[oc];
                            acc[1] += bias[oc + 1];
                            acc[2] += bias[oc + 2];
                            acc[3] += bias[oc + 3];
                        }
                        store4(dst, acc, multipliers + oc, shifts + oc, output_offset, lo, hi);
                        dst += 4;
                        continue;
                    }
                    for (k = 0; k < lanes; ++k) {
                        *dst++ = requantize(p, acc[k] + (bias ? bias[oc + k] : 0), multipliers[oc + k],
                                            shifts[oc + k]);
                    }
                }
            }
        }
    }
}

#else
typedef int eq_conv2d_dsp_unused; /* ISO C wants a declaration in every translation unit */
#endif
