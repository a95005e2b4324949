/* din.h: vocabulary tokens -> raw MIDI bytes on the DIN MIDI UART (channel 1).
 *
 * The C mirror of edge.midi.stream.TokenToMidi, one fresh stream per hop (the host plays
 * every hop through its own TokenToMidi too): rules 1-7 of that module with the constants of
 * the generated fe_midi_rules.h (MIN_NOTE_US, DEFAULT_NOTE_US, MAX_GAP_US, DEFAULT_VELOCITY),
 * never hand-kept copies. The messages come out in the order TokenToMidi returns them: the
 * token's own events, deferred note-offs sorted by (time, pitch) when a TIME_SHIFT passes them,
 * and at fe_din_hop_end() (rule 7) every note still sounding sorted by (time, pitch).
 * NOTE_ON is 0x90 pitch velocity, note-off 0x80 pitch 0; no running status, so any MIDI parser
 * reads the stream from any message boundary. Bytes go out as the hop is decoded: the times
 * are not played out in real time on DIN, only the order (so no note is ever left held after a
 * hop ends). fe_din_panic() releases whatever sounds and sends All Notes Off.
 */
#ifndef FE_DIN_H
#define FE_DIN_H

#include <stdint.h>

/* Forget every note and reset the stream (velocity, clock). */
void fe_din_init(void);
/* Start a hop: a fresh token stream at time 0 (what TokenToMidi() is on the host). */
void fe_din_hop_begin(void);
/* Send the MIDI bytes of one token (TokenToMidi.feed). */
void fe_din_token(uint8_t token);
/* End the hop: release every note still sounding (TokenToMidi.close). */
void fe_din_hop_end(void);
/* Note-off for every sounding note, then All Notes Off (CC 123) on channel 1. */
void fe_din_panic(void);

#endif /* FE_DIN_H */
