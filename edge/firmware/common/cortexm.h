/* cortexm.h: the few Cortex-M system registers the firmware uses (no CMSIS exists here). */
#ifndef FE_CORTEXM_H
#define FE_CORTEXM_H

#include <stdint.h>

#define FE_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System control block. */
#define SCB_CPACR FE_REG32(0xE000ED88u)   /* coprocessor access: CP10/CP11 = FPU */
#define SCB_AIRCR FE_REG32(0xE000ED0Cu)   /* write VECTKEY | SYSRESETREQ to reset */
#define SCB_VTOR FE_REG32(0xE000ED08u)    /* vector table offset */
#define SCB_AIRCR_RESET 0x05FA0004u
#define CORE_DHCSR FE_REG32(0xE000EDF0u)  /* bit 0 C_DEBUGEN: a debugger is attached */
#define CORE_DEMCR FE_REG32(0xE000EDFCu)  /* bit 24 TRCENA: enables DWT */

/* SysTick (24-bit down counter). */
#define SYST_CSR FE_REG32(0xE000E010u)    /* bit0 ENABLE, bit1 TICKINT, bit2 CLKSOURCE=cpu */
#define SYST_RVR FE_REG32(0xE000E014u)
#define SYST_CVR FE_REG32(0xE000E018u)

/* Data watchpoint and trace unit: the cycle counter of real M3/M4/M7 parts. */
#define DWT_CTRL FE_REG32(0xE0001000u)    /* bit 0 CYCCNTENA */
#define DWT_CYCCNT FE_REG32(0xE0001004u)
#define DWT_LAR FE_REG32(0xE0001FB0u)     /* M7 lock access: write 0xC5ACCE55 */

static inline void fe_enable_irq(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void fe_disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }

#endif /* FE_CORTEXM_H */
