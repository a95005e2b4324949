"""Incremental token -> MIDI decoding: the rules :func:`edge.midi.codec.decode` is built on.

A model can emit any sequence of token ids, so :class:`TokenToMidi` never raises and always
produces a valid stream (every note-on gets exactly one later note-off, times never decrease).
The rules, in the order they are checked (the firmware mirrors them in C):

1. Once EOS has been fed (or :meth:`TokenToMidi.close` called), every later token is ignored.
2. Ids outside 0..VOCAB_SIZE-1, SOS and PAD are ignored.
3. TIME_SHIFT k advances the clock by ``TIME_SHIFT_US[k]`` microseconds (the vocabulary's
   ``1.15**k / 65`` s rounded to whole microseconds, exactly as ``fe_vocab.h`` has them).
   Runaway time is capped: shifts since the last NOTE_ON/NOTE_OFF token add up to at most
   :data:`MAX_GAP_US`; the excess is dropped.
4. VELOCITY sets the velocity of the following note-ons (:data:`DEFAULT_VELOCITY` before any).
5. NOTE_ON of a silent pitch starts a note. NOTE_ON of a sounding pitch closes the earlier note
   now and starts a new one, except when the earlier note began at this same instant: then the
   repeated note-on is a duplicate and is ignored.
6. NOTE_OFF of a silent pitch is ignored. A note-off earlier than :data:`MIN_NOTE_US` after its
   note-on is deferred until the note is that long (released when the clock passes that time).
7. At EOS or :meth:`TokenToMidi.close`, deferred note-offs happen at their time and every note
   still sounding is released at the end time, but no earlier than :data:`DEFAULT_NOTE_US` after
   its onset.

State: the clock and gap (int microseconds), the current velocity, and per pitch the onset time
(or -1) and a deferred-release flag: 88 x 2 small integers, no allocation.
Events at the same instant come out as: deferred note-offs, then the tokens' events in order.
"""

from __future__ import annotations

import mido

from edge import vocab

TIME_SHIFT_US: tuple[int, ...] = tuple(round(s * 1e6) for s in vocab.TIME_SHIFT_TABLE_S)
"""Microseconds of every TIME_SHIFT bin (the same integers as ``fe_time_shift_us`` in C)."""
MIN_NOTE_US = 10_000
"""Shortest note the decoder produces (10 ms, shorter than the smallest time shift)."""
DEFAULT_NOTE_US = 500_000
"""Length given to a note still sounding at the end of the stream, if it has not lasted longer."""
MAX_GAP_US = 10_000_000
"""Longest silence: time shifts between two note tokens add up to at most 10 s."""
DEFAULT_VELOCITY = vocab.bin_to_velocity(vocab.velocity_to_bin(64))
"""Velocity of note-ons before any VELOCITY token (the centre of 64's bin)."""

_NONE = -1
TimedMessage = tuple[float, mido.Message]


class TokenToMidi:
    """Feed tokens one at a time; get back timed MIDI note_on/note_off messages."""

    def __init__(self, *, channel: int = 0) -> None:
        """Start a stream at time 0 on MIDI ``channel`` (0..15)."""
        if not 0 <= channel <= 15:
            raise ValueError(f"MIDI channel must be in 0..15, found {channel}")
        self.channel = channel
        self.now_us = 0  # the stream clock
        self.gap_us = 0  # time shifted since the last note token
        self.velocity = DEFAULT_VELOCITY
        self.onset_us = [_NONE] * vocab.N_PITCHES  # onset of the sounding note per pitch, or -1
        self.deferred = [False] * vocab.N_PITCHES  # note-off received, waiting for MIN_NOTE_US
        self.ended = False

    @property
    def now_s(self) -> float:
        """The stream clock in seconds."""
        return self.now_us / 1e6

    def feed(self, token: int) -> list[TimedMessage]:
        """Apply one token; return the messages it causes, in time order."""
        if self.ended:
            return []
        try:
            t = int(token)
        except (TypeError, ValueError, OverflowError):
            return []
        if not 0 <= t < vocab.VOCAB_SIZE or t in (vocab.SOS, vocab.PAD):
            return []
        if t == vocab.EOS:
            return self.close()
        if t >= vocab.TIME_SHIFT_OFFSET:
            return self._shift(TIME_SHIFT_US[t - vocab.TIME_SHIFT_OFFSET])
        if t >= vocab.VELOCITY_OFFSET:
            self.velocity = vocab.bin_to_velocity(t - vocab.VELOCITY_OFFSET)
            return []
        self.gap_us = 0
        if t >= vocab.NOTE_OFF_OFFSET:
            return self._note_off(t - vocab.NOTE_OFF_OFFSET)
        return self._note_on(t - vocab.NOTE_ON_OFFSET)

    def close(self, time_s: float | None = None) -> list[TimedMessage]:
        """End the stream at ``max(now, time_s)``: release every sounding note (rule 7)."""
        if self.ended:
            return []
        end_us = self.now_us if time_s is None else max(self.now_us, round(time_s * 1e6))
        out: list[tuple[int, int, mido.Message]] = []
        for i, onset in enumerate(self.onset_us):
            if onset == _NONE:
                continue
            at = onset + MIN_NOTE_US if self.deferred[i] else max(end_us, onset + DEFAULT_NOTE_US)
            out.append((at, i, self._msg("note_off", i, 0)))
            self._silence(i)
        self.ended = True
        out.sort(key=lambda e: (e[0], e[1]))
        return [(at / 1e6, msg) for at, _, msg in out]

    def _shift(self, us: int) -> list[TimedMessage]:
        step = min(us, MAX_GAP_US - self.gap_us)
        if step <= 0:
            return []
        self.gap_us += step
        self.now_us += step
        return self._release_deferred()

    def _release_deferred(self) -> list[TimedMessage]:
        due = [
            (self.onset_us[i] + MIN_NOTE_US, i)
            for i in range(vocab.N_PITCHES)
            if self.deferred[i] and self.onset_us[i] + MIN_NOTE_US <= self.now_us
        ]
        due.sort()
        out = []
        for at, i in due:
            out.append((at / 1e6, self._msg("note_off", i, 0)))
            self._silence(i)
        return out

    def _note_on(self, i: int) -> list[TimedMessage]:
        onset = self.onset_us[i]
        if onset == self.now_us:
            return []  # duplicate note-on at the same instant (rule 5)
        out = []
        if onset != _NONE:
            out.append((self.now_s, self._msg("note_off", i, 0)))
        self.onset_us[i] = self.now_us
        self.deferred[i] = False
        out.append((self.now_s, self._msg("note_on", i, self.velocity)))
        return out

    def _note_off(self, i: int) -> list[TimedMessage]:
        onset = self.onset_us[i]
        if onset == _NONE or self.deferred[i]:
            return []
        if self.now_us - onset < MIN_NOTE_US:
            self.deferred[i] = True
            return []
        self._silence(i)
        return [(self.now_s, self._msg("note_off", i, 0))]

    def _silence(self, i: int) -> None:
        self.onset_us[i] = _NONE
        self.deferred[i] = False

    def _msg(self, kind: str, i: int, velocity: int) -> mido.Message:
        return mido.Message(kind, channel=self.channel, note=i + vocab.PITCH_MIN, velocity=velocity)
