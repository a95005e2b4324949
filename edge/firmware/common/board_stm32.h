/* board_stm32.h: what the STM32 boards (F4, F7) share: GPIO alternate functions, the host
 * link's receive ring (filled by each board's USART interrupt), DWT cycles, exit.
 * Their USARTs differ (F4: SR/DR, F7: ISR/RDR/TDR), so each board.c keeps its own. */
#ifndef FE_BOARD_STM32_H
#define FE_BOARD_STM32_H

#include <stdint.h>

#define STM32_GPIOA_BASE 0x40020000u
#define STM32_GPIOC_BASE 0x40020800u

/* Pin `pin` of port `gpio` to alternate function `af`, very high speed. */
void stm32_pin_af(uint32_t gpio, uint32_t pin, uint32_t af);
/* 1 once (*reg & mask) == want, 0 after a bounded number of reads (a clock that never starts). */
int stm32_wait(volatile uint32_t *reg, uint32_t mask, uint32_t want);
/* One received host byte into the ring (from the USART interrupt); dropped when full. */
void stm32_rx_push(uint8_t b);
/* Start the DWT cycle counter (board_ticks). */
void stm32_cycles_start(void);

#endif /* FE_BOARD_STM32_H */
