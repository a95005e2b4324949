/* din.c: token -> DIN MIDI bytes with held-note tracking. */
#include "din.h"

#include "board.h"
#include "fe_vocab.h"

#define MIDI_NOTE_ON 0x90u
#define MIDI_NOTE_OFF 0x80u
#define MIDI_CONTROL 0xB0u
#define MIDI_ALL_NOTES_OFF 123u
#define DEFAULT_VELOCITY 64u

static uint8_t velocity = DEFAULT_VELOCITY;
static uint32_t held[4]; /* bit per MIDI note 0..127 */

static void send3(uint8_t status, uint8_t a, uint8_t b)
{
    const uint8_t msg[3] = {status, a, b};
    board_din_write(msg, sizeof msg);
}

void fe_din_init(void)
{
    velocity = DEFAULT_VELOCITY;
    for (unsigned i = 0; i < 4u; ++i) {
        held[i] = 0u;
    }
}

void fe_din_token(uint8_t token)
{
    if (token < FE_NOTE_OFF_OFFSET) {
        uint8_t pitch = (uint8_t)(FE_PITCH_MIN + token - FE_NOTE_ON_OFFSET);
        send3(MIDI_NOTE_ON, pitch, velocity);
        held[pitch >> 5] |= 1u << (pitch & 31u);
    } else if (token < FE_VELOCITY_OFFSET) {
        uint8_t pitch = (uint8_t)(FE_PITCH_MIN + token - FE_NOTE_OFF_OFFSET);
        send3(MIDI_NOTE_OFF, pitch, 0u);
        held[pitch >> 5] &= ~(1u << (pitch & 31u));
    } else if (token < FE_TIME_SHIFT_OFFSET) {
        velocity = fe_velocity_of_bin[token - FE_VELOCITY_OFFSET];
    }
}

void fe_din_panic(void)
{
    for (uint8_t pitch = 0; pitch < 128u; ++pitch) {
        if ((held[pitch >> 5] >> (pitch & 31u)) & 1u) {
            send3(MIDI_NOTE_OFF, pitch, 0u);
        }
    }
    send3(MIDI_CONTROL, MIDI_ALL_NOTES_OFF, 0u);
    fe_din_init();
}
