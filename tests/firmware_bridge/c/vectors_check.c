/* vectors_check.c: the C protocol against the shared vectors (Python-generated), byte for byte.
 * Built by tests/firmware_bridge/test_protocol_c.py with vectors_data.h rendered from
 * tests/fixtures/protocol_vectors.json. Prints one line per failure; exit status = failures. */
#include <stdio.h>
#include <string.h>

#include "fe_proto.h"

static int failures;
#define CHECK(cond, ...)                                      \
    do {                                                      \
        if (!(cond)) {                                        \
            failures++;                                       \
            printf("FAIL line %d: ", __LINE__);               \
            printf(__VA_ARGS__);                              \
            printf("\n");                                     \
        }                                                     \
    } while (0)

typedef struct { const uint8_t *data; size_t len; uint16_t crc; } crc_vec_t;
typedef struct { const uint8_t *raw; size_t raw_len; const uint8_t *enc; size_t enc_len; } cobs_vec_t;
typedef void (*msg_check_fn)(const fe_msg_t *m, const uint8_t *payload, size_t len);
typedef struct {
    const char *name;
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *frame;
    size_t frame_len;
    msg_check_fn check;
} msg_vec_t;
typedef struct { const char *name; const uint8_t *wire; size_t len; uint8_t type; uint16_t code; } bad_vec_t;

#include "vectors_data.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Feed bytes; return the status of the last byte and require NONE before it. */
static fe_rx_status_t feed(fe_rx_t *rx, const uint8_t *p, size_t n, const char *what) {
    fe_rx_status_t st = FE_RX_NONE;
    for (size_t i = 0; i < n; i++) {
        st = fe_rx_push(rx, p[i]);
        if (i + 1 < n) CHECK(st == FE_RX_NONE, "%s: early status %d at byte %zu", what, st, i);
    }
    return st;
}

static void check_crc_cobs(void) {
    CHECK(fe_crc16(FE_CRC16_INIT, (const uint8_t *)"123456789", 9) == FE_CRC16_CHECK, "check");
    for (size_t i = 0; i < COUNT(crc_vecs); i++) {
        uint16_t c = fe_crc16(FE_CRC16_INIT, crc_vecs[i].data, crc_vecs[i].len);
        CHECK(c == crc_vecs[i].crc, "crc %zu: 0x%04X vs 0x%04X", i, c, crc_vecs[i].crc);
    }
    for (size_t i = 0; i < COUNT(cobs_vecs); i++) {
        uint8_t out[2 * FE_MAX_RAW_FRAME];
        size_t n = fe_cobs_encode(cobs_vecs[i].raw, cobs_vecs[i].raw_len, out, sizeof out);
        CHECK(n == cobs_vecs[i].enc_len && memcmp(out, cobs_vecs[i].enc, n) == 0, "cobs %zu", i);
        CHECK(fe_cobs_encode(cobs_vecs[i].raw, cobs_vecs[i].raw_len, out, n - 1) == 0,
              "cobs %zu: short cap accepted", i);
    }
}

static void check_messages(fe_rx_t *rx) {
    for (size_t i = 0; i < COUNT(msg_vecs); i++) {
        const msg_vec_t *v = &msg_vecs[i];
        uint8_t wire[FE_MAX_ENCODED_FRAME];
        size_t n = fe_frame_encode(v->type, v->seq, v->payload, v->payload_len, wire, sizeof wire);
        CHECK(n == v->frame_len && memcmp(wire, v->frame, n) == 0, "%s: frame differs", v->name);
        CHECK(fe_frame_encode(v->type, v->seq, v->payload, v->payload_len, wire, n - 1) == 0,
              "%s: short cap accepted", v->name);
        fe_rx_status_t st = feed(rx, v->frame, v->frame_len, v->name);
        CHECK(st == FE_RX_FRAME, "%s: status %d error %u", v->name, st, fe_rx_error(rx));
        if (st != FE_RX_FRAME) continue;
        const fe_msg_t *m = fe_rx_msg(rx);
        CHECK(m->type == v->type && m->seq == v->seq && m->length == v->payload_len &&
                  memcmp(m->payload, v->payload, v->payload_len) == 0,
              "%s: decoded header/payload differ", v->name);
        v->check(m, v->payload, v->payload_len);
    }
}

static void check_bad(fe_rx_t *rx) {
    const msg_vec_t *good = &msg_vecs[0];
    for (size_t i = 0; i < COUNT(bad_vecs); i++) {
        const bad_vec_t *b = &bad_vecs[i];
        fe_rx_status_t st = feed(rx, b->wire, b->len, b->name);
        CHECK(st == FE_RX_ERROR && fe_rx_error(rx) == b->code, "%s: status %d code %u, want %u",
              b->name, st, fe_rx_error(rx), b->code);
        st = feed(rx, good->frame, good->frame_len, "good after bad");
        CHECK(st == FE_RX_FRAME, "%s: good frame after it not decoded", b->name);
    }
    for (size_t i = 0; i < COUNT(bad_payload_vecs); i++) {
        const bad_vec_t *b = &bad_payload_vecs[i];
        CHECK(feed(rx, b->wire, b->len, b->name) == FE_RX_FRAME, "%s: frame", b->name);
        const fe_msg_t *m = fe_rx_msg(rx);
        int rc;
        uint32_t idx;
        const int8_t *v;
        uint16_t a, c;
        if (b->type == FE_MSG_KEYPOINTS) rc = fe_unpack_keypoints(m, &idx, &v);
        else if (b->type == FE_MSG_CREDIT) rc = fe_unpack_credit(m, &a, &c, &idx);
        else rc = fe_unpack_empty(m, b->type);
        CHECK(rc == b->code, "%s: unpack %d, want %u", b->name, rc, b->code);
        CHECK(fe_unpack_ping(m, (const uint8_t **)&v, &a) == FE_ERR_UNKNOWN_TYPE, "%s", b->name);
    }
}

int main(void) {
    static fe_rx_t rx;
    fe_rx_init(&rx);
    check_crc_cobs();
    check_messages(&rx);
    check_bad(&rx);
    printf("vectors: %zu crc, %zu cobs, %zu messages, %zu bad frames, %zu bad payloads; "
           "%d failures; rx ok %u bad %u\n",
           COUNT(crc_vecs), COUNT(cobs_vecs), COUNT(msg_vecs), COUNT(bad_vecs),
           COUNT(bad_payload_vecs), failures, (unsigned)rx.frames_ok, (unsigned)rx.frames_bad);
    return failures;
}
