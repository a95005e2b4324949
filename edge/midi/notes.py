"""The note and instrument records the MIDI reader produces and the codec consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Note:
    """One sounding note, in seconds from the start of the file."""

    pitch: int  # MIDI pitch 0..127
    start: float  # onset, seconds
    end: float  # release, seconds (>= start; == start for a zero-length note)
    velocity: int  # MIDI velocity 1..127


@dataclass(frozen=True)
class Instrument:
    """The notes of one (track, channel, program) of a MIDI file."""

    name: str  # track name, or "" when the track has none
    program: int  # General MIDI program 0..127
    channel: int  # MIDI channel 0..15 (9 = drums)
    is_drum: bool  # True for channel 10 (index 9) percussion
    notes: tuple[Note, ...]  # sorted by (start, pitch)
    pedal: tuple[tuple[float, float], ...] = ()  # sustain-pedal down intervals [down, up), seconds


@dataclass(frozen=True)
class MidiContent:
    """Everything the codec needs from one MIDI source."""

    name: str  # the file name (or a description of an in-memory source) for messages
    instruments: tuple[Instrument, ...]  # in order of first appearance
    unterminated: int = 0  # note-ons never released, closed at the end of their track
    orphan_offs: int = 0  # note-offs that released nothing and that no note-on claimed, ignored
    off_before_on: int = 0  # zero-length notes written note-off first on their tick, paired

    @property
    def n_notes(self) -> int:
        """Notes of all instruments, drums included."""
        return sum(len(i.notes) for i in self.instruments)
