/* main.c: the firmware loop. Keypoint frames in over the host UART, MIDI events out.
 *
 * Boot: board_init, guard words, model init, HELLO. Then forever:
 *   - a byte from the host goes to the protocol receiver (fe_rx_t); a good frame is
 *     dispatched (HELLO_REQ, PING, KEYPOINTS, STATS_REQ, RESET), a bad one is answered with
 *     ERROR and the receiver resynchronises at the next 0x00;
 *   - with no byte waiting, one queued KEYPOINTS frame enters the window ring (persistent
 *     SRAM; until it fills, the slots before the first frame repeat that frame, as the host's
 *     windows do) and is acknowledged with CREDIT; every `hop` frames the model runs
 *     (fe_model_encode, then fe_model_decode_step until the hop is done), each run and each
 *     decoder step metered in instructions (QEMU -icount) or cycles (DWT), and the tokens go
 *     back as EVENTS and out of the DIN UART as MIDI bytes (one TokenToMidi stream per hop,
 *     din.h); decoder steps that end the hop (FE_MODEL_END, EOS) are metered as tokens too.
 *     A streaming model (FE_MODEL_STREAMS, fe_model.h) needs only the hop's new frames: the
 *     ring holds `hop` frames, and the stream's first frame also primes the model
 *     (fe_model_start) once it is acknowledged.
 * No malloc, no printf: every buffer is static and sized at compile time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "clock.h"
#include "din.h"
#include "fe_model.h"
#include "fe_proto.h"
#include "fe_vocab.h"
#include "guard.h"

#ifndef FE_FW_VERSION
#define FE_FW_VERSION "dev"
#endif
#ifndef FE_FLASH_BUDGET
#define FE_FLASH_BUDGET 0u
#endif
#ifndef FE_SRAM_BUDGET
#define FE_SRAM_BUDGET 0u
#endif
#ifndef FE_WINDOW_MAX_FRAMES
#define FE_WINDOW_MAX_FRAMES 64u
#endif
#define RX_QUEUE 4u /* KEYPOINTS frames buffered: the host's credits */

_Static_assert(FE_FRAME_BYTES == FE_N_JOINTS * FE_N_CHANNELS, "frame size differs from spec");
_Static_assert(FE_GUARD_BIT_ARENA_HEAD == FE_GUARD_ARENA_HEAD, "guard bits differ from spec");
_Static_assert(FE_GUARD_BIT_ARENA_TAIL == FE_GUARD_ARENA_TAIL, "guard bits differ from spec");
_Static_assert(FE_GUARD_BIT_STACK == FE_GUARD_STACK, "guard bits differ from spec");

typedef struct {
    uint16_t seq;         /* seq of the KEYPOINTS frame */
    uint32_t frame_index; /* host frame index */
    int8_t values[FE_FRAME_BYTES];
} queued_frame_t;

typedef struct {
    uint32_t runs;
    uint64_t total;
    uint32_t last;
} meter_t;

static fe_rx_t rx;
static uint16_t tx_seq;
static uint8_t tx_payload[FE_MAX_PAYLOAD];
static uint8_t tx_wire[FE_MAX_ENCODED_FRAME];

static queued_frame_t queue[RX_QUEUE];
static uint16_t queue_head;
static uint16_t queue_count;

static FE_PERSISTENT int8_t window_frames[FE_WINDOW_MAX_FRAMES * FE_FRAME_BYTES];
static fe_window_t window;
static uint16_t frames_since_hop;
static uint32_t hop_index;
static uint8_t hop_tokens[FE_MODEL_MAX_TOKENS_PER_HOP];
#ifdef FE_MODEL_STREAMS
static uint8_t stream_started; /* fe_model_start ran for this stream */
#define RING_FRAMES(m) ((m)->hop) /* a streamed encoder takes the hop's new frames only */
#else
#define RING_FRAMES(m) ((m)->context_frames)
#endif
static fe_event_t hop_events[FE_EVENTS_MAX_ITEMS];

