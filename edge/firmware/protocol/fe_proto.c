/* fe_proto.c: framing (COBS + CRC-16), the byte-wise receiver and payload pack/unpack.
 * See fe_proto.h for the wire format; every number comes from the generated fe_protocol.h. */
#include "fe_proto.h"

#include <string.h>

/* ---- little-endian field access ------------------------------------------------------------ */

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}

static void put_u64(uint8_t *p, uint64_t v) {
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static void put_f32(uint8_t *p, float f) {
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    put_u32(p, v);
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)get_u16(p) | ((uint32_t)get_u16(p + 2) << 16);
}

static size_t bounded_strlen(const char *s, size_t max) {
    size_t n = 0;
    if (s == NULL) return 0;
    while (n < max && s[n] != '\0') n++;
    return n;
}

/* ---- CRC and COBS -------------------------------------------------------------------------- */

uint16_t fe_crc16(uint16_t crc, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ FE_CRC16_POLY) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

/* The bytes to encode, in up to three pieces (header, payload, crc), read as one sequence. */
typedef struct {
    const uint8_t *part[3];
    size_t len[3];
} fe_seq_t;

static uint8_t seq_byte(const fe_seq_t *s, size_t i) {
    for (int k = 0; k < 3; k++) {
        if (i < s->len[k]) return s->part[k][i];
        i -= s->len[k];
    }
    return 0; /* unreachable for i < total */
}

/* COBS over a piece sequence: blocks of at most 254 data bytes, a code byte before each. */
static size_t cobs_encode_seq(const fe_seq_t *s, uint8_t *out, size_t cap) {
    size_t total = s->len[0] + s->len[1] + s->len[2];
    if (cap < total + total / 254 + 1) return 0;
    size_t code_pos = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < total; i++) {
        uint8_t b = seq_byte(s, i);
        if (b != 0) {
            out[o++] = b;
            code++;
        }
        if (b == 0 || code == 0xFF) {
            out[code_pos] = code;
            code_pos = o++;
            code = 1;
        }
    }
    out[code_pos] = code;
    return o;
}

size_t fe_cobs_encode(const uint8_t *src, size_t len, uint8_t *out, size_t cap) {
    fe_seq_t s = {{src, NULL, NULL}, {len, 0, 0}};
    return cobs_encode_seq(&s, out, cap);
}

/* ---- frames -------------------------------------------------------------------------------- */

size_t fe_frame_encode_version(uint8_t version, uint8_t type, uint16_t seq,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap) {
    uint8_t hdr[FE_HEADER_SIZE], crc[FE_CRC_SIZE];
    if (len > FE_MAX_PAYLOAD || (payload == NULL && len != 0) || out == NULL) return 0;
    hdr[0] = version;
    hdr[1] = type;
    put_u16(hdr + 2, seq);
    put_u16(hdr + 4, (uint16_t)len);
    uint16_t c = fe_crc16(FE_CRC16_INIT, hdr, sizeof hdr);
    c = fe_crc16(c, payload, len);
    put_u16(crc, c);
    fe_seq_t s = {{hdr, payload, crc}, {sizeof hdr, len, sizeof crc}};
    if (cap < 1) return 0;
    size_t n = cobs_encode_seq(&s, out, cap - 1);
    if (n == 0) return 0;
    out[n] = 0;
    return n + 1;
}

size_t fe_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                       uint8_t *out, size_t cap) {
    return fe_frame_encode_version(FE_PROTOCOL_VERSION, type, seq, payload, len, out, cap);
}

int fe_frame_parse(const uint8_t *raw, size_t len, fe_msg_t *msg) {
    memset(msg, 0, sizeof *msg);
    if (len < FE_HEADER_SIZE + FE_CRC_SIZE) return FE_ERR_TOO_SHORT;
    size_t body = len - FE_CRC_SIZE;
    if (fe_crc16(FE_CRC16_INIT, raw, body) != get_u16(raw + body)) return FE_ERR_BAD_CRC;
    msg->version = raw[0];
    msg->type = raw[1];
    msg->seq = get_u16(raw + 2);
    msg->length = get_u16(raw + 4);
    msg->payload = raw + FE_HEADER_SIZE;
    if (msg->version != FE_PROTOCOL_VERSION) return FE_ERR_BAD_VERSION;
    if ((size_t)msg->length != body - FE_HEADER_SIZE) return FE_ERR_BAD_LENGTH;
    if (!FE_MSG_IS_KNOWN(msg->type)) return FE_ERR_UNKNOWN_TYPE;
    return FE_OK;
}

/* ---- receiver ------------------------------------------------------------------------------ */

static void rx_restart(fe_rx_t *rx) {
    rx->len = 0;
    rx->block_left = 0;
    rx->block_code = 0;
    rx->overflow = 0;
}

void fe_rx_init(fe_rx_t *rx) {
    memset(rx, 0, sizeof *rx);
    rx_restart(rx);
}

static void rx_append(fe_rx_t *rx, uint8_t b) {
    if (rx->len >= FE_MAX_RAW_FRAME) {
        rx->overflow = 1;
        return;
    }
    rx->buf[rx->len++] = b;
}

