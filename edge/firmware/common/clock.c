/* clock.c: 64-bit tick count and microseconds from board_ticks(). */
#include "clock.h"

#include "board.h"

static uint32_t last_ticks;
static uint64_t total_ticks;

uint64_t fe_clock_poll(void)
{
    uint32_t now = board_ticks();
    total_ticks += (uint32_t)(now - last_ticks);
    last_ticks = now;
    return total_ticks;
}

uint32_t fe_clock_us(void)
{
    return (uint32_t)((fe_clock_poll() * 1000000u) / board_tick_hz);
}
