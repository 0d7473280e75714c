/* Runs an exported model on the inputs in check_inputs.h and prints each output as hex, one line per
 * input, then the SysTick count per inference. Under `qemu -icount shift=0` the emulated clock
 * advances one nanosecond per instruction, so the SysTick counter (CPU clock, 25 MHz on mps2-an386)
 * counts instructions / 40: a repeatable, machine-independent cost. */
#include <stdint.h>
#include <stdio.h>

#include "check_inputs.h"
#include "model.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

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

int main(void) {
    static int8_t output[EDGEQUANT_OUTPUT_SIZE];
    int i, j;
    uint64_t ticks = 0;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) {
        /* the first reload, so that 0 is never read as a full period */
    }
    for (i = 0; i < EQ_CHECK_INPUTS; ++i) {
        uint64_t start = systick_now();
        if (edgequant_invoke(eq_check_inputs[i], output) != 0) {
            printf("invoke failed\n");
            return 1;
        }
        ticks += systick_now() - start;
        for (j = 0; j < EDGEQUANT_OUTPUT_SIZE; ++j) {
            printf("%02x", (unsigned)(uint8_t)output[j]);
        }
        printf("\n");
    }
    printf("systick %lu\n", (unsigned long)(ticks / (uint64_t)EQ_CHECK_INPUTS));
    return 0;
}
