/* bench_lines.h: the lines a bench image prints on the host UART (foley-edge bench):
 * "KEY v0 v1 ..." in decimal, or "KEY index hexbytes" for a byte buffer; parsed by
 * benchmarks/board.py and benchmarks/peer.py. Shared by the generated-C and TFLM bench mains. */
#ifndef BENCH_LINES_H
#define BENCH_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"

/* Writes "KEY v0 v1 ... v(n-1)" (n <= 4, key <= 16 chars) without ending the line. */
static void bench_head(const char *key, int n, const uint32_t *values)
{
    char buf[64];
    size_t len = 0;
    int j;
    while (key[len] != '\0' && len < 16u) {
        buf[len] = key[len];
        ++len;
    }
    for (j = 0; j < n && j < 4; ++j) {
        char digits[10];
        int d = 0;
        uint32_t v = values[j];
        buf[len++] = ' ';
        do {
            digits[d++] = (char)('0' + (v % 10u));
            v /= 10u;
        } while (v != 0u);
        while (d > 0) {
            buf[len++] = digits[--d];
        }
    }
    board_host_write((const uint8_t *)buf, len);
}

/* "KEY v0 ... v(n-1)\n". */
static void bench_put(const char *key, int n, const uint32_t *values)
{
    bench_head(key, n, values);
    board_host_write((const uint8_t *)"\n", 1u);
}

/* "KEY index hexbytes\n". */
static void bench_put_hex(const char *key, uint32_t index, const uint8_t *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char chunk[64];
    size_t used = 0;
    size_t i;
    bench_head(key, 1, &index);
    chunk[used++] = ' ';
    for (i = 0; i < n; ++i) {
        if (used + 2u > sizeof chunk) {
            board_host_write((const uint8_t *)chunk, used);
            used = 0;
        }
        chunk[used++] = hex[bytes[i] >> 4];
        chunk[used++] = hex[bytes[i] & 15u];
    }
    board_host_write((const uint8_t *)chunk, used);
    board_host_write((const uint8_t *)"\n", 1u);
}

#endif /* BENCH_LINES_H */
