/* fuzz_rx.c: the byte-wise receiver against hostile input (built with ASan + UBSan).
 *
 *   fuzz_rx replay FILE      feed FILE's bytes, print one line per event:
 *                            "F <type> <seq> <length> <crc16 of payload>" or "E <code>"
 *                            (the test compares these lines with Python's FrameReader)
 *   fuzz_rx random N SEED    feed N pseudo-random bytes (runs of garbage, long non-zero runs,
 *                            truncated and bit-flipped real frames); after each burst send a
 *                            0x00 and a good frame, which must decode. Exit status = failures.
 * After every byte the receiver's fill level must stay within its buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe_proto.h"

static int failures;

static fe_rx_status_t push(fe_rx_t *rx, uint8_t b) {
    fe_rx_status_t st = fe_rx_push(rx, b);
    if (rx->len > FE_MAX_RAW_FRAME) {
        printf("FAIL: fill %u past the buffer\n", (unsigned)rx->len);
        exit(100);
    }
    return st;
}

static int replay(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    fe_rx_t *rx = malloc(sizeof *rx); /* exact size: ASan sees any write past the end */
    fe_rx_init(rx);
    int c;
    while ((c = fgetc(f)) != EOF) {
        fe_rx_status_t st = push(rx, (uint8_t)c);
        if (st == FE_RX_FRAME) {
            const fe_msg_t *m = fe_rx_msg(rx);
            printf("F %u %u %u %u\n", m->type, m->seq, m->length,
                   fe_crc16(FE_CRC16_INIT, m->payload, m->length));
        } else if (st == FE_RX_ERROR) {
            printf("E %u\n", fe_rx_error(rx));
        }
    }
    fclose(f);
    free(rx);
    return 0;
}

static uint32_t rng_state;

static uint32_t rnd(void) { /* xorshift32 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* One burst of hostile bytes into buf; returns its length (<= cap). */
static size_t hostile(uint8_t *buf, size_t cap, uint16_t seq) {
    size_t n = 0;
    switch (rnd() % 4) {
    case 0: /* garbage with zeros now and then */
        n = 1 + rnd() % 700;
        for (size_t i = 0; i < n; i++) buf[i] = (rnd() % 8 == 0) ? 0 : (uint8_t)rnd();
        break;
    case 1: /* a long run without a delimiter */
        n = 500 + rnd() % 1500;
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(1 + rnd() % 255);
        break;
    default: { /* a real frame, truncated or with flipped bits */
        uint8_t payload[FE_MAX_PAYLOAD];
        size_t len = rnd() % (FE_MAX_PAYLOAD + 1);
        for (size_t i = 0; i < len; i++) payload[i] = (uint8_t)rnd();
        n = fe_frame_encode(FE_MSG_PING, seq, payload, len, buf, cap);
        if (rnd() % 2) {
            n = 1 + rnd() % (n - 1);
        } else {
            for (int k = 0; k < 1 + (int)(rnd() % 3); k++) buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
        }
    }
    }
    return n;
}

static int random_run(long total, uint32_t seed) {
    static uint8_t burst[4096], good[FE_MAX_ENCODED_FRAME];
    fe_rx_t *rx = malloc(sizeof *rx);
    fe_rx_init(rx);
    rng_state = seed ? seed : 1;
    long fed = 0, bursts = 0, errors = 0;
    uint16_t seq = 0;
    while (fed < total) {
        size_t n = hostile(burst, sizeof burst, seq);
        for (size_t i = 0; i < n; i++) errors += push(rx, burst[i]) == FE_RX_ERROR;
        errors += push(rx, 0) == FE_RX_ERROR; /* resync point */
        uint8_t payload[4] = {(uint8_t)seq, (uint8_t)(seq >> 8), 0xA5, 0x5A};
        size_t m = fe_frame_encode(FE_MSG_PING, ++seq, payload, sizeof payload, good, sizeof good);
        fe_rx_status_t st = FE_RX_NONE;
        for (size_t i = 0; i < m; i++) st = push(rx, good[i]);
        const fe_msg_t *msg = fe_rx_msg(rx);
        if (st != FE_RX_FRAME || msg->seq != seq || memcmp(msg->payload, payload, 4) != 0) {
            printf("FAIL: good frame %u after burst %ld not decoded (status %d)\n", seq, bursts, st);
            failures++;
        }
        fed += (long)(n + 1 + m);
        bursts++;
    }
    printf("random: %ld bytes, %ld bursts, %ld bad frames reported, %u good, %d failures\n", fed,
           bursts, errors, (unsigned)rx->frames_ok, failures);
    free(rx);
    return failures;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "replay") == 0) return replay(argv[2]);
    if (argc == 4 && strcmp(argv[1], "random") == 0)
        return random_run(atol(argv[2]), (uint32_t)strtoul(argv[3], NULL, 0));
    fprintf(stderr, "usage: fuzz_rx replay FILE | fuzz_rx random N SEED\n");
    return 2;
}
