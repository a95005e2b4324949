/* board.h: what every board provides to the firmware loop (one board.c per board).
 *
 * The host link (UART0 on the QEMU boards, USART1 through the ST-LINK VCP on the
 * STM32F746G-DISCO) is polled byte by byte: no interrupts, no DMA, no buffering beyond
 * the peripheral's own register, so the emulated UART applies back-pressure to the host
 * instead of dropping bytes. The DIN MIDI port is write-only (31250 baud on real boards).
 */
#ifndef FE_BOARD_H
#define FE_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, UARTs, the tick counter and (on real M7) the DWT cycle counter. */
void board_init(void);

/* One byte from the host link, or -1 when none is waiting. */
int board_host_getc(void);
/* Send bytes to the host link (blocks while the transmitter is full). */
void board_host_write(const uint8_t *data, size_t n);
/* Send raw MIDI bytes on the DIN MIDI UART. */
void board_din_write(const uint8_t *data, size_t n);

/* A free-running 32-bit tick counter (wraps; subtract two readings as uint32_t). */
uint32_t board_ticks(void);
/* Executed instructions (QEMU with -icount shift=7) or CPU cycles (real board) in dt ticks. */
uint32_t board_ticks_to_count(uint32_t dt);

/* Frequency of board_ticks() (virtual time under QEMU). */
extern const uint32_t board_tick_hz;
/* Short board name sent in HELLO, e.g. "qemu-m7". */
extern const char board_name[];
/* 1 when board_ticks_to_count() counts executed instructions, 0 when it counts cycles. */
extern const uint8_t board_counts_instructions;

/* Stop: semihosting exit under QEMU or a debugger, a system reset otherwise. */
void board_exit(int code) __attribute__((noreturn));

#endif /* FE_BOARD_H */
