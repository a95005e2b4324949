/* model_none.c: the NO-MODEL build of the model hook (fe_model.h).
 *
 * Linked when `foley-edge build` gets no --model: the firmware boots, speaks the whole protocol,
 * keeps the keypoint window and answers every hop with an empty EVENTS message, but decodes
 * nothing. It exists for board bring-up, link and size tests, and protocol robustness tests;
 * its model_hash is 0 so the host can tell it from a real model.
 */
#include "fe_model.h"
#include "fe_protocol.h"

#define NONE_HOP 4u
#define NONE_CONTEXT 32u
#define NONE_FPS 22.0f

static const fe_model_info_t none_info = {
    .model_hash = 0u,
    .input_scale = 1.0f / 127.0f,
    .input_zero_point = 0,
    .fps = NONE_FPS,
    .hop = NONE_HOP,
    .context_frames = NONE_CONTEXT,
    .input_frame = FE_INPUT_FRAME_IMAGE,
};

const fe_model_info_t *fe_model_info(void)
{
    return &none_info;
}

int fe_model_init(void)
{
    return 0;
}

int fe_model_encode(const fe_window_t *window)
{
    (void)window;
    return 0;
}

int fe_model_decode_step(uint8_t *token)
{
    (void)token;
    return FE_MODEL_HOP_DONE;
}
