/* Runs an exported model on the inputs in check_inputs.h and prints each output as hex, one line per
 * input, then the SysTick count per inference. Under `qemu -icount shift=0` the emulated clock
 * advances one nanosecond per instruction, so the SysTick counter (CPU clock, 25 MHz on mps2-an386)
 * counts instructions / 40: a repeatable, machine-independent cost. Built with -DEQ_PROFILE_LAYERS (and
 * profile_layers.h force-included into model.c) it also prints each layer's average count; a peer
 * library linked in place of the kernels may define eq_scratch_peak_bytes, printed as "scratch N".
 * Instructions are not cycles (an SMLAD does two products, loads take two cycles): built with
 * -DEQ_DWT_CYCLES for a real Cortex-M3/M4/M7 board, it also prints "cycles N" per inference from the
 * DWT cycle counter (QEMU does not model it). */
#include <stdint.h>
#include <stdio.h>

#include "check_inputs.h"
#include "model.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#ifdef EQ_DWT_CYCLES
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#endif

static volatile uint32_t systick_wraps;

void eq_systick_handler(void) { ++systick_wraps; }

static uint64_t systick_now(void) {
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * 0x1000000u + (0xFFFFFFu - value);
}

#ifdef EQ_PROFILE_LAYERS
#define EQ_MAX_LAYERS 256
static struct {
    const char *kind;
    int32_t filter_height, filter_width, input_channels;
    uint64_t ticks;
} layers[EQ_MAX_LAYERS];
static int layer_count, layer_index;
static uint64_t layer_start;

void eq_profile_begin(void);
void eq_profile_end(const char *kind, int32_t filter_height, int32_t filter_width, int32_t input_channels);

void eq_profile_begin(void) { layer_start = systick_now(); }

void eq_profile_end(const char *kind, int32_t filter_height, int32_t filter_width, int32_t input_channels) {
    const uint64_t ticks = systick_now() - layer_start;
    if (layer_index < EQ_MAX_LAYERS) {
        layers[layer_index].kind = kind;
        layers[layer_index].filter_height = filter_height;
        layers[layer_index].filter_width = filter_width;
        layers[layer_index].input_channels = input_channels;
        layers[layer_index].ticks += ticks;
        if (++layer_index > layer_count) {
            layer_count = layer_index;
        }
    }
}
#endif

/* a peer kernel library's scratch high-water mark, when it defines one */
extern int32_t eq_scratch_peak_bytes __attribute__((weak));

int main(void) {
    static int8_t output[EDGEQUANT_OUTPUT_SIZE];
    int i, j;
    uint64_t ticks = 0;
#ifdef EQ_DWT_CYCLES
    uint64_t cycles = 0;
    DEMCR |= 1u << 24; /* TRCENA: switch the DWT on */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
#endif
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) {
        /* the first reload, so that 0 is never read as a full period */
    }
    for (i = 0; i < EQ_CHECK_INPUTS; ++i) {
        uint64_t start;
#ifdef EQ_PROFILE_LAYERS
        layer_index = 0;
#endif
        start = systick_now();
#ifdef EQ_DWT_CYCLES
        {
            const uint32_t cycle_start = DWT_CYCCNT;
            const int failed = edgequant_invoke(eq_check_inputs[i], output) != 0;
            cycles += (uint32_t)(DWT_CYCCNT - cycle_start); /* one inference < 2^32 cycles */
            if (failed) {
                printf("invoke failed\n");
                return 1;
            }
        }
#else
        if (edgequant_invoke(eq_check_inputs[i], output) != 0) {
            printf("invoke failed\n");
            return 1;
        }
#endif
        ticks += systick_now() - start;
        for (j = 0; j < EDGEQUANT_OUTPUT_SIZE; ++j) {
            printf("%02x", (unsigned)(uint8_t)output[j]);
        }
        printf("\n");
    }
    printf("systick %lu\n", (unsigned long)(ticks / (uint64_t)EQ_CHECK_INPUTS));
#ifdef EQ_DWT_CYCLES
    printf("cycles %lu\n", (unsigned long)(cycles / (uint64_t)EQ_CHECK_INPUTS));
#endif
#ifdef EQ_PROFILE_LAYERS
    for (i = 0; i < layer_count; ++i) {
        printf("layer %d %s %ld %ld %ld %lu\n", i, layers[i].kind, (long)layers[i].filter_height,
               (long)layers[i].filter_width, (long)layers[i].input_channels,
               (unsigned long)(layers[i].ticks / (uint64_t)EQ_CHECK_INPUTS));
    }
#endif
    if (&eq_scratch_peak_bytes != 0) {
        printf("scratch %ld\n", (long)eq_scratch_peak_bytes);
    }
    return 0;
}
