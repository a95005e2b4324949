/* din.c: token -> DIN MIDI bytes, the C mirror of edge.midi.stream.TokenToMidi (see din.h). */
#include "din.h"

#include "board.h"
#include "fe_midi_rules.h"
#include "fe_vocab.h"

#define MIDI_NOTE_ON 0x90u
#define MIDI_NOTE_OFF 0x80u
#define MIDI_CONTROL 0xB0u
#define MIDI_ALL_NOTES_OFF 123u
#define N_PITCHES (FE_PITCH_MAX - FE_PITCH_MIN + 1)
#define NO_NOTE (-1)

typedef struct {
    int32_t now_us;             /* the stream clock */
    int32_t gap_us;             /* time shifted since the last note token */
    uint8_t velocity;           /* velocity of the next note-ons */
    uint8_t ended;              /* EOS seen: later tokens are ignored */
    int32_t onset_us[N_PITCHES]; /* onset of the sounding note per pitch, or NO_NOTE */
    uint8_t deferred[N_PITCHES]; /* note-off received, waiting for MIN_NOTE_US */
} din_stream_t;

static din_stream_t s;

static void send3(uint8_t status, uint8_t a, uint8_t b)
{
    const uint8_t msg[3] = {status, a, b};
    board_din_write(msg, sizeof msg);
}

static void note_off_now(int i)
{
    send3(MIDI_NOTE_OFF, (uint8_t)(FE_PITCH_MIN + i), 0u);
    s.onset_us[i] = NO_NOTE;
    s.deferred[i] = 0u;
}

void fe_din_hop_begin(void)
{
    s.now_us = 0;
    s.gap_us = 0;
    s.velocity = FE_MIDI_DEFAULT_VELOCITY;
    s.ended = 0u;
    for (int i = 0; i < N_PITCHES; ++i) {
        s.onset_us[i] = NO_NOTE;
        s.deferred[i] = 0u;
    }
}

void fe_din_init(void)
{
    fe_din_hop_begin();
}

/* Release time of pitch i for the selection below: deferred ones at onset + MIN_NOTE_US;
 * with `closing`, sounding ones at max(end, onset + DEFAULT_NOTE_US); else not due (-1). */
static int32_t release_at(int i, int closing, int32_t end_us)
{
    if (s.onset_us[i] == NO_NOTE) {
        return -1;
    }
    if (s.deferred[i]) {
        return s.onset_us[i] + FE_MIDI_MIN_NOTE_US;
    }
    if (!closing) {
        return -1;
    }
    int32_t at = s.onset_us[i] + FE_MIDI_DEFAULT_NOTE_US;
    return at > end_us ? at : end_us;
}

/* Note-offs of every note due by `limit_us` in (time, pitch) order: a selection over the 88
 * pitches per message (O(88^2) at worst, no sort buffer). */
static void release_sorted(int closing, int32_t end_us, int32_t limit_us)
{
    for (;;) {
        int best = -1;
        int32_t best_at = 0;
        for (int i = 0; i < N_PITCHES; ++i) {
            int32_t at = release_at(i, closing, end_us);
            if (at >= 0 && at <= limit_us && (best < 0 || at < best_at)) {
                best = i;
                best_at = at;
            }
        }
        if (best < 0) {
            return;
        }
        note_off_now(best);
    }
}

static void shift(int32_t us)
{
    int32_t step = us < FE_MIDI_MAX_GAP_US - s.gap_us ? us : FE_MIDI_MAX_GAP_US - s.gap_us;
    if (step <= 0) {
        return;
    }
    s.gap_us += step;
    s.now_us += step;
    release_sorted(0, 0, s.now_us);
}

static void note_on(int i)
{
    if (s.onset_us[i] == s.now_us) {
        return; /* duplicate note-on at the same instant (rule 5) */
    }
    if (s.onset_us[i] != NO_NOTE) {
        send3(MIDI_NOTE_OFF, (uint8_t)(FE_PITCH_MIN + i), 0u);
    }
    s.onset_us[i] = s.now_us;
    s.deferred[i] = 0u;
    send3(MIDI_NOTE_ON, (uint8_t)(FE_PITCH_MIN + i), s.velocity);
}

static void note_off(int i)
{
    if (s.onset_us[i] == NO_NOTE || s.deferred[i]) {
        return;
    }
    if (s.now_us - s.onset_us[i] < FE_MIDI_MIN_NOTE_US) {
        s.deferred[i] = 1u;
        return;
    }
    note_off_now(i);
}

void fe_din_hop_end(void)
{
    if (s.ended) {
        return;
    }
    release_sorted(1, s.now_us, INT32_MAX);
    s.ended = 1u;
}

void fe_din_token(uint8_t token)
{
    if (s.ended || token >= FE_VOCAB_SIZE || token == FE_TOKEN_SOS || token == FE_TOKEN_PAD) {
        return;
    }
    if (token == FE_TOKEN_EOS) {
        fe_din_hop_end();
    } else if (token >= FE_TIME_SHIFT_OFFSET) {
        shift((int32_t)fe_time_shift_us[token - FE_TIME_SHIFT_OFFSET]);
    } else if (token >= FE_VELOCITY_OFFSET) {
        s.velocity = fe_velocity_of_bin[token - FE_VELOCITY_OFFSET];
    } else {
        s.gap_us = 0;
        if (token >= FE_NOTE_OFF_OFFSET) {
            note_off(token - FE_NOTE_OFF_OFFSET);
        } else {
            note_on(token - FE_NOTE_ON_OFFSET);
        }
    }
}

void fe_din_panic(void)
{
    for (int i = 0; i < N_PITCHES; ++i) {
        if (s.onset_us[i] != NO_NOTE) {
            send3(MIDI_NOTE_OFF, (uint8_t)(FE_PITCH_MIN + i), 0u);
        }
    }
    send3(MIDI_CONTROL, MIDI_ALL_NOTES_OFF, 0u);
    fe_din_init();
}
