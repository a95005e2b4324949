/* cmsdk.h: ARM CMSDK APB UART and timer, as on the MPS2/MPS3 FPGA images QEMU emulates. */
#ifndef FE_CMSDK_H
#define FE_CMSDK_H

#include <stdint.h>

#include "cortexm.h"

/* UART: DATA +0, STATE +4 (bit0 TX full, bit1 RX full), CTRL +8 (bit0 TX en, bit1 RX en),
 * BAUDDIV +0x10 (pclk / baud, at least 16). */
#define CMSDK_UART_DATA(b) FE_REG32((b) + 0x00u)
#define CMSDK_UART_STATE(b) FE_REG32((b) + 0x04u)
#define CMSDK_UART_CTRL(b) FE_REG32((b) + 0x08u)
#define CMSDK_UART_BAUDDIV(b) FE_REG32((b) + 0x10u)
#define CMSDK_UART_TX_FULL 0x1u
#define CMSDK_UART_RX_FULL 0x2u

/* Timer: CTRL +0 (bit0 enable), VALUE +4 (counts down), RELOAD +8. */
#define CMSDK_TIMER_CTRL(b) FE_REG32((b) + 0x00u)
#define CMSDK_TIMER_VALUE(b) FE_REG32((b) + 0x04u)
#define CMSDK_TIMER_RELOAD(b) FE_REG32((b) + 0x08u)

static inline void cmsdk_uart_init(uint32_t base, uint32_t pclk_hz, uint32_t baud)
{
    uint32_t div = pclk_hz / baud;
    CMSDK_UART_BAUDDIV(base) = div < 16u ? 16u : div;
    CMSDK_UART_CTRL(base) = 0x3u; /* TX and RX enabled, no interrupts */
    /* One read of DATA (nothing is lost: nothing can have arrived with RX off). On QEMU it
     * also tells the serial backend the receiver is open: a host that connected while RX was
     * still off is otherwise not read until QEMU's main loop next wakes, up to 1 s later
     * (measured: the first PING after boot answered in 1.0 s, then in 0.5 ms). */
    (void)CMSDK_UART_DATA(base);
}

static inline int cmsdk_uart_getc(uint32_t base)
{
    if ((CMSDK_UART_STATE(base) & CMSDK_UART_RX_FULL) == 0u) {
        return -1;
    }
    return (int)(CMSDK_UART_DATA(base) & 0xFFu);
}

static inline void cmsdk_uart_write(uint32_t base, const uint8_t *data, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        while ((CMSDK_UART_STATE(base) & CMSDK_UART_TX_FULL) != 0u) {
        }
        CMSDK_UART_DATA(base) = data[i];
    }
}

static inline void cmsdk_timer_start(uint32_t base)
{
    CMSDK_TIMER_CTRL(base) = 0u;
    CMSDK_TIMER_RELOAD(base) = 0xFFFFFFFFu;
    CMSDK_TIMER_VALUE(base) = 0xFFFFFFFFu;
    CMSDK_TIMER_CTRL(base) = 1u;
}

/* Up-counting view of the down-counting timer. */
static inline uint32_t cmsdk_timer_ticks(uint32_t base)
{
    return 0xFFFFFFFFu - CMSDK_TIMER_VALUE(base);
}

#endif /* FE_CMSDK_H */