static meter_t enc_meter;
static meter_t dec_meter;
static uint32_t keypoints_rx;
static uint32_t tokens_tx;
static uint32_t bad_payloads; /* well-framed messages the device cannot accept */
static uint16_t ack_seq;
static uint32_t guard_reported;

static void send(uint8_t type, size_t len)
{
    size_t n = fe_frame_encode(type, tx_seq, tx_payload, len, tx_wire, sizeof tx_wire);
    if (n > 0u) {
        board_host_write(tx_wire, n);
        ++tx_seq;
    }
}

static void send_error(uint16_t code, uint16_t ref_seq, const char *detail)
{
    send(FE_MSG_ERROR, fe_pack_error(code, ref_seq, detail, tx_payload, sizeof tx_payload));
}

static void send_hello(void)
{
    const fe_model_info_t *m = fe_model_info();
    fe_hello_t h = {
        .rx_window = RX_QUEUE,
        .model_hash = m->model_hash,
        .vocab_hash = FE_VOCAB_HASH,
        .flash_budget = FE_FLASH_BUDGET,
        .sram_budget = FE_SRAM_BUDGET,
        .n_joints = FE_N_JOINTS,
        .n_channels = FE_N_CHANNELS,
        .input_scale = m->input_scale,
        .input_zero_point = m->input_zero_point,
        .fps = m->fps,
        .hop = m->hop,
        .context_frames = m->context_frames,
        .input_frame = m->input_frame,
        .fw_version = FE_FW_VERSION,
        .board = board_name,
    };
    send(FE_MSG_HELLO, fe_pack_hello(&h, tx_payload, sizeof tx_payload));
}

static void send_stats(void)
{
    fe_stats_t s = {
        .frames_rx = rx.frames_ok,
        .frames_bad = rx.frames_bad + bad_payloads,
        .keypoints_rx = keypoints_rx,
        .tokens_tx = tokens_tx,
        .enc_runs = enc_meter.runs,
        .enc_instr_total = enc_meter.total,
        .enc_instr_last = enc_meter.last,
        .dec_tokens = dec_meter.runs,
        .dec_instr_total = dec_meter.total,
        .dec_instr_last = dec_meter.last,
        .stack_hwm = fe_stack_high_water(),
        .stack_size = fe_stack_size(),
        .arena_hwm = fe_arena_high_water(),
        .arena_size = fe_arena_size(),
        .guard_broken = (uint8_t)fe_guard_check(),
        .counter_kind = board_counts_instructions ? FE_COUNTER_INSTRUCTIONS : FE_COUNTER_CYCLES,
        .ack_seq = ack_seq,
        .rx_pending = queue_count,
        .time_us = fe_clock_us(),
    };
    send(FE_MSG_STATS, fe_pack_stats(&s, tx_payload, sizeof tx_payload));
}

void fe_window_copy(const fe_window_t *w, int8_t *dst)
{
    uint16_t missing = (uint16_t)(w->capacity - w->count);
    for (uint16_t i = 0; i < w->count; ++i) {
        uint16_t slot = (uint16_t)((w->oldest + i) % w->capacity);
        memcpy(dst + (size_t)(missing + i) * FE_FRAME_BYTES,
               w->frames + (size_t)slot * FE_FRAME_BYTES, FE_FRAME_BYTES);
    }
    for (uint16_t i = 0; i < missing; ++i) { /* before the first frame: repeat it (or fill) */
        if (w->count > 0u) {
            memcpy(dst + (size_t)i * FE_FRAME_BYTES, dst + (size_t)missing * FE_FRAME_BYTES,
                   FE_FRAME_BYTES);
        } else {
            memset(dst + (size_t)i * FE_FRAME_BYTES, w->fill, FE_FRAME_BYTES);
        }
    }
}

static void window_push(const queued_frame_t *f)
{
    uint16_t slot;
    if (window.count < window.capacity) {
        slot = (uint16_t)((window.oldest + window.count) % window.capacity);
        ++window.count;
    } else {
        slot = window.oldest;
        window.oldest = (uint16_t)((window.oldest + 1u) % window.capacity);
    }
    memcpy(&window_frames[(size_t)slot * FE_FRAME_BYTES], f->values, FE_FRAME_BYTES);
    window.newest_index = f->frame_index;
}

