/* board_config.h: qemu-f411 = QEMU mps2-an386 (Cortex-M4F) under the STM32F411RE budgets. */
#ifndef FE_BOARD_CONFIG_H
#define FE_BOARD_CONFIG_H

#define FE_BOARD_NAME "qemu-f411"
#define FE_UART_HOST_BASE 0x40004000u /* CMSDK UART0: QEMU's first -serial */
#define FE_UART_DIN_BASE 0x40005000u  /* CMSDK UART1: QEMU's second -serial */
#define FE_PCLK_HZ 25000000u
#define FE_HOST_BAUD 115200u
#define FE_DIN_BAUD 31250u
#define FE_TIMER_SYSTICK 0
#define FE_TIMER_BASE 0x40000000u /* CMSDK timer0 at 25 MHz */
/* -icount shift=7: 25 MHz * 128 ns = 3.2 ticks per instruction -> count = ticks * 40 / 128 */
#define FE_TICK_HZ 25000000u
#define FE_TICKS_TO_COUNT_NUM 40u
#define FE_TICKS_TO_COUNT_DEN 128u

#endif /* FE_BOARD_CONFIG_H */
