/* fe_tflm_support.cc: the few C++ runtime symbols TFLite Micro needs in a firmware that links
 * no libstdc++ (Debian ships arm-none-eabi C++ headers, libstdc++-arm-none-eabi-dev, without
 * needing the 313 MB libraries): nothing is ever allocated on a heap, so the deleting
 * destructors' operator delete is never reached; a pure virtual call is a bug, so it traps. */
#include <stddef.h>

void operator delete(void *) noexcept {}
void operator delete(void *, size_t) noexcept {}

extern "C" void __cxa_pure_virtual(void)
{
    for (;;) {
        __asm__ volatile("bkpt #0");
    }
}

/* The library is built with TF_LITE_STRIP_ERROR_STRINGS, where MicroPrintf is a macro that
 * discards its arguments, except micro_interpreter_graph.cc, which keeps its strings so that its
 * per-operator profiler hook exists (firmware_bridge/tflm/library.py): its error paths call
 * MicroPrintf, which discards them here as the stripped build would. */
void MicroPrintf(const char *format, ...)
{
    (void)format;
}