static void meter_add(meter_t *m, uint32_t t0)
{
    uint32_t count = board_ticks_to_count(board_ticks() - t0);
    m->last = count;
    m->total += count;
    ++m->runs;
}

/* Decode one hop into hop_tokens; returns the number of tokens, or -1 when the model failed. */
static int decode_hop(void)
{
    uint32_t t0 = board_ticks();
    if (fe_model_encode(&window) != 0) {
        return -1;
    }
    meter_add(&enc_meter, t0);
    int n = 0;
    while (n < (int)FE_MODEL_MAX_TOKENS_PER_HOP) {
        uint8_t token = 0u;
        t0 = board_ticks();
        int r = fe_model_decode_step(&token);
        if (r < 0) {
            return -1;
        }
        if (r == FE_MODEL_HOP_DONE) {
            break;
        }
        meter_add(&dec_meter, t0); /* FE_MODEL_END: a step ran (EOS), no token */
        if (r == FE_MODEL_END) {
            break;
        }
        hop_tokens[n++] = token;
    }
    return n;
}

/* Send the hop's tokens as EVENTS (split at FE_EVENTS_MAX_ITEMS) and as DIN MIDI bytes. */
static void send_hop(int n, uint32_t hop_time_us)
{
    fe_events_hdr_t h = {.hop_index = hop_index, .time_us = hop_time_us, .flags = 0u};
    uint32_t offset_us = 0u;
    int start = 0;
    fe_din_hop_begin();
    do {
        size_t k = 0u;
        while (start + (int)k < n && k < FE_EVENTS_MAX_ITEMS) {
            uint8_t t = hop_tokens[start + (int)k];
            hop_events[k].token = t;
            hop_events[k].offset_us = offset_us;
            if (t >= FE_TIME_SHIFT_OFFSET && t < FE_TIME_SHIFT_OFFSET + FE_N_TIME_SHIFT_BINS) {
                offset_us += fe_time_shift_us[t - FE_TIME_SHIFT_OFFSET];
            }
            fe_din_token(t);
            ++k;
        }
        start += (int)k;
        h.flags = start >= n ? FE_EVENTS_FLAG_LAST : 0u;
        send(FE_MSG_EVENTS, fe_pack_events(&h, hop_events, k, tx_payload, sizeof tx_payload));
        tokens_tx += (uint32_t)k;
    } while (start < n);
    fe_din_hop_end();
}

static void check_guards(void)
{
    uint32_t broken = fe_guard_check();
    if (broken != 0u && broken != guard_reported) {
        guard_reported = broken;
        send_error(FE_ERR_GUARD, FE_SEQ_NONE, "guard word overwritten (see STATS)");
    }
}

static void run_hop(void)
{
    uint32_t hop_time_us = fe_clock_us();
    int n = decode_hop();
    if (n < 0) {
        send_error(FE_ERR_INTERNAL, FE_SEQ_NONE, "model failed");
        n = 0;
    }
    send_hop(n, hop_time_us);
    ++hop_index;
    check_guards();
}

static void process_queued(void)
{
    const queued_frame_t *f = &queue[queue_head];
    window_push(f);
    ack_seq = f->seq;
    uint32_t frame_index = f->frame_index;
    queue_head = (uint16_t)((queue_head + 1u) % RX_QUEUE);
    --queue_count;
    send(FE_MSG_CREDIT, fe_pack_credit(ack_seq, 1u, frame_index, tx_payload, sizeof tx_payload));
#ifdef FE_MODEL_STREAMS
    if (!stream_started) {
        stream_started = 1u;
        if (fe_model_start(&window) != 0) {
            send_error(FE_ERR_INTERNAL, FE_SEQ_NONE, "model failed to start the stream");
        }
    }
#endif
    if (++frames_since_hop >= fe_model_info()->hop) {
        frames_since_hop = 0u;
        run_hop();
    }
}

