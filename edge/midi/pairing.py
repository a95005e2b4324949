"""Pair the note-ons and note-offs of one MIDI track into notes, odd files included.

Each (channel, pitch) of a track is one voice, as one MIDI channel plays it on most synths and
as the token stream can hold it. The rules (pretty_midi 0.2.11's, except rule 3):

1. A note-on with velocity 0 is a note-off.
2. A note-off releases every sounding note of its key that began on an EARLIER tick; notes
   begun on its own tick keep sounding, so a re-strike written "note-on, note-off" on one tick
   ends the old note there and keeps the new one. When every sounding note began on its own
   tick, it releases them all: "note-on, note-off" on one tick is a zero-length note (the
   cleaner drops it and counts it). Two notes of a pitch overlapping in one track (on, on, off,
   off) therefore both end at the first note-off; the second note-off finds nothing (rule 4).
3. A note-off BEFORE its note-on on the same tick (music21 writes every zero-length note, its
   grace notes, this way: at each tick it writes all note-offs first). A note-off that finds
   nothing sounding is kept until its tick ends; a note-on of its key on that tick claims it
   and is marked. A marked note is zero-length (released at its onset, counted as
   ``off_before_on``) when its key is struck again or its track ends before a note-off releases
   it, or when the note-off that releases it is itself claimed by a note-on on its tick (the
   next grace note of that pitch). A note-off that releases it on a tick where its key is not
   struck again makes it a real note, and its early note-off a stray (counted as an orphan).
   pretty_midi ignores the early note-off instead, so it holds a grace note until the next
   note-off of its pitch in the track (drops it if none comes), and so did this reader once:
   up to 47 s of stuck note in a five-voice madrigal (issue #19).
4. A note-off that releases nothing and that no note-on claims is ignored (counted as an
   orphan). A note never released (and not marked) is closed at its track's last event
   (counted as unterminated): where a sequencer stops it; pretty_midi drops it.
5. Controller 64 (sustain) >= 64 is pedal down; the down intervals are kept per channel.

At most one marked note sounds per key, alone: a note-on closes a marked note of its key first.
One pass over the track: O(events x notes sounding on one key).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import mido

from edge.midi.notes import Instrument, Note

DRUM_CHANNEL = 9
SUSTAIN_CONTROL = 64

_Key = tuple[int, int]  # (channel, pitch)


@dataclass(frozen=True)
class TrackNotes:
    """The notes of one track, grouped like pretty_midi's instruments, and what was odd."""

    instruments: tuple[Instrument, ...]  # one per (channel, program), by first onset
    unterminated: int  # notes never released, closed at the track's last event (rule 4)
    orphan_offs: int  # note-offs that released nothing and that no note-on claimed (rule 4)
    off_before_on: int  # zero-length notes written note-off first, paired (rule 3)


def pair_track(track: mido.MidiTrack, seconds_at: Callable[[int], float]) -> TrackNotes:
    """Pair the note events of ``track``; ``seconds_at`` maps an absolute tick to seconds."""
    st = _TrackState()
    tick = 0
    for msg in track:
        tick += msg.time
        kind = msg.type
        if kind == "track_name" and not st.name:
            st.name = str(msg.name)
        elif kind == "program_change":
            st.program[msg.channel] = msg.program
        elif kind == "note_on" and msg.velocity > 0:
            st.strike((msg.channel, msg.note), tick, seconds_at(tick), msg.velocity)
        elif kind in ("note_on", "note_off"):
            st.release((msg.channel, msg.note), tick, seconds_at(tick))
        elif kind == "control_change" and msg.control == SUSTAIN_CONTROL:
            st.pedal(msg.channel, msg.value >= 64, seconds_at(tick))
    st.end(tick, seconds_at(tick))
    return TrackNotes(
        instruments=st.instruments(),
        unterminated=st.unterminated,
        orphan_offs=st.orphan_offs,
        off_before_on=st.off_before_on,
    )


@dataclass(frozen=True)
class _Sounding:
    """A note-on waiting for its note-off."""

    tick: int  # onset tick
    start: float  # onset, seconds
    velocity: int  # note-on velocity 1..127
    program: int  # the channel's program at the note-on
    marked: bool  # it claimed a note-off written before it on its tick (rule 3)