static fe_rx_status_t rx_end_frame(fe_rx_t *rx) {
    int err;
    if (rx->overflow) {
        err = FE_ERR_TOO_LONG;
    } else if (rx->block_left != 0) {
        err = FE_ERR_BAD_COBS;
    } else {
        err = fe_frame_parse(rx->buf, rx->len, &rx->msg);
    }
    rx_restart(rx);
    if (err == FE_OK) {
        rx->frames_ok++;
        return FE_RX_FRAME;
    }
    rx->error = (uint16_t)err;
    rx->frames_bad++;
    return FE_RX_ERROR;
}

fe_rx_status_t fe_rx_push(fe_rx_t *rx, uint8_t byte) {
    if (byte == 0) {
        if (rx->block_code == 0) return FE_RX_NONE; /* empty frame: delimiter run */
        return rx_end_frame(rx);
    }
    if (rx->overflow) return FE_RX_NONE;
    if (rx->block_left == 0) {
        if (rx->block_code != 0 && rx->block_code != 0xFF) rx_append(rx, 0);
        rx->block_code = byte;
        rx->block_left = (uint8_t)(byte - 1);
    } else {
        rx_append(rx, byte);
        rx->block_left--;
    }
    return FE_RX_NONE;
}

const fe_msg_t *fe_rx_msg(const fe_rx_t *rx) { return &rx->msg; }

uint16_t fe_rx_error(const fe_rx_t *rx) { return rx->error; }

const char *fe_error_name(uint16_t code) {
    static const char *const names[FE_N_ERROR_CODES] = FE_ERROR_NAME_LIST;
    return code < FE_N_ERROR_CODES ? names[code] : "unknown error";
}

/* ---- payloads the device sends ------------------------------------------------------------- */

static size_t put_str(uint8_t *p, const char *s) {
    size_t n = bounded_strlen(s, FE_HELLO_STR_MAX);
    p[0] = (uint8_t)n;
    if (n) memcpy(p + 1, s, n);
    return n + 1;
}

size_t fe_pack_hello(const fe_hello_t *h, uint8_t *out, size_t cap) {
    size_t need = FE_HELLO_FIXED_SIZE + 2 + bounded_strlen(h->fw_version, FE_HELLO_STR_MAX) +
                  bounded_strlen(h->board, FE_HELLO_STR_MAX);
    if (cap < need) return 0;
    out[FE_HELLO_OFF_PROTOCOL_VERSION] = FE_PROTOCOL_VERSION;
    put_u16(out + FE_HELLO_OFF_MAX_PAYLOAD, FE_MAX_PAYLOAD);
    put_u16(out + FE_HELLO_OFF_RX_WINDOW, h->rx_window);
    put_u32(out + FE_HELLO_OFF_MODEL_HASH, h->model_hash);
    put_u32(out + FE_HELLO_OFF_VOCAB_HASH, h->vocab_hash);
    put_u32(out + FE_HELLO_OFF_FLASH_BUDGET, h->flash_budget);
    put_u32(out + FE_HELLO_OFF_SRAM_BUDGET, h->sram_budget);
    out[FE_HELLO_OFF_N_JOINTS] = h->n_joints;
    out[FE_HELLO_OFF_N_CHANNELS] = h->n_channels;
    put_f32(out + FE_HELLO_OFF_INPUT_SCALE, h->input_scale);
    out[FE_HELLO_OFF_INPUT_ZERO_POINT] = (uint8_t)h->input_zero_point;
    put_f32(out + FE_HELLO_OFF_FPS, h->fps);
    put_u16(out + FE_HELLO_OFF_HOP, h->hop);
    put_u16(out + FE_HELLO_OFF_CONTEXT_FRAMES, h->context_frames);
    out[FE_HELLO_OFF_INPUT_FRAME] = h->input_frame;
    size_t n = FE_HELLO_FIXED_SIZE;
    n += put_str(out + n, h->fw_version);
    n += put_str(out + n, h->board);
    return n;
}

size_t fe_pack_events(const fe_events_hdr_t *h, const fe_event_t *ev, size_t n, uint8_t *out,
                      size_t cap) {
    size_t need = FE_EVENTS_FIXED_SIZE + n * FE_EVENT_ITEM_SIZE;
    if (n > FE_EVENTS_MAX_ITEMS || cap < need || (n > 0 && ev == NULL)) return 0;
    put_u32(out + FE_EVENTS_OFF_HOP_INDEX, h->hop_index);
    put_u32(out + FE_EVENTS_OFF_TIME_US, h->time_us);
    out[FE_EVENTS_OFF_FLAGS] = h->flags;
    out[FE_EVENTS_OFF_COUNT] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = out + FE_EVENTS_FIXED_SIZE + i * FE_EVENT_ITEM_SIZE;
        p[0] = ev[i].token;
        put_u32(p + 1, ev[i].offset_us);
    }
    return need;
}