static void on_keypoints(const fe_msg_t *m)
{
    uint32_t frame_index;
    const int8_t *values;
    int r = fe_unpack_keypoints(m, &frame_index, &values);
    if (r != FE_OK) {
        ++bad_payloads;
        send_error((uint16_t)r, m->seq, fe_error_name((uint16_t)r));
        return;
    }
    if (window.capacity == 0u) {
        ++bad_payloads;
        send_error(FE_ERR_BAD_STATE, m->seq, "model ring exceeds FE_WINDOW_MAX_FRAMES");
        return;
    }
    if (queue_count >= RX_QUEUE) {
        send_error(FE_ERR_OUT_OF_CREDITS, m->seq, "keypoints queue full");
        return;
    }
    queued_frame_t *q = &queue[(queue_head + queue_count) % RX_QUEUE];
    q->seq = m->seq;
    q->frame_index = frame_index;
    memcpy(q->values, values, FE_FRAME_BYTES);
    ++queue_count;
    ++keypoints_rx;
}

static void reset_state(void)
{
    const fe_model_info_t *m = fe_model_info();
    fe_rx_init(&rx);
    tx_seq = 0u;
    queue_head = queue_count = 0u;
    frames_since_hop = 0u;
    hop_index = 0u;
    keypoints_rx = tokens_tx = bad_payloads = 0u;
    enc_meter = (meter_t){0u, 0u, 0u};
    dec_meter = (meter_t){0u, 0u, 0u};
    ack_seq = FE_SEQ_NONE;
    memset(window_frames, 0, sizeof window_frames);
#ifdef FE_MODEL_STREAMS
    stream_started = 0u;
#endif
    window = (fe_window_t){
        .frames = window_frames,
        .capacity = RING_FRAMES(m) <= FE_WINDOW_MAX_FRAMES ? RING_FRAMES(m) : 0u,
        .fill = m->input_zero_point,
    };
    fe_din_init();
    if (fe_model_init() != 0) {
        send_error(FE_ERR_INTERNAL, FE_SEQ_NONE, "model init failed");
    }
}

static void dispatch(const fe_msg_t *m)
{
    int r = FE_OK;
    const uint8_t *data;
    uint16_t len;
    switch (m->type) {
    case FE_MSG_KEYPOINTS:
        on_keypoints(m);
        return;
    case FE_MSG_PING:
        r = fe_unpack_ping(m, &data, &len);
        if (r == FE_OK) {
            memcpy(tx_payload, data, len);
            send(FE_MSG_PONG, len);
        }
        break;
    case FE_MSG_HELLO_REQ:
        r = fe_unpack_empty(m, FE_MSG_HELLO_REQ);
        if (r == FE_OK) {
            send_hello();
        }
        break;
    case FE_MSG_STATS_REQ:
        r = fe_unpack_empty(m, FE_MSG_STATS_REQ);
        if (r == FE_OK) {
            send_stats();
        }
        break;
    case FE_MSG_RESET:
        r = fe_unpack_empty(m, FE_MSG_RESET);
        if (r == FE_OK) {
            fe_din_panic();
            reset_state();
            send_hello();
        }
        break;
    default:
        r = FE_ERR_UNKNOWN_TYPE; /* a device-to-host type sent to the device */
        break;
    }
    if (r != FE_OK) {
        ++bad_payloads;
        send_error((uint16_t)r, m->seq, fe_error_name((uint16_t)r));
    }
}

static void on_byte(uint8_t byte)
{
    fe_rx_status_t st = fe_rx_push(&rx, byte);
    if (st == FE_RX_FRAME) {
        dispatch(fe_rx_msg(&rx));
    } else if (st == FE_RX_ERROR) {
        uint16_t code = fe_rx_error(&rx);
        send_error(code, FE_SEQ_NONE, fe_error_name(code));
    }
}

int main(void)
{
    board_init();
    fe_guard_init();
    reset_state();
    send_hello();
    for (;;) {
        fe_clock_poll();
        int c = board_host_getc();
        if (c >= 0) {
            on_byte((uint8_t)c);
        } else if (queue_count > 0u) {
            process_queued();
        }
    }
}
