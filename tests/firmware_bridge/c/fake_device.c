/* fake_device.c: a stand-in device speaking the protocol over TCP, built from fe_proto.c.
 *
 * The host link tests talk to this real C peer instead of a Python mock. It listens on
 * 127.0.0.1 (port 0 = any; prints "PORT <n>"), sends HELLO when a host connects (like a board
 * booting), and then: HELLO_REQ -> HELLO, PING -> PONG, STATS_REQ -> STATS, RESET -> fresh
 * state + HELLO, KEYPOINTS -> buffered (window W, ERROR OUT_OF_CREDITS when full), processed
 * one at a time (CREDIT each) with an EVENTS message per hop of N frames whose tokens are
 * (frame_index * 7 + sum of the frame's int8 values) mod 243, mod 256 per item, offset 15385 us
 * * i. Bad frames get ERROR with the receiver's code. When the host disconnects it waits for
 * the next one with fresh state.
 *
 * Options: --port P --window W --hop N --version V (header version of its frames)
 *          --vocab-hash H --slow-us U (delay per processed frame)
 *          --reboot-after K (after K keypoints: fresh state, unsolicited HELLO)
 *          --drop-after K (after K keypoints: close the connection, as a board reset would) */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fe_proto.h"

#define MAX_WINDOW 64

typedef struct {
    int port, window, hop, version, slow_us, reboot_after, drop_after;
    uint32_t vocab_hash;
} opts_t;

typedef struct {
    int fd;
    uint16_t seq;
    fe_rx_t rx;
    fe_stats_t stats;
    uint8_t frames[MAX_WINDOW][FE_KEYPOINTS_SIZE];
    uint16_t frame_seq[MAX_WINDOW];
    int head, count;
    fe_event_t hop_events[FE_EVENTS_MAX_ITEMS];
    int n_hop;
    uint32_t hop_index;
} dev_t_;

static opts_t opt = {0, 4, 4, FE_PROTOCOL_VERSION, 0, 0, 0, 0};
static int kp_lifetime; /* KEYPOINTS accepted since the process started (survives resets) */