size_t fe_pack_stats(const fe_stats_t *s, uint8_t *out, size_t cap) {
    if (cap < FE_STATS_FIXED_SIZE) return 0;
    put_u32(out + FE_STATS_OFF_FRAMES_RX, s->frames_rx);
    put_u32(out + FE_STATS_OFF_FRAMES_BAD, s->frames_bad);
    put_u32(out + FE_STATS_OFF_KEYPOINTS_RX, s->keypoints_rx);
    put_u32(out + FE_STATS_OFF_TOKENS_TX, s->tokens_tx);
    put_u32(out + FE_STATS_OFF_ENC_RUNS, s->enc_runs);
    put_u64(out + FE_STATS_OFF_ENC_INSTR_TOTAL, s->enc_instr_total);
    put_u32(out + FE_STATS_OFF_ENC_INSTR_LAST, s->enc_instr_last);
    put_u32(out + FE_STATS_OFF_DEC_TOKENS, s->dec_tokens);
    put_u64(out + FE_STATS_OFF_DEC_INSTR_TOTAL, s->dec_instr_total);
    put_u32(out + FE_STATS_OFF_DEC_INSTR_LAST, s->dec_instr_last);
    put_u32(out + FE_STATS_OFF_STACK_HWM, s->stack_hwm);
    put_u32(out + FE_STATS_OFF_STACK_SIZE, s->stack_size);
    put_u32(out + FE_STATS_OFF_ARENA_HWM, s->arena_hwm);
    put_u32(out + FE_STATS_OFF_ARENA_SIZE, s->arena_size);
    out[FE_STATS_OFF_GUARD_BROKEN] = s->guard_broken;
    out[FE_STATS_OFF_COUNTER_KIND] = s->counter_kind;
    put_u16(out + FE_STATS_OFF_ACK_SEQ, s->ack_seq);
    put_u16(out + FE_STATS_OFF_RX_PENDING, s->rx_pending);
    put_u32(out + FE_STATS_OFF_TIME_US, s->time_us);
    return FE_STATS_FIXED_SIZE;
}

size_t fe_pack_error(uint16_t code, uint16_t ref_seq, const char *detail, uint8_t *out,
                     size_t cap) {
    size_t n = bounded_strlen(detail, FE_ERROR_DETAIL_MAX);
    if (cap < FE_ERROR_FIXED_SIZE + n) return 0;
    put_u16(out + FE_ERROR_OFF_CODE, code);
    put_u16(out + FE_ERROR_OFF_REF_SEQ, ref_seq);
    if (n) memcpy(out + FE_ERROR_FIXED_SIZE, detail, n);
    return FE_ERROR_FIXED_SIZE + n;
}

size_t fe_pack_credit(uint16_t ack_seq, uint16_t credits, uint32_t frame_index, uint8_t *out,
                      size_t cap) {
    if (cap < FE_CREDIT_FIXED_SIZE) return 0;
    put_u16(out + FE_CREDIT_OFF_ACK_SEQ, ack_seq);
    put_u16(out + FE_CREDIT_OFF_CREDITS, credits);
    put_u32(out + FE_CREDIT_OFF_FRAME_INDEX, frame_index);
    return FE_CREDIT_FIXED_SIZE;
}

/* ---- payloads the device receives ---------------------------------------------------------- */

int fe_unpack_keypoints(const fe_msg_t *m, uint32_t *frame_index, const int8_t **values) {
    if (m->type != FE_MSG_KEYPOINTS) return FE_ERR_UNKNOWN_TYPE;
    if (m->length != FE_KEYPOINTS_SIZE) return FE_ERR_BAD_LENGTH;
    *frame_index = get_u32(m->payload + FE_KEYPOINTS_OFF_FRAME_INDEX);
    *values = (const int8_t *)(m->payload + FE_KEYPOINTS_FIXED_SIZE);
    return FE_OK;
}

int fe_unpack_ping(const fe_msg_t *m, const uint8_t **data, uint16_t *len) {
    if (m->type != FE_MSG_PING) return FE_ERR_UNKNOWN_TYPE;
    *data = m->payload;
    *len = m->length;
    return FE_OK;
}

int fe_unpack_empty(const fe_msg_t *m, uint8_t type) {
    if (m->type != type) return FE_ERR_UNKNOWN_TYPE;
    return m->length == 0 ? FE_OK : FE_ERR_BAD_LENGTH;
}

int fe_unpack_credit(const fe_msg_t *m, uint16_t *ack_seq, uint16_t *credits,
                     uint32_t *frame_index) {
    if (m->type != FE_MSG_CREDIT) return FE_ERR_UNKNOWN_TYPE;
    if (m->length != FE_CREDIT_FIXED_SIZE) return FE_ERR_BAD_LENGTH;
    *ack_seq = get_u16(m->payload + FE_CREDIT_OFF_ACK_SEQ);
    *credits = get_u16(m->payload + FE_CREDIT_OFF_CREDITS);
    *frame_index = get_u32(m->payload + FE_CREDIT_OFF_FRAME_INDEX);
    return FE_OK;
}
