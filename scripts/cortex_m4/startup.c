/* Minimal Cortex-M start-up for QEMU's mps2-an386: an M-profile vector table (newlib's rdimon
 * start-up code is A-profile), .data/.bss set-up, semihosting I/O, then main() and exit(). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__, __stack_top;
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern int main(void);
void eq_reset_handler(void);
void eq_systick_handler(void);

/* crti/crtn are not linked (-nostartfiles): newlib's init/fini arrays call these empty hooks */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

static void eq_fault_handler(void) {
    exit(3);
}

/* Initial stack pointer, then the exception handlers (index 15: SysTick). */
__attribute__((section(".vectors"), used)) static const void *const eq_vector_table[16] = {
    &__stack_top,        (void *)eq_reset_handler, (void *)eq_fault_handler, (void *)eq_fault_handler,
    (void *)eq_fault_handler, (void *)eq_fault_handler, (void *)eq_fault_handler, 0,
    0,                   0,                        0,                        (void *)eq_fault_handler,
    (void *)eq_fault_handler, 0,                   (void *)eq_fault_handler, (void *)eq_systick_handler,
};

/* Coprocessor Access Control Register: CP10 and CP11 (the FPU) full access. */
#define EQ_CPACR (*(volatile uint32_t *)0xE000ED88u)

void eq_reset_handler(void) {
    uint32_t *src = &__data_load, *dst = &__data_start;
#if defined(__ARM_FP) && __ARM_FP
    /* built for an FPU (-mfpu=..., hard or softfp ABI): the FPU is off after reset and the first VFP
     * instruction would fault, so switch it on before any code that may use it */
    EQ_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}
