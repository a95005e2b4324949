/* clock.h: a 64-bit device clock over the board's wrapping 32-bit tick counter. */
#ifndef FE_CLOCK_H
#define FE_CLOCK_H

#include <stdint.h>

/* Fold the ticks elapsed since the last call into the 64-bit count; call at least once per
 * counter wrap (2^32 ticks: 171 s at 25 MHz). Returns the current 64-bit tick count. */
uint64_t fe_clock_poll(void);
/* Device time in microseconds since boot (virtual time under QEMU), truncated to 32 bits. */
uint32_t fe_clock_us(void);

#endif /* FE_CLOCK_H */
