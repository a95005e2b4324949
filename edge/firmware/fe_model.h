/* fe_model.h: the model hook, what the firmware loop (main.c) calls and nothing more.
 *
 * Exactly one implementation is linked into a firmware:
 *   - model_none.c: the no-model build (link tests, board bring-up): produces no events;
 *   - a model folder (`foley-edge build --model DIR`): glue over the code generator's output,
 *     e.g. `encoder_init/encoder_input/encoder_invoke/encoder_output` and
 *     `decoder_step_init/..._invoke/..._reset_state` (int {p}_init(void), int {p}_invoke(void),
 *     int8_t *{p}_input(int), int8_t *{p}_output(int), void {p}_reset_state(void)).
 *
 * Per hop (every fe_model_info()->hop KEYPOINTS frames) the loop calls
 *     fe_model_encode(&window);                              metered as one encoder run
 *     while (fe_model_decode_step(&token) == FE_MODEL_TOKEN)   each step metered as one token
 *         send token;                                     (FE_MODEL_END: metered, then stop)
 * The glue owns everything model-specific: copying the window into the encoder input
 * (fe_window_copy), passing the encoder output to the decoder as its memory, the KV caches
 * and positions, greedy argmax over the logits, and when a hop's decoding ends (EOS, enough
 * time shifts to cover the hop, or its own limit). The loop caps a hop at
 * FE_MODEL_MAX_TOKENS_PER_HOP tokens whatever the glue does.
 *
 * A STREAMING model (the build defines FE_MODEL_STREAMS: a streamed encoder that takes only
 * the hop's new frames) also gets, once per stream (after boot or RESET), when the stream's
 * first frame has entered the window and been acknowledged,
 *     fe_model_start(&window);                  not metered (runs while the hop's frames arrive)
 * which primes the encoder's kept rows as if the frames before the first had been that frame
 * (what fe_window_copy and the host's windows assume); the loop's ring then holds one hop of
 * frames (FE_WINDOW_MAX_FRAMES = hop), so fe_window_copy gives fe_model_encode the hop's frames.
 *
 * Buffers: put state that must survive between hops (KV caches, positions) in the
 * ".persistent" section and the scratch arena in ".arena" (FE_PERSISTENT / FE_ARENA below), so
 * the build's size report and the arena guard word see them.
 */
#ifndef FE_MODEL_H
#define FE_MODEL_H

#include <stdint.h>

#define FE_PERSISTENT __attribute__((section(".persistent")))
#define FE_ARENA __attribute__((section(".arena"), aligned(16)))

#define FE_FRAME_BYTES (65 * 3) /* one keypoint frame: joints x (x, y, confidence), int8 */
#define FE_MODEL_MAX_TOKENS_PER_HOP 128

/* fe_model_decode_step() results. */
#define FE_MODEL_TOKEN 1    /* *token holds the next token of this hop */
#define FE_MODEL_HOP_DONE 0 /* no more tokens this hop (*token untouched), no step ran */
#define FE_MODEL_END 2      /* a step ran and ended the hop (EOS): metered, no token */
/* negative values: the model failed (reported to the host as ERROR FE_ERR_INTERNAL) */

/* What the model expects; sent to the host in HELLO. */
typedef struct {
    uint32_t model_hash;     /* identifies the model compiled in (0: no model) */
    float input_scale;       /* int8 input quantisation: real = scale * (q - zero_point) */
    int8_t input_zero_point; /* int8 input zero point */
    float fps;               /* keypoint frames per second */
    uint16_t hop;            /* frames between encoder runs (>= 1) */
    uint16_t context_frames; /* frames of context the encoder sees (window length, >= 1) */
    uint8_t input_frame;     /* FE_INPUT_FRAME_* (fe_protocol.h): image or body coordinates */
} fe_model_info_t;

/* The keypoint window: a ring of the last context_frames frames in persistent SRAM. Until it
 * fills, fe_window_copy repeats the first frame received in the slots before it (the host's
 * edge.train.windows.window_keypoints does the same); `fill` only serves an empty window. */
typedef struct {
    const int8_t *frames;      /* capacity * FE_FRAME_BYTES bytes, in ring order */
    uint16_t capacity;         /* frames the ring holds (= context_frames) */
    uint16_t oldest;           /* slot of the oldest frame */
    uint16_t count;            /* valid frames (< capacity until the ring first fills) */
    uint32_t newest_index;     /* host frame index of the newest frame */
    int8_t fill;               /* value of the frames before the first (the zero point) */
} fe_window_t;

/* Copy the window oldest first into dst (capacity * FE_FRAME_BYTES bytes); slots before the
 * first received frame repeat it (read as `fill` while no frame came). Provided by main.c. */
void fe_window_copy(const fe_window_t *window, int8_t *dst);

/* The model's constants (static storage; never NULL). */
const fe_model_info_t *fe_model_info(void);
/* Initialise (at boot and on RESET): clear caches and state. 0 on success. */
int fe_model_init(void);
/* Run the encoder over the window and prepare this hop's decoding. 0 on success. */
int fe_model_encode(const fe_window_t *window);
/* One decoder step: FE_MODEL_TOKEN with *token set, FE_MODEL_HOP_DONE, or < 0 on failure. */
int fe_model_decode_step(uint8_t *token);
#ifdef FE_MODEL_STREAMS
/* Streaming models: prime the stream from its first frame (the window's only one). 0 on success. */
int fe_model_start(const fe_window_t *window);
#endif

#endif /* FE_MODEL_H */
