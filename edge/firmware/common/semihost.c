/* semihost.c: SYS_EXIT through BKPT 0xAB (r0 = 0x18, r1 = reason). */
#include "semihost.h"

#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u    /* QEMU exits with status 1 */

void semihost_exit(int code)
{
    register unsigned r0 __asm("r0") = SYS_EXIT;
    register unsigned r1 __asm("r1") =
        code == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

#define SYS_WRITE0 0x04u

void semihost_write0(const char *text)
{
    register unsigned r0 __asm("r0") = SYS_WRITE0;
    register const char *r1 __asm("r1") = text;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}
