/* board_config.h: qemu-m55 = QEMU mps3-an547 (Cortex-M55, SSE-300, AN547 FPGA image).
 *
 * The core boots in the Secure state, so peripherals are reached through their Secure
 * aliases (address bit 28 set): UART0 0x59303000, UART1 0x59304000. QEMU's AN547 clocks the
 * CPU at 32 MHz; SysTick counts that clock.
 */
#ifndef FE_BOARD_CONFIG_H
#define FE_BOARD_CONFIG_H

#define FE_BOARD_NAME "qemu-m55"
#define FE_UART_HOST_BASE 0x59303000u
#define FE_UART_DIN_BASE 0x59304000u
#define FE_PCLK_HZ 25000000u
#define FE_HOST_BAUD 115200u
#define FE_DIN_BAUD 31250u
#define FE_TIMER_SYSTICK 1
/* -icount shift=7: 32 MHz * 128 ns = 4.096 ticks per instruction -> count = ticks*125/512 */
#define FE_TICK_HZ 32000000u
#define FE_TICKS_TO_COUNT_NUM 125u
#define FE_TICKS_TO_COUNT_DEN 512u

#endif /* FE_BOARD_CONFIG_H */
