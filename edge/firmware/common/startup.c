/* startup.c: vector table and reset handler shared by every board.
 *
 * Reset: enable the FPU (CP10/CP11), copy .data from flash, zero .bss and .persistent, call
 * main(). Faults end the run through board_exit() (status 1 under QEMU, a reset on a board).
 */
#include <stdint.h>

#include "board.h"
#include "cortexm.h"

extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __persistent_start[];
extern uint32_t __persistent_end[];
extern uint32_t __stack_top[];

int main(void);
void Reset_Handler(void);
void fe_fault_handler(void);
void fe_default_handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("fe_default_handler")));

typedef void (*fe_vector_t)(void);

#define FE_N_VECTORS 16

__attribute__((section(".vectors"), used)) const fe_vector_t fe_vectors[FE_N_VECTORS] = {
    (fe_vector_t)(uintptr_t)__stack_top,
    Reset_Handler,
    fe_fault_handler, /* NMI */
    fe_fault_handler, /* HardFault */
    fe_fault_handler, /* MemManage */
    fe_fault_handler, /* BusFault */
    fe_fault_handler, /* UsageFault */
    fe_fault_handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    fe_default_handler, /* SVCall */
    fe_default_handler, /* DebugMonitor */
    0,
    fe_default_handler, /* PendSV */
    SysTick_Handler,
};

static void fill_words(volatile uint32_t *dst, const uint32_t *end, uint32_t value)
{
    while (dst < end) {
        *dst++ = value;
    }
}

void Reset_Handler(void)
{
    SCB_CPACR |= 0xFu << 20; /* full access to CP10 and CP11: FPU (and MVE on v8.1-M) */
    __asm volatile("dsb\n\tisb" ::: "memory");
    const uint32_t *src = __data_load;
    volatile uint32_t *dst = __data_start;
    while (dst < __data_end) {
        *dst++ = *src++;
    }
    fill_words(__bss_start, __bss_end, 0u);
    fill_words(__persistent_start, __persistent_end, 0u);
    board_exit(main());
}

void fe_fault_handler(void)
{
    board_exit(3);
}

void fe_default_handler(void)
{
}
