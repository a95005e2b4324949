/* guard.c: guard words and painting (the symbols come from sections.ld). */
#include "guard.h"

extern uint32_t __arena_head_guard[];
extern uint32_t __arena_start[];
extern uint32_t __arena_end[];
extern uint32_t __arena_guard[];
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];

#define STACK_PAINT_MARGIN_WORDS 32u /* leave the frames live at boot untouched */

static uint32_t *current_sp(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

static void paint(volatile uint32_t *p, const uint32_t *end)
{
    while (p < end) {
        *p++ = FE_PAINT;
    }
}

void fe_guard_init(void)
{
    *(volatile uint32_t *)__arena_head_guard = FE_GUARD_PATTERN;
    *(volatile uint32_t *)__arena_guard = FE_GUARD_PATTERN;
    *(volatile uint32_t *)__stack_limit = FE_GUARD_PATTERN;
    paint(__arena_start, __arena_end);
    paint(__stack_limit + 1, current_sp() - STACK_PAINT_MARGIN_WORDS);
}

uint32_t fe_guard_check(void)
{
    uint32_t broken = 0u;
    if (*(volatile uint32_t *)__arena_head_guard != FE_GUARD_PATTERN) {
        broken |= FE_GUARD_BIT_ARENA_HEAD;
    }
    if (*(volatile uint32_t *)__arena_guard != FE_GUARD_PATTERN) {
        broken |= FE_GUARD_BIT_ARENA_TAIL;
    }
    if (*(volatile uint32_t *)__stack_limit != FE_GUARD_PATTERN) {
        broken |= FE_GUARD_BIT_STACK;
    }
    return broken;
}

uint32_t fe_stack_high_water(void)
{
    const volatile uint32_t *p = __stack_limit + 1;
    while (p < __stack_top && *p == FE_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

uint32_t fe_arena_high_water(void)
{
    const volatile uint32_t *p = __arena_end;
    while (p > __arena_start && p[-1] == FE_PAINT) {
        --p;
    }
    return (uint32_t)((uintptr_t)p - (uintptr_t)__arena_start);
}

uint32_t fe_stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

uint32_t fe_arena_size(void)
{
    return (uint32_t)((uintptr_t)__arena_end - (uintptr_t)__arena_start);
}
