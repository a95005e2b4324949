/* din.h: vocabulary tokens -> raw MIDI bytes on the DIN MIDI UART (channel 1).
 *
 * NOTE_ON sends 0x90 pitch velocity (the last VELOCITY token, 64 before any), NOTE_OFF sends
 * 0x80 pitch 0, VELOCITY only sets the velocity, TIME_SHIFT/SOS/EOS/PAD send nothing. No
 * running status, so any MIDI parser reads the stream from any message boundary. Held notes
 * are tracked so fe_din_panic() can release them. Bytes go out as tokens are decoded (hop
 * granularity): the time shifts inside a hop are not yet played out in real time on DIN.
 */
#ifndef FE_DIN_H
#define FE_DIN_H

#include <stdint.h>

/* Forget held notes and reset the velocity. */
void fe_din_init(void);
/* Send the MIDI bytes of one token. */
void fe_din_token(uint8_t token);
/* Note-off for every held note, then All Notes Off (CC 123) on channel 1. */
void fe_din_panic(void);

#endif /* FE_DIN_H */
