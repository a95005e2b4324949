/* guard.h: guard words around the model arena and at the stack limit; high-water marks.
 *
 * Boot writes FE_GUARD_PATTERN into the word before the arena, the word after it and the
 * lowest stack word, and paints the free arena and stack, so fe_guard_check() finds overruns
 * and the high-water functions measure the deepest use since boot. The bits are those of the
 * protocol's STATS.guard_broken (FE_GUARD_* in fe_protocol.h).
 */
#ifndef FE_GUARD_H
#define FE_GUARD_H

#include <stdint.h>

#define FE_GUARD_PATTERN 0xFE6A7DEDu /* written into every guard word at boot */
#define FE_PAINT 0x5AC4C0DEu         /* fills the unused arena and stack at boot */

#define FE_GUARD_BIT_ARENA_HEAD 0x1u
#define FE_GUARD_BIT_ARENA_TAIL 0x2u
#define FE_GUARD_BIT_STACK 0x4u

/* Write the guard words and paint the arena and the free stack below the stack pointer. */
void fe_guard_init(void);
/* Bit mask of broken guards (0 when all are intact). */
uint32_t fe_guard_check(void);
/* Most stack bytes used since boot. */
uint32_t fe_stack_high_water(void);
/* Arena bytes written since boot (from the start to the highest word touched). */
uint32_t fe_arena_high_water(void);
/* Bytes reserved for the stack and the model arena by the linker script. */
uint32_t fe_stack_size(void);
uint32_t fe_arena_size(void);

#endif /* FE_GUARD_H */
