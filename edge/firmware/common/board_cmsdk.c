/* board_cmsdk.c: the board layer of the emulated MPS2/MPS3 boards (CMSDK UARTs).
 *
 * Each board's board_config.h names the UART0 (host link), UART1 (DIN MIDI) bases, the
 * peripheral clock, and the tick source: CMSDK timer0 (MPS2, 25 MHz) or SysTick at the CPU
 * clock with an overflow count (MPS3 AN547, whose SSE-300 has no free-running CMSDK timer
 * at the CPU clock). With QEMU's -icount shift=7 every instruction takes 2^7 = 128 ns of
 * virtual time, so a tick counter at F Hz advances 128e-9 * F ticks per instruction:
 * instructions = ticks / (128e-9 * F) = ticks * FE_TICKS_TO_COUNT_NUM / FE_TICKS_TO_COUNT_DEN.
 */
#include "board.h"
#include "board_config.h"
#include "cmsdk.h"
#include "cortexm.h"
#include "semihost.h"

const char board_name[] = FE_BOARD_NAME;
const uint8_t board_counts_instructions = 1u;
const uint32_t board_tick_hz = FE_TICK_HZ;

#if FE_TIMER_SYSTICK
static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    ++systick_wraps;
}
#endif

void board_init(void)
{
    cmsdk_uart_init(FE_UART_HOST_BASE, FE_PCLK_HZ, FE_HOST_BAUD);
    cmsdk_uart_init(FE_UART_DIN_BASE, FE_PCLK_HZ, FE_DIN_BAUD);
#if FE_TIMER_SYSTICK
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 0x7u; /* enable, interrupt on wrap, CPU clock */
    fe_enable_irq();
#else
    cmsdk_timer_start(FE_TIMER_BASE);
#endif
}

int board_host_getc(void)
{
    return cmsdk_uart_getc(FE_UART_HOST_BASE);
}

void board_host_write(const uint8_t *data, size_t n)
{
    cmsdk_uart_write(FE_UART_HOST_BASE, data, (uint32_t)n);
}

void board_din_write(const uint8_t *data, size_t n)
{
    cmsdk_uart_write(FE_UART_DIN_BASE, data, (uint32_t)n);
}

uint32_t board_ticks(void)
{
#if FE_TIMER_SYSTICK
    uint32_t wraps;
    uint32_t value;
    do { /* re-read when a wrap lands between the two reads */
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (wraps << 24) | (0x00FFFFFFu - value);
#else
    return cmsdk_timer_ticks(FE_TIMER_BASE);
#endif
}

uint32_t board_ticks_to_count(uint32_t dt)
{
    return (uint32_t)(((uint64_t)dt * FE_TICKS_TO_COUNT_NUM) / FE_TICKS_TO_COUNT_DEN);
}

void board_exit(int code)
{
    semihost_exit(code);
}
