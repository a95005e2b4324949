/* model_generated.c: the GENERIC glue between the firmware loop (fe_model.h) and a generated
 * encoder + decoder step (`foley-edge build --model EXPORT_DIR`). Nothing here is written per
 * model: sizes, tensor indices, quantization and the hand-over pairs come from the generated
 * encoder.h, decoder_step.h and fe_model_config.h (firmware_bridge/boards/model_sources.py).
 *
 * Per hop it does exactly what the host reference export/host_decode.py does (run_hop):
 *   1. the window (oldest frame first) -> encoder input; encoder_invoke();
 *   2. the step's state (self-attention caches, cross K/V inputs) reset to its zero points,
 *      then each encoder cross K/V output copied as bytes into the step's cross input;
 *   3. for position p = 0 .. L-1: token (SOS at p = 0, then the previous argmax) and the clock
 *      as int32 (the frame bin of the hop time after the token: the sum of the fed TIME_SHIFTs'
 *      fe_time_shift_us, bin = min(min(us, FE_MC_CLOCK_CAP_US) * FE_MC_FPS_MILLI / 1e9, HOP)),
 *      the mask row (FE_MC_MASK_CLOSED on cache rows p .. L-2, FE_MC_MASK_OPEN elsewhere),
 *      decoder_step_invoke(); next = argmax of the int8 logits, the FIRST maximum on ties
 *      (numpy's argmax); when p < L-1 each new K/V row is copied into cache row p; EOS ends the
 *      hop (not sent), any other token is sent and fed back — no other guard, as on the host.
 * The step's caches and cross inputs are persistent tensors of the generated code, so they keep
 * their bytes between invocations.
 *
 * A STREAMED encoder (FE_MC_STREAM, encoder_stream.h; the build then defines FE_MODEL_STREAMS):
 * step 1 is encoder_stream_invoke() on the hop's FE_MC_HOP new frames (the loop's ring holds
 * just those), its kept rows in the encoder's persistent area. fe_model_init resets the stream
 * and fe_model_start primes it from the stream's first frame: FE_MC_PRIME_HOPS hops of that
 * frame repeated, so the first real hop sees a window whose earlier frames repeat the first —
 * the host's windows (edge.train.windows.window_keypoints) — and every hop's encoder outputs
 * equal the windowed encoder's, byte for byte, from the first hop (export/planner/stream.py).
 *
 * -DFE_DEBUG_LOGITS (QEMU only: semihosting) prints every step's int8 logits on the emulator's
 * console as "logits HOP POS hex..." so tests can compare kernel variants and the host.
 */
#include <stdint.h>
#include <string.h>

#include "fe_model.h"
#include "fe_model_config.h"

#ifdef FE_DEBUG_LOGITS
#include "semihost.h"

static uint32_t debug_hop;

/* "logits HOP POS " + 2 hex digits per logit + newline, on the semihosting console. */
static void debug_logits(uint16_t p, const int8_t *logits)
{
    static const char hex[] = "0123456789abcdef";
    static char line[32 + 2 * FE_VOCAB_SIZE];
    uint32_t n = 0u;
    const char *head = "logits ";
    while (*head) {
        line[n++] = *head++;
    }
    uint32_t fields[2] = {debug_hop, p};
    for (int f = 0; f < 2; ++f) {
        for (int shift = 28; shift >= 0; shift -= 4) {
            line[n++] = hex[(fields[f] >> shift) & 15u];
        }
        line[n++] = ' ';
    }
    for (int i = 0; i < FE_VOCAB_SIZE; ++i) {
        line[n++] = hex[((uint8_t)logits[i]) >> 4];
        line[n++] = hex[((uint8_t)logits[i]) & 15u];
    }
    line[n++] = '\n';
    line[n] = '\0';
    semihost_write0(line);
}
#define DEBUG_LOGITS(p, logits) debug_logits((p), (logits))
#define DEBUG_NEXT_HOP() (++debug_hop)
#else
#define DEBUG_LOGITS(p, logits) ((void)0)
#define DEBUG_NEXT_HOP() ((void)0)
#endif

static const fe_model_info_t info = {
    .model_hash = FE_MC_HASH,
    .input_scale = FE_MC_INPUT_SCALE,
    .input_zero_point = FE_MC_INPUT_ZERO_POINT,
    .fps = FE_MC_FPS,
    .hop = FE_MC_HOP,
    .context_frames = FE_MC_WINDOW,
    .input_frame = FE_MC_INPUT_FRAME,
};

static const int16_t cross_pairs[FE_MC_N_KV][2] = FE_MC_CROSS_PAIRS;
static const int16_t cache_pairs[FE_MC_N_KV][2] = FE_MC_CACHE_PAIRS;

typedef struct {
    uint16_t position; /* next decoder position */
    int32_t token;     /* token fed at that position */
    uint32_t cursor_us; /* hop time after the time shifts fed so far */
    uint8_t done;      /* the hop's decoding is over */
} hop_state_t;