@dataclass(frozen=True)
class _EarlyOff:
    """A note-off that a note-on of its key may still claim until its tick ends (rule 3)."""

    tick: int  # the note-off's tick
    time: float  # the note-off's time, seconds
    released: _Sounding | None  # the marked note it releases unless claimed, or None


@dataclass
class _TrackState:
    """Mutable state while one track is read."""

    name: str = ""  # the first track_name
    program: list[int] = field(default_factory=lambda: [0] * 16)  # per channel
    sounding: dict[_Key, list[_Sounding]] = field(default_factory=lambda: defaultdict(list))
    early: dict[_Key, list[_EarlyOff]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[tuple[int, int], list[Note]] = field(default_factory=lambda: defaultdict(list))
    pedal_down: dict[int, float] = field(default_factory=dict)  # channel -> down time
    pedals: dict[int, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    unterminated: int = 0
    orphan_offs: int = 0
    off_before_on: int = 0

    def strike(self, key: _Key, tick: int, t: float, velocity: int) -> None:
        """A note-on: closes a marked note of ``key``, claims an early note-off of its tick."""
        self._settle(key, tick)
        sounding = self.sounding[key]
        if sounding and sounding[0].marked:  # struck again before any release (rule 3)
            self._zero_length(key, sounding.pop())
        early = self.early[key]
        claimed = early.pop(0) if early else None
        if claimed is not None and claimed.released is not None:  # its own note-off (rule 3)
            self._zero_length(key, claimed.released)
        marked = claimed is not None
        sounding.append(_Sounding(tick, t, velocity, self.program[key[0]], marked=marked))

    def release(self, key: _Key, tick: int, t: float) -> None:
        """A note-off (rules 2 and 3)."""
        self._settle(key, tick)
        sounding = self.sounding[key]
        if not sounding or sounding[0].marked:
            marked = sounding.pop() if sounding else None
            self.early[key].append(_EarlyOff(tick, t, marked))
            return
        earlier = [s for s in sounding if s.tick < tick]
        ending = earlier or sounding
        for s in ending:
            self._close(key, s, t)
        self.sounding[key] = [s for s in sounding if s.tick == tick] if earlier else []

    def pedal(self, channel: int, down: bool, t: float) -> None:
        """A sustain controller event (rule 5)."""
        if down and channel not in self.pedal_down:
            self.pedal_down[channel] = t
        elif not down and channel in self.pedal_down:
            self.pedals[channel].append((self.pedal_down.pop(channel), t))

    def end(self, tick: int, t: float) -> None:
        """The track's last event: settle early note-offs, close what still sounds."""
        for key in list(self.early):
            self._settle(key, tick + 1)
        for key, sounding in self.sounding.items():
            for s in sounding:
                if s.marked:
                    self._zero_length(key, s)
                else:
                    self._close(key, s, max(s.start, t))
                    self.unterminated += 1
        for channel in list(self.pedal_down):
            self.pedal(channel, False, t)

    def instruments(self) -> tuple[Instrument, ...]:
        """One instrument per (channel, program), notes by (start, pitch)."""
        out = []
        for (channel, program), notes in self.notes.items():
            notes.sort(key=lambda n: (n.start, n.pitch))
            out.append(
                Instrument(
                    name=self.name,
                    program=program,
                    channel=channel,
                    is_drum=channel == DRUM_CHANNEL,
                    notes=tuple(notes),
                    pedal=tuple(self.pedals.get(channel, ())),
                )
            )
        out.sort(key=lambda i: (i.notes[0].start if i.notes else 0.0, i.channel, i.program))
        return tuple(out)

    def _settle(self, key: _Key, tick: int) -> None:
        """Early note-offs of an earlier tick that no note-on claimed (rules 3 and 4)."""
        early = self.early.get(key)
        if not early or early[0].tick == tick:
            return
        for e in early:
            self.orphan_offs += 1  # this note-off, or the marked note's own early one
            if e.released is not None:
                self._close(key, e.released, e.time)
        early.clear()

    def _zero_length(self, key: _Key, s: _Sounding) -> None:
        self._close(key, s, s.start)
        self.off_before_on += 1

    def _close(self, key: _Key, s: _Sounding, end: float) -> None:
        self.notes[(key[0], s.program)].append(Note(key[1], s.start, end, s.velocity))
