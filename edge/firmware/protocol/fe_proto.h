/* fe_proto.h: the foley-edge serial protocol, C99, allocation-free.
 *
 * The numbers (version, message types, error codes, payload layouts, limits) live in the
 * GENERATED header fe_protocol.h, written from edge/protocol_spec.py by
 * `edge.protocol_spec.c_header()`; this file and fe_proto.c are the hand-written
 * mechanics over them. Python (firmware_bridge/protocol) and C agree byte for byte on the shared
 * vectors in tests/fixtures/protocol_vectors.json.
 *
 * Wire format. One frame = COBS(header | payload | crc) followed by one 0x00 delimiter:
 *   header  version u8, type u8, seq u16, length u16 (payload bytes)   FE_HEADER_SIZE = 6
 *   payload 0..FE_MAX_PAYLOAD bytes, layout per type (fe_protocol.h: FE_<MSG>_OFF_<FIELD>)
 *   crc     CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout; check
 *           value of "123456789" is 0x29B1) over header and payload, little-endian.
 * All multi-byte fields are little-endian; floats are IEEE-754 binary32.
 *
 * Conversation. Every side numbers its own frames with seq (u16, +1 per frame, wraps).
 *   host -> device: HELLO_REQ, PING (echo bytes), KEYPOINTS (u32 frame index + 65x3 int8),
 *                   STATS_REQ, RESET
 *   device -> host: HELLO (at boot and after RESET, as the first frame of a fresh seq count,
 *                   so seq 0; and on HELLO_REQ with the running seq: a HELLO with seq 0 tells
 *                   the host that the device (re)started and its buffers are empty; a device
 *                   skips 0 when its seq wraps),
 *                   PONG (the PING's bytes), CREDIT (one per processed KEYPOINTS frame),
 *                   EVENTS (decoded tokens of one hop), STATS, ERROR (code, seq, detail text)
 * Credits: HELLO.rx_window = how many KEYPOINTS frames the device can buffer. The host keeps at
 * most that many unacknowledged KEYPOINTS frames in flight. Each processed frame is returned by a
 * CREDIT whose ack_seq is the seq of the last KEYPOINTS frame processed (cumulative, so a lost
 * CREDIT is repaired by the next one). A KEYPOINTS frame arriving with the buffer full is
 * dropped and answered with ERROR FE_ERR_OUT_OF_CREDITS.
 * Bad frames: the device answers each with ERROR (code from fe_rx_error()) and resynchronises at
 * the next 0x00; it never crashes or hangs on any byte sequence.
 *
 * Typical device loop:
 *   static fe_rx_t rx;  fe_rx_init(&rx);
 *   for (;;) {
 *     fe_rx_status_t st = fe_rx_push(&rx, uart_getc());
 *     if (st == FE_RX_ERROR) send ERROR(fe_rx_error(&rx), FE_SEQ_NONE, fe_error_name(...));
 *     else if (st == FE_RX_FRAME) dispatch(fe_rx_msg(&rx));  // view valid until the next push
 *   }
 * Sending: n = fe_pack_xxx(..., payload, sizeof payload);
 *          m = fe_frame_encode(FE_MSG_XXX, seq++, payload, n, wire, sizeof wire);  // 0 = error
 */
#ifndef FE_PROTO_H
#define FE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "fe_protocol.h" /* generated: FE_PROTOCOL_VERSION, FE_MSG_*, FE_ERR_*, layouts */

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes of the functions below: FE_OK or one of the FE_ERR_* protocol error codes. */
#define FE_OK 0

/* ------------------------------------------------------------------------------------------ */
/* CRC and COBS                                                                               */

/* CRC-16/CCITT-FALSE of data[0..len), continuing from crc (start with FE_CRC16_INIT). */
uint16_t fe_crc16(uint16_t crc, const uint8_t *data, size_t len);

/* COBS-encode src[0..len) into out (no delimiter written). Returns the encoded length, or 0 when
 * cap is too small (needs len + len/254 + 1 bytes). */