static FE_PERSISTENT hop_state_t hop;

const fe_model_info_t *fe_model_info(void)
{
    return &info;
}

int fe_model_init(void)
{
    hop = (hop_state_t){.position = 0u, .token = FE_TOKEN_SOS, .cursor_us = 0u, .done = 1u};
    if (encoder_init() != 0) {
        return -1;
    }
#if FE_MC_STREAM
    encoder_stream_reset();
#endif
    return decoder_step_init();
}

#if FE_MC_STREAM
int fe_model_start(const fe_window_t *window)
{
    for (int k = 0; k < (int)FE_MC_PRIME_HOPS; ++k) {
        /* the first frame, H times (again each hop: the input may share the arena) */
        fe_window_copy(window, encoder_input(FE_MC_ENC_IN_KEYPOINTS));
        if (encoder_stream_invoke() != 0) {
            return -1;
        }
    }
    return 0;
}
#define ENCODER_RUN() encoder_stream_invoke()
#else
#define ENCODER_RUN() encoder_invoke()
#endif

int fe_model_encode(const fe_window_t *window)
{
    fe_window_copy(window, encoder_input(FE_MC_ENC_IN_KEYPOINTS));
    if (ENCODER_RUN() != 0) {
        return -1;
    }
    decoder_step_reset_state();
    for (int k = 0; k < FE_MC_N_KV; ++k) {
        memcpy(decoder_step_input(cross_pairs[k][1]), encoder_output(cross_pairs[k][0]),
               decoder_step_input_bytes(cross_pairs[k][1]));
    }
    hop = (hop_state_t){.position = 0u, .token = FE_TOKEN_SOS, .cursor_us = 0u, .done = 0u};
    return 0;
}

/* Index of the largest logit; the first one on ties. */
static uint8_t argmax_first(const int8_t *logits)
{
    int best = 0;
    for (int i = 1; i < FE_VOCAB_SIZE; ++i) {
        if (logits[i] > logits[best]) {
            best = i;
        }
    }
    return (uint8_t)best;
}

/* The clock after feeding `token` at cursor `*cursor_us` (advanced in place). */
static int32_t clock_after(uint32_t *cursor_us, int32_t token)
{
    int32_t k = token - FE_TIME_SHIFT_OFFSET;
    if (k >= 0 && k < FE_N_TIME_SHIFT_BINS) {
        *cursor_us += fe_time_shift_us[k];
    }
    uint64_t c = *cursor_us < FE_MC_CLOCK_CAP_US ? *cursor_us : FE_MC_CLOCK_CAP_US;
    uint64_t bin = c * FE_MC_FPS_MILLI / 1000000000u;
    return (int32_t)(bin < FE_MC_HOP ? bin : FE_MC_HOP);
}

static void set_inputs(uint16_t p, int32_t token)
{
    int32_t pos = clock_after(&hop.cursor_us, token);
    memcpy(decoder_step_input(FE_MC_DEC_IN_TOKEN), &token, sizeof token);
    memcpy(decoder_step_input(FE_MC_DEC_IN_POSITION), &pos, sizeof pos);
    int8_t *mask = decoder_step_input(FE_MC_DEC_IN_MASK);
    for (int i = 0; i < FE_MC_MAX_TOKENS; ++i) {
        mask[i] = (i >= (int)p && i < FE_MC_CACHE_LEN) ? FE_MC_MASK_CLOSED : FE_MC_MASK_OPEN;
    }
}

int fe_model_decode_step(uint8_t *token)
{
    if (hop.done || hop.position >= FE_MC_MAX_TOKENS) {
        return FE_MODEL_HOP_DONE;
    }
    uint16_t p = hop.position;
    set_inputs(p, hop.token);
    if (decoder_step_invoke() != 0) {
        return -1;
    }
    DEBUG_LOGITS(p, decoder_step_output(FE_MC_DEC_OUT_LOGITS));
    uint8_t next = argmax_first(decoder_step_output(FE_MC_DEC_OUT_LOGITS));
    if (p < FE_MC_CACHE_LEN) {
        for (int k = 0; k < FE_MC_N_KV; ++k) {
            memcpy(decoder_step_input(cache_pairs[k][1]) + (size_t)p * FE_MC_CACHE_ROW_BYTES,
                   decoder_step_output(cache_pairs[k][0]), FE_MC_CACHE_ROW_BYTES);
        }
    }
    hop.position = (uint16_t)(p + 1u);
    if (next == FE_TOKEN_EOS || hop.position >= FE_MC_MAX_TOKENS) {
        DEBUG_NEXT_HOP();
    }
    if (next == FE_TOKEN_EOS) {
        hop.done = 1u;
        return FE_MODEL_END;
    }
    hop.token = next;
    *token = next;
    return FE_MODEL_TOKEN;
}
