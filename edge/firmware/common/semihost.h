/* semihost.h: ARM semihosting: SYS_EXIT (how the firmware ends a QEMU run cleanly) and
 * SYS_WRITE0 (debug text on the emulator's console, only in debug builds). */
#ifndef FE_SEMIHOST_H
#define FE_SEMIHOST_H

/* Exit the emulator (QEMU with -semihosting-config enable=on,target=native): status 0 for
 * code 0, status 1 otherwise. Only call it when a debugger or QEMU handles BKPT 0xAB. */
void semihost_exit(int code) __attribute__((noreturn));

/* Write a NUL-terminated string to the debugger's / QEMU's console (stdout of QEMU). Only
 * call it when a debugger or QEMU handles BKPT 0xAB: on a bare board it stops the core. */
void semihost_write0(const char *text);

#endif /* FE_SEMIHOST_H */