size_t fe_cobs_encode(const uint8_t *src, size_t len, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Frames                                                                                     */

/* One decoded frame: a view over the receiver's buffer (or any caller buffer). */
typedef struct {
    uint8_t version;        /* header version (== FE_PROTOCOL_VERSION once accepted) */
    uint8_t type;           /* FE_MSG_* */
    uint16_t seq;           /* sender's frame number */
    uint16_t length;        /* payload bytes */
    const uint8_t *payload; /* length bytes; NOT a copy */
} fe_msg_t;

/* Encode a whole frame (header, payload, CRC, COBS, trailing 0x00) into out.
 * Returns bytes written (at most FE_MAX_ENCODED_FRAME), or 0 when len > FE_MAX_PAYLOAD or cap is
 * too small. payload may be NULL when len == 0. */
size_t fe_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                       uint8_t *out, size_t cap);

/* Same with an explicit header version (tests and version-mismatch demonstrations only). */
size_t fe_frame_encode_version(uint8_t version, uint8_t type, uint16_t seq,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* Check an already COBS-decoded frame raw[0..len) (header | payload | crc) and fill *msg.
 * Returns FE_OK or FE_ERR_TOO_SHORT / BAD_CRC / BAD_VERSION / BAD_LENGTH / UNKNOWN_TYPE, in
 * that order of checking. */
int fe_frame_parse(const uint8_t *raw, size_t len, fe_msg_t *msg);

/* ------------------------------------------------------------------------------------------ */
/* Receiver: fed one byte at a time, never writes past its buffer, resyncs at every 0x00.      */

typedef enum {
    FE_RX_NONE = 0,  /* byte consumed, nothing to report */
    FE_RX_FRAME = 1, /* a good frame is ready: fe_rx_msg() */
    FE_RX_ERROR = 2  /* a bad frame ended here: fe_rx_error() says why */
} fe_rx_status_t;

typedef struct {
    uint8_t buf[FE_MAX_RAW_FRAME]; /* COBS-decoded bytes of the current frame */
    uint16_t len;                  /* bytes in buf */
    uint8_t block_left;            /* data bytes left in the current COBS block */
    uint8_t block_code;            /* code byte of the current block (0 before the first) */
    uint8_t overflow;              /* frame longer than FE_MAX_RAW_FRAME: dropping to next 0 */
    uint16_t error;                /* FE_ERR_* of the last FE_RX_ERROR */
    uint32_t frames_ok;            /* good frames so far */
    uint32_t frames_bad;           /* bad frames so far */
    fe_msg_t msg;                  /* the last good frame (view over buf) */
} fe_rx_t;

/* Reset the receiver to "between frames" and zero its counters. */
void fe_rx_init(fe_rx_t *rx);

/* Feed one byte. Empty frames (0x00 0x00) are ignored silently. */
fe_rx_status_t fe_rx_push(fe_rx_t *rx, uint8_t byte);

/* The frame reported by the last FE_RX_FRAME; valid until the next fe_rx_push. */
const fe_msg_t *fe_rx_msg(const fe_rx_t *rx);

/* The FE_ERR_* code of the last FE_RX_ERROR. */
uint16_t fe_rx_error(const fe_rx_t *rx);

/* Short constant name of an error code ("bad CRC", ...); "unknown error" for others. */
const char *fe_error_name(uint16_t code);

/* ------------------------------------------------------------------------------------------ */
/* Payloads the device sends: pack into out[0..cap), return the length or 0 when cap is short  */
/* or an argument is out of range.                                                             */

typedef struct {
    uint16_t rx_window;       /* KEYPOINTS frames the device can buffer (host's credits) */
    uint32_t model_hash;      /* hash of the model compiled in */
    uint32_t vocab_hash;      /* FE_VOCAB_HASH of fe_vocab.h */
    uint32_t flash_budget;    /* bytes of flash of the board profile */
    uint32_t sram_budget;     /* bytes of SRAM of the board profile */
    uint8_t n_joints;         /* joints per keypoint frame (65) */
    uint8_t n_channels;       /* channels per joint (3: x, y, confidence) */
    float input_scale;        /* int8 input quantisation: real = scale * (q - zero_point) */
    int8_t input_zero_point;  /* int8 input zero point */
    float fps;                /* keypoint frames per second the model expects */
    uint16_t hop;             /* frames per encoder run (one EVENTS message per hop) */
    uint16_t context_frames;  /* frames of context the encoder sees */
    uint8_t input_frame;      /* FE_INPUT_FRAME_*: the coordinates the host must send */
    const char *fw_version;   /* NUL-terminated, at most FE_HELLO_STR_MAX bytes sent */
    const char *board;        /* NUL-terminated board name, at most FE_HELLO_STR_MAX bytes */
} fe_hello_t;

/* One decoded token and its time after the start of its hop. */
typedef struct {
    uint8_t token;      /* vocabulary token id (fe_vocab.h) */
    uint32_t offset_us; /* microseconds after the hop's start time */
} fe_event_t;

typedef struct {
    uint32_t hop_index; /* encoder run number, 0-based */
    uint32_t time_us;   /* device clock (microseconds) at the start of the hop */
    uint8_t flags;      /* FE_EVENTS_FLAG_LAST when this message ends the hop */
} fe_events_hdr_t;

typedef struct {
    uint32_t frames_rx;       /* good frames received */
    uint32_t frames_bad;      /* bad frames received (answered with ERROR) */
    uint32_t keypoints_rx;    /* KEYPOINTS frames accepted */
    uint32_t tokens_tx;       /* tokens sent in EVENTS */
    uint32_t enc_runs;        /* encoder runs */
    uint64_t enc_instr_total; /* instructions (or cycles) over all encoder runs */
    uint32_t enc_instr_last;  /* instructions of the last encoder run */
    uint32_t dec_tokens;      /* decoder steps */
    uint64_t dec_instr_total; /* instructions over all decoder steps */
    uint32_t dec_instr_last;  /* instructions of the last decoder step */
    uint32_t stack_hwm;       /* stack bytes used, high-water mark */
    uint32_t stack_size;      /* stack bytes reserved */
    uint32_t arena_hwm;       /* arena bytes used, high-water mark */
    uint32_t arena_size;      /* arena bytes reserved */
    uint8_t guard_broken;     /* FE_GUARD_* bits of broken guard words, 0 = all intact */
    uint8_t counter_kind;     /* FE_COUNTER_* : what the instr fields count */
    uint16_t ack_seq;         /* seq of the last KEYPOINTS processed (FE_SEQ_NONE: none) */
    uint16_t rx_pending;      /* KEYPOINTS frames buffered, not yet processed */
    uint32_t time_us;         /* device clock, microseconds */
} fe_stats_t;

size_t fe_pack_hello(const fe_hello_t *h, uint8_t *out, size_t cap);
/* n events, at most FE_EVENTS_MAX_ITEMS (split longer hops, FE_EVENTS_FLAG_LAST on the last). */
size_t fe_pack_events(const fe_events_hdr_t *h, const fe_event_t *ev, size_t n, uint8_t *out,
                      size_t cap);
size_t fe_pack_stats(const fe_stats_t *s, uint8_t *out, size_t cap);
/* detail: NUL-terminated, truncated to FE_ERROR_DETAIL_MAX bytes; may be NULL. */
size_t fe_pack_error(uint16_t code, uint16_t ref_seq, const char *detail, uint8_t *out,
                     size_t cap);
/* ack_seq: seq of the last KEYPOINTS processed; credits: frames returned by this message. */
size_t fe_pack_credit(uint16_t ack_seq, uint16_t credits, uint32_t frame_index, uint8_t *out,
                      size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Payloads the device receives: return FE_OK, FE_ERR_UNKNOWN_TYPE (msg has another type) or  */
/* FE_ERR_BAD_LENGTH (payload size wrong for the type).                                        */

/* KEYPOINTS: *values points at FE_N_JOINTS * FE_N_CHANNELS int8, joint-major (x, y, c). */
int fe_unpack_keypoints(const fe_msg_t *m, uint32_t *frame_index, const int8_t **values);
/* PING: the bytes to echo back in PONG (may be empty). */
int fe_unpack_ping(const fe_msg_t *m, const uint8_t **data, uint16_t *len);
/* HELLO_REQ, STATS_REQ, RESET carry no payload: checks type and zero length. */
int fe_unpack_empty(const fe_msg_t *m, uint8_t type);

/* Payloads the host receives (used by host-side test peers and the vector tests). */
int fe_unpack_credit(const fe_msg_t *m, uint16_t *ack_seq, uint16_t *credits,
                     uint32_t *frame_index);

#ifdef __cplusplus
}
#endif

#endif /* FE_PROTO_H */