static int send_msg(dev_t_ *d, uint8_t type, const uint8_t *payload, size_t len) {
    uint8_t wire[FE_MAX_ENCODED_FRAME];
    size_t n = fe_frame_encode_version((uint8_t)opt.version, type, d->seq, payload, len, wire,
                                       sizeof wire);
    d->seq = (uint16_t)(d->seq == 0xFFFF ? 1 : d->seq + 1); /* 0 only announces a (re)start */
    for (size_t off = 0; off < n;) {
        ssize_t w = send(d->fd, wire + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

static void send_error(dev_t_ *d, uint16_t code, uint16_t ref) {
    uint8_t p[FE_MAX_PAYLOAD];
    d->stats.frames_bad++;
    send_msg(d, FE_MSG_ERROR, p, fe_pack_error(code, ref, fe_error_name(code), p, sizeof p));
}

static void send_hello(dev_t_ *d) {
    fe_hello_t h = {(uint16_t)opt.window, 0xFACEB00Cu, opt.vocab_hash, 1u << 20, 320u << 10,
                    FE_N_JOINTS, FE_N_CHANNELS, 0.0078125f, 0, 22.0f, (uint16_t)opt.hop, 32,
                    FE_INPUT_FRAME_IMAGE,
                    "fake-0.1", "host-fake"};
    uint8_t p[FE_MAX_PAYLOAD];
    send_msg(d, FE_MSG_HELLO, p, fe_pack_hello(&h, p, sizeof p));
}

static void fresh_state(dev_t_ *d) {
    int fd = d->fd;
    memset(d, 0, sizeof *d);
    d->fd = fd;
    fe_rx_init(&d->rx);
    d->stats.ack_seq = FE_SEQ_NONE;
    d->stats.counter_kind = FE_COUNTER_NONE;
}

static void process_one(dev_t_ *d) {
    const uint8_t *f = d->frames[d->head];
    uint16_t seq = d->frame_seq[d->head];
    d->head = (d->head + 1) % opt.window;
    d->count--;
    if (opt.slow_us) usleep((useconds_t)opt.slow_us);
    uint32_t idx = (uint32_t)f[0] | ((uint32_t)f[1] << 8) | ((uint32_t)f[2] << 16) |
                   ((uint32_t)f[3] << 24);
    int32_t sum = 0;
    for (int i = 0; i < FE_N_JOINTS * FE_N_CHANNELS; i++) sum += (int8_t)f[4 + i];
    uint8_t p[FE_MAX_PAYLOAD];
    d->stats.ack_seq = seq;
    send_msg(d, FE_MSG_CREDIT, p, fe_pack_credit(seq, 1, idx, p, sizeof p));
    int64_t tok = ((int64_t)idx * 7 + sum) % 243;
    d->hop_events[d->n_hop].token = (uint8_t)(tok < 0 ? tok + 243 : tok);
    d->hop_events[d->n_hop].offset_us = 15385u * (uint32_t)d->n_hop;
    if (++d->n_hop == opt.hop) {
        fe_events_hdr_t h = {d->hop_index++, d->hop_index * 1000u, FE_EVENTS_FLAG_LAST};
        size_t n = fe_pack_events(&h, d->hop_events, (size_t)d->n_hop, p, sizeof p);
        send_msg(d, FE_MSG_EVENTS, p, n);
        d->stats.enc_runs++;
        d->stats.tokens_tx += (uint32_t)d->n_hop;
        d->stats.dec_tokens += (uint32_t)d->n_hop;
        d->n_hop = 0;
    }
}

/* Returns 1 when the connection must be dropped (simulated board reset). */
static int dispatch(dev_t_ *d, const fe_msg_t *m) {
    uint8_t p[FE_MAX_PAYLOAD];
    uint32_t idx;
    const int8_t *v;
    const uint8_t *data;
    uint16_t len;
    d->stats.frames_rx++;
    if (m->type == FE_MSG_KEYPOINTS) {
        int rc = fe_unpack_keypoints(m, &idx, &v);
        if (rc != FE_OK) send_error(d, (uint16_t)rc, m->seq);
        else if (d->count == opt.window) send_error(d, FE_ERR_OUT_OF_CREDITS, m->seq);
        else {
            int slot = (d->head + d->count++) % opt.window;
            memcpy(d->frames[slot], m->payload, FE_KEYPOINTS_SIZE);
            d->frame_seq[slot] = m->seq;
            d->stats.keypoints_rx++;
            kp_lifetime++;
            if (opt.drop_after && kp_lifetime == opt.drop_after) return 1;
            if (opt.reboot_after && kp_lifetime == opt.reboot_after) {
                fresh_state(d);
                send_hello(d);
            }
        }
    } else if (m->type == FE_MSG_PING && fe_unpack_ping(m, &data, &len) == FE_OK) {
        send_msg(d, FE_MSG_PONG, data, len);
    } else if (fe_unpack_empty(m, FE_MSG_HELLO_REQ) == FE_OK) {
        send_hello(d);
    } else if (fe_unpack_empty(m, FE_MSG_STATS_REQ) == FE_OK) {
        fe_stats_t s = d->stats; /* frames_bad so far counts dispatch refusals only */
        s.frames_bad += d->rx.frames_bad;
        s.rx_pending = (uint16_t)d->count;
        send_msg(d, FE_MSG_STATS, p, fe_pack_stats(&s, p, sizeof p));
    } else if (fe_unpack_empty(m, FE_MSG_RESET) == FE_OK) {
        fresh_state(d);
        send_hello(d);
    } else {
        int empty = m->type == FE_MSG_HELLO_REQ || m->type == FE_MSG_STATS_REQ ||
                    m->type == FE_MSG_RESET;
        send_error(d, empty ? FE_ERR_BAD_LENGTH : FE_ERR_UNKNOWN_TYPE, m->seq);
    }
    return 0;
}

static void serve(int fd) {
    static dev_t_ d;
    d.fd = fd;
    fresh_state(&d);
    send_hello(&d);
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        struct timeval tv = {0, d.count ? 0 : 100000};
        int r = select(fd + 1, &rd, NULL, NULL, &tv);
        if (r < 0) return;
        if (r == 0) {
            if (d.count) process_one(&d);
            continue;
        }
        uint8_t buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        for (ssize_t i = 0; i < n; i++) {
            fe_rx_status_t st = fe_rx_push(&d.rx, buf[i]);
            if (st == FE_RX_ERROR) {
                uint16_t code = fe_rx_error(&d.rx);
                uint8_t p[FE_MAX_PAYLOAD];
                send_msg(&d, FE_MSG_ERROR, p,
                         fe_pack_error(code, FE_SEQ_NONE, fe_error_name(code), p, sizeof p));
            } else if (st == FE_RX_FRAME && dispatch(&d, fe_rx_msg(&d.rx))) {
                return;
            }
        }
    }
}

static void parse_args(int argc, char **argv) {
    opt.vocab_hash = FE_VOCAB_HASH_DEFAULT;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 0);
        if (!strcmp(argv[i], "--port")) opt.port = (int)v;
        else if (!strcmp(argv[i], "--window")) opt.window = (int)(v < 1 ? 1 : v > MAX_WINDOW ? MAX_WINDOW : v);
        else if (!strcmp(argv[i], "--hop")) opt.hop = (int)(v < 1 ? 1 : v > FE_EVENTS_MAX_ITEMS ? FE_EVENTS_MAX_ITEMS : v);
        else if (!strcmp(argv[i], "--version")) opt.version = (int)v;
        else if (!strcmp(argv[i], "--vocab-hash")) opt.vocab_hash = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--slow-us")) opt.slow_us = (int)v;
        else if (!strcmp(argv[i], "--reboot-after")) opt.reboot_after = (int)v;
        else if (!strcmp(argv[i], "--drop-after")) opt.drop_after = (int)v;
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)opt.port);
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("fake_device");
        return 1;
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) return 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(fd);
        close(fd);
    }
}
