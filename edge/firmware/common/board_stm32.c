/* board_stm32.c: the parts of board.h every STM32 board implements the same way (see
 * board_stm32.h): the receive ring behind board_host_getc, DWT cycles as ticks, exit. */
#include "board.h"
#include "board_stm32.h"
#include "cortexm.h"
#include "semihost.h"

#define GPIO_MODER(b) FE_REG32((b) + 0x00u)
#define GPIO_OSPEEDR(b) FE_REG32((b) + 0x08u)
#define GPIO_AFRL(b) FE_REG32((b) + 0x20u)
#define GPIO_AFRH(b) FE_REG32((b) + 0x24u)
#define START_TIMEOUT 1000000u
#define RX_RING 1024u /* power of two */

static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head; /* written by the interrupt */
static uint32_t rx_tail;          /* read by the loop */

void stm32_pin_af(uint32_t gpio, uint32_t pin, uint32_t af)
{
    GPIO_MODER(gpio) = (GPIO_MODER(gpio) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    GPIO_OSPEEDR(gpio) |= 3u << (2u * pin);
    if (pin < 8u) {
        GPIO_AFRL(gpio) = (GPIO_AFRL(gpio) & ~(0xFu << (4u * pin))) | (af << (4u * pin));
    } else {
        uint32_t s = 4u * (pin - 8u);
        GPIO_AFRH(gpio) = (GPIO_AFRH(gpio) & ~(0xFu << s)) | (af << s);
    }
}

int stm32_wait(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t i = 0; i < START_TIMEOUT; ++i) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

void stm32_rx_push(uint8_t b)
{
    if (rx_head - rx_tail < RX_RING) { /* full: drop; the protocol resyncs */
        rx_ring[rx_head & (RX_RING - 1u)] = b;
        ++rx_head;
    }
}

int board_host_getc(void)
{
    if (rx_tail == rx_head) {
        return -1;
    }
    int b = rx_ring[rx_tail & (RX_RING - 1u)];
    ++rx_tail;
    return b;
}

void stm32_cycles_start(void)
{
    CORE_DEMCR |= 1u << 24; /* TRCENA */
    DWT_LAR = 0xC5ACCE55u;  /* M7 lock access; no effect on an M4 */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
}

uint32_t board_ticks(void)
{
    return DWT_CYCCNT;
}

uint32_t board_ticks_to_count(uint32_t dt)
{
    return dt; /* cycles */
}

void board_exit(int code)
{
    if (CORE_DHCSR & 1u) { /* a debugger handles semihosting */
        semihost_exit(code);
    }
    SCB_AIRCR = SCB_AIRCR_RESET;
    for (;;) {
    }
}
