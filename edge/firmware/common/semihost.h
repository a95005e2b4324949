/* semihost.h: ARM semihosting SYS_EXIT, how the firmware ends a QEMU run cleanly. */
#ifndef FE_SEMIHOST_H
#define FE_SEMIHOST_H

/* Exit the emulator (QEMU with -semihosting-config enable=on,target=native): status 0 for
 * code 0, status 1 otherwise. Only call it when a debugger or QEMU handles BKPT 0xAB. */
void semihost_exit(int code) __attribute__((noreturn));

#endif /* FE_SEMIHOST_H */
