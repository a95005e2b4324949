"""Read MIDI from a path, bytes, ``mido.MidiFile`` or ``pretty_midi.PrettyMIDI`` into notes.

Standard MIDI Files are parsed here with mido rather than through pretty_midi: no ``MAX_TICK``
limit, one pass, every odd event counted, and music21's zero-length notes read right. The rules:

1. Ticks become seconds through the tempo map of every ``set_tempo`` event (any track).
2. Notes are grouped per (track, channel, program), like pretty_midi's instruments; channel
   index 9 is percussion.
3. Note-ons and note-offs pair within their track as :mod:`edge.midi.pairing` says (one voice
   per channel and pitch; a note-off written before its note-on on one tick is a zero-length
   note; unterminated notes close at their track's end; stray note-offs are ignored), each odd
   case counted in :class:`~edge.midi.notes.MidiContent`.
4. Controller 64 (sustain) >= 64 is pedal down; the down intervals are kept per instrument.

The whole file is read in one pass: O(events log tempo changes).
"""

from __future__ import annotations

import bisect
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido

from edge.midi import MidiError
from edge.midi.notes import Instrument, MidiContent, Note
from edge.midi.pairing import DRUM_CHANNEL, SUSTAIN_CONTROL, pair_track

DEFAULT_TEMPO = 500_000  # microseconds per beat (120 bpm), the MIDI default
MidiSource = str | os.PathLike[str] | bytes | mido.MidiFile | MidiContent | Any  # Any: PrettyMIDI

# What mido raises on a malformed file (no common base class; a key signature it cannot name
# raises its one class of its own).
_MIDO_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError,
                mido.KeySignatureError)


def read_midi(source: MidiSource, *, name: str | None = None) -> MidiContent:
    """Read ``source`` into instruments of notes; :class:`MidiError` names the file on failure."""
    if isinstance(source, MidiContent):
        return source  # already read: lets callers cutting many windows read a file once
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise MidiError(f"{path}: cannot read MIDI file ({e.strerror or e})") from e
        return _from_mido(_parse_bytes(data, name or str(path)), name or str(path))
    if isinstance(source, bytes | bytearray | memoryview):
        where = name or "<bytes>"
        return _from_mido(_parse_bytes(bytes(source), where), where)
    if isinstance(source, mido.MidiFile):
        where = name or source.filename or "<mido.MidiFile>"
        return _from_mido(source, str(where))
    if type(source).__name__ == "PrettyMIDI":
        return _from_pretty_midi(source, name or "<pretty_midi.PrettyMIDI>")
    raise MidiError(
        f"{name or '<source>'}: expected a path, bytes, mido.MidiFile or pretty_midi.PrettyMIDI, "
        f"found {type(source).__name__}"
    )


def _parse_bytes(data: bytes, where: str) -> mido.MidiFile:
    if not data:
        raise MidiError(f"{where}: empty file (0 bytes), expected a Standard MIDI File")
    if not data.startswith(b"MThd"):
        raise MidiError(
            f"{where}: not a Standard MIDI File: expected header 'MThd', found {data[:4]!r}"
        )
    try:
        return mido.MidiFile(file=io.BytesIO(data))
    except _MIDO_ERRORS as e:
        raise MidiError(f"{where}: corrupt MIDI file ({type(e).__name__}: {e})") from e


@dataclass
class _TempoMap:
    """Piecewise-linear ticks -> seconds."""

    ticks_per_beat: int
    ticks: list[int] = field(default_factory=lambda: [0])
    seconds: list[float] = field(default_factory=lambda: [0.0])
    tempos: list[int] = field(default_factory=lambda: [DEFAULT_TEMPO])

    def seconds_at(self, tick: int) -> float:
        i = bisect.bisect_right(self.ticks, tick) - 1
        return self.seconds[i] + (tick - self.ticks[i]) * self.tempos[i] / (
            1e6 * self.ticks_per_beat
        )


def _tempo_map(mid: mido.MidiFile) -> _TempoMap:
    changes: list[tuple[int, int]] = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    tmap = _TempoMap(ticks_per_beat=max(1, int(mid.ticks_per_beat)))
    for tick, tempo in sorted(changes, key=lambda c: c[0]):
        if tick == tmap.ticks[-1]:
            tmap.tempos[-1] = tempo  # the last change on a tick wins
            continue
        tmap.seconds.append(tmap.seconds_at(tick))
        tmap.ticks.append(tick)
        tmap.tempos.append(tempo)
    return tmap


def _from_mido(mid: mido.MidiFile, where: str) -> MidiContent:
    try:
        tmap = _tempo_map(mid)
        tracks = [pair_track(track, tmap.seconds_at) for track in mid.tracks]
    except _MIDO_ERRORS as e:
        raise MidiError(f"{where}: corrupt MIDI events ({type(e).__name__}: {e})") from e
    return MidiContent(
        where,
        tuple(inst for tr in tracks for inst in tr.instruments),
        unterminated=sum(tr.unterminated for tr in tracks),
        orphan_offs=sum(tr.orphan_offs for tr in tracks),
        off_before_on=sum(tr.off_before_on for tr in tracks),
    )


def _from_pretty_midi(pm: Any, where: str) -> MidiContent:
    instruments = []
    for inst in pm.instruments:
        notes = sorted(
            (Note(int(n.pitch), float(n.start), float(n.end), int(n.velocity)) for n in inst.notes),
            key=lambda n: (n.start, n.pitch),
        )
        instruments.append(
            Instrument(
                name=str(inst.name),
                program=int(inst.program),
                channel=DRUM_CHANNEL if inst.is_drum else 0,
                is_drum=bool(inst.is_drum),
                notes=tuple(notes),
                pedal=_pedal_intervals(inst.control_changes, pm.get_end_time()),
            )
        )
    return MidiContent(where, tuple(instruments))


def _pedal_intervals(ccs: list[Any], end: float) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    down: float | None = None
    for cc in sorted((c for c in ccs if c.number == SUSTAIN_CONTROL), key=lambda c: c.time):
        if cc.value >= 64 and down is None:
            down = float(cc.time)
        elif cc.value < 64 and down is not None:
            out.append((down, float(cc.time)))
            down = None
    if down is not None:
        out.append((down, max(down, end)))
    return tuple(out)


def load_pretty_midi(source: MidiSource, *, name: str | None = None) -> Any:
    """A ``pretty_midi.PrettyMIDI`` built from :func:`read_midi`'s notes (rules above).

    Unlike ``pretty_midi.PrettyMIDI(path)`` this has no ``MAX_TICK`` limit (music21's corpus
    writes 10080 ticks a beat, so long pieces pass 1e7 ticks) and keeps same-tick notes right.
    Sustain pedal intervals come back as controller 64 events.
    """
    import pretty_midi

    content = read_midi(source, name=name)
    pm = pretty_midi.PrettyMIDI()
    for inst in content.instruments:
        out = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum, name=inst.name)
        out.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in inst.notes]
        for down, up in inst.pedal:
            out.control_changes.append(pretty_midi.ControlChange(SUSTAIN_CONTROL, 127, down))
            out.control_changes.append(pretty_midi.ControlChange(SUSTAIN_CONTROL, 0, up))
        pm.instruments.append(out)
    return pm
