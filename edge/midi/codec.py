"""MIDI <-> event tokens (Foley Music / Performance-RNN vocabulary of :mod:`edge.vocab`).

Encoding carries the rounding residual forward. The original splits each gap between events
greedily into time-shift bins and drops the remainder, so timing drifts over a piece. Here every
event time is compared with the ABSOLUTE time emitted so far (integer microseconds, the same
table the decoder and the firmware use): while the emitted clock is more than half a smallest
bin (7.69 ms) behind the event, the largest bin that does not overshoot by more than that half
bin is emitted. So every decoded event lies within 7.69 ms of its true time, however long the
piece (tests check <= 10 ms on real corpus pieces), and the cost is O(events x bins) at most.

At one instant the tokens are: note-offs of notes that began earlier (by pitch), then note-ons
(by pitch, a VELOCITY token before each change of velocity bin), then note-offs of notes that
began at this same instant (zero length after rounding; the decoder holds them
``MIN_NOTE_US``). Two notes of one pitch whose onsets round to the same instant are merged.

Odd input (issue #19). The rules live where they act, and :class:`EncodeReport` counts each:

- note pairing within a track, :mod:`edge.midi.pairing`: a note-off before its note-on on one
  tick (music21's zero-length notes) pairs with it (``off_before_on_paired``); a note-on never
  released closes at its track's end (``unterminated_closed``); a note-off of a silent pitch
  is ignored (``orphan_offs_ignored``); a note-off silences its pitch on its channel;
- one playable note list, :mod:`edge.midi.clean`: zero-length notes are dropped
  (``zero_length_dropped``); same-pitch notes across tracks (or channels) merge when they
  share an onset (``duplicates_merged``), else the earlier ends at the later onset and the
  later keeps its own release (``overlaps_resolved``); silences over the decoder's 10 s cap
  are shortened (``gaps_shortened``).

No decoding rule (:mod:`edge.midi.stream`, mirrored in C) changes for any of them. The round
trip is checked against pretty_midi's reading of 100+ corpus pieces
(``tests/edge/test_midi_corpus_roundtrip.py``).
"""

from __future__ import annotations

import bisect
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge import vocab
from edge.midi import MidiError
from edge.midi.clean import CleanCounts, clean_notes, shorten_gaps
from edge.midi.notes import Note
from edge.midi.reader import MidiSource, read_midi
from edge.midi.stream import MIN_NOTE_US, TIME_SHIFT_US, TokenToMidi

DECODE_RESOLUTION = 480
"""Ticks per beat of decoded MIDI; with :data:`DECODE_TEMPO` one tick is exactly 1 ms."""
DECODE_TEMPO = 125.0
_TS2 = tuple(2 * us for us in TIME_SHIFT_US)  # doubled, so half a bin stays an integer


@dataclass(frozen=True)
class EncodeReport(CleanCounts):
    """What encoding one source kept, dropped and changed, and the timing it guarantees."""

    source: str  # file name or description of the source
    notes_kept: int  # notes in the token stream
    merged_by_rounding: int  # same-pitch notes whose onsets rounded to one instant, merged
    n_tokens: int  # length of the token array
    max_onset_error_s: float  # max |decoded onset - note onset| over kept notes
    max_offset_error_s: float  # max |decoded release - note release| over kept notes


@dataclass(frozen=True)
class Encoded:
    """Tokens of one MIDI source and the report of how they were made."""

    tokens: np.ndarray  # int16 [N], no SOS/EOS
    report: EncodeReport  # counts and timing errors
    notes: tuple[Note, ...] = ()  # the cleaned notes the tokens stand for (seconds, unrounded)


def encode(source: MidiSource, *, instrument: int | None = None, sustain: bool = False) -> Encoded:
    """Encode a MIDI source (path, bytes, mido.MidiFile, pretty_midi.PrettyMIDI) into tokens.

    ``instrument`` picks one instrument by index (see :func:`edge.midi.reader.read_midi`);
    ``None`` merges every pitched instrument. ``sustain`` lengthens notes under the pedal.
    Raises :class:`MidiError` on corrupt, empty or drums-only input.
    """
    content = read_midi(source)
    notes, counts = clean_notes(content, instrument=instrument, sustain=sustain)
    notes, shortened = shorten_gaps(list(notes))
    tokens, kept, merged = _tokenize(notes)
    onset_err, offset_err = _timing_errors(kept)
    report = EncodeReport(
        **{**asdict(counts), "gaps_shortened": shortened},
        source=content.name,
        notes_kept=len(kept),
        merged_by_rounding=merged,
        n_tokens=len(tokens),
        max_onset_error_s=onset_err,
        max_offset_error_s=offset_err,
    )
    return Encoded(tokens=tokens, report=report, notes=tuple(n for n, _, _ in kept))


def encode_window(pm: Any, start_s: float, end_s: float) -> np.ndarray:
    """Tokens of the notes of ``pm`` with onset in [start_s, end_s), relative to ``start_s``.

    ``pm`` is anything :func:`edge.midi.reader.read_midi` reads; pass a ``MidiContent`` from it
    to read a file once for many windows. All pitched instruments are merged and cleaned as
    :func:`encode` does; releases are clipped to ``end_s``. A window (or a source) without
    pitched notes gives an empty array.
    """
    if not end_s > start_s:
        raise MidiError(f"window must have end_s > start_s, found {start_s}..{end_s}")
    content = read_midi(pm)
    if not any(i.notes for i in content.instruments if not i.is_drum):
        return np.zeros(0, np.int16)
    notes, _ = clean_notes(content)
    inside = [
        replace(n, start=n.start - start_s, end=min(n.end, end_s) - start_s)
        for n in notes
        if start_s <= n.start < end_s
    ]
    if not inside:
        return np.zeros(0, np.int16)
    inside, _ = shorten_gaps(inside)
    return _tokenize(inside)[0]


def decode(tokens: Iterable[int], *, program: int = 0, channel: int = 0) -> Any:
    """Decode tokens into a ``pretty_midi.PrettyMIDI`` with one instrument; never raises.

    Follows the rules of :class:`edge.midi.stream.TokenToMidi` (malformed streams included);
    stops at EOS; notes still sounding at the end are closed by its rule 7.
    """
    import pretty_midi

    stream = TokenToMidi(channel=channel)
    events: list[tuple[float, Any]] = []
    for t in tokens:
        events.extend(stream.feed(t))
    events.extend(stream.close())
    pm = pretty_midi.PrettyMIDI(resolution=DECODE_RESOLUTION, initial_tempo=DECODE_TEMPO)
    inst = pretty_midi.Instrument(program=int(program) % 128)
    onsets: dict[int, tuple[float, int]] = {}
    for time_s, msg in events:
        if msg.type == "note_on":
            onsets[msg.note] = (time_s, msg.velocity)
        else:
            start, vel = onsets.pop(msg.note)
            inst.notes.append(
                pretty_midi.Note(velocity=vel, pitch=msg.note, start=start, end=time_s)
            )
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    return pm


def token_times(tokens: Sequence[int] | np.ndarray) -> np.ndarray:
    """Seconds (float64) at which each token happens, by the decoder's clock rules."""
    stream = TokenToMidi()
    out = np.empty(len(tokens), np.float64)
    for i, t in enumerate(tokens):
        stream.feed(t)
        out[i] = stream.now_s
    return out


def midi_bytes(pm: Any) -> bytes:
    """The Standard MIDI File bytes of a ``pretty_midi.PrettyMIDI``."""
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def write_midi(pm: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``pm`` to ``path`` atomically (temporary file, then rename)."""
    from edge.data.clip import write_atomic

    write_atomic(path, midi_bytes(pm))
    return Path(path)


def quantize(times_us: Sequence[int]) -> tuple[list[int], list[list[int]]]:
    """Emitted times and the time-shift bins before each, for sorted distinct times (us).

    The running emitted total never strays more than half the smallest bin from the true time.
    """
    emitted = 0
    out_t: list[int] = []
    out_bins: list[list[int]] = []
    for t in times_us:
        gap2 = 2 * (t - emitted)
        bins = []
        while gap2 > TIME_SHIFT_US[0]:
            b = bisect.bisect_right(_TS2, gap2 + TIME_SHIFT_US[0]) - 1
            bins.append(b)
            emitted += TIME_SHIFT_US[b]
            gap2 -= _TS2[b]
        out_t.append(emitted)
        out_bins.append(bins)
    return out_t, out_bins


_Kept = tuple[Note, int, int]  # note, rounded onset us, rounded release us


def _tokenize(notes: Sequence[Note]) -> tuple[np.ndarray, list[_Kept], int]:
    us = sorted({round(n.start * 1e6) for n in notes} | {round(n.end * 1e6) for n in notes})
    emitted, bins = quantize(us)
    q = dict(zip(us, emitted, strict=True))
    kept, merged = _merge_rounded(notes, q)
    groups: dict[int, tuple[list[int], list[_Kept], list[int]]] = {t: ([], [], []) for t in emitted}
    for note, on, off in kept:
        groups[on][1].append((note, on, off))
        (groups[off][2] if off == on else groups[off][0]).append(note.pitch)
    tokens: list[int] = []
    vel_bin = -1
    last_t = -1
    for t, shift_bins in zip(emitted, bins, strict=True):
        if t == last_t:
            continue  # several true times rounded to this instant: its group is emitted once
        last_t = t
        tokens.extend(vocab.TIME_SHIFT_OFFSET + b for b in shift_bins)
        offs, ons, late_offs = groups[t]
        tokens.extend(vocab.note_off(p) for p in sorted(offs))
        for note, _, _ in sorted(ons, key=lambda k: k[0].pitch):
            b = vocab.velocity_to_bin(min(max(note.velocity, 1), 127))
            if b != vel_bin:
                tokens.append(vocab.VELOCITY_OFFSET + b)
                vel_bin = b
            tokens.append(vocab.note_on(note.pitch))
        tokens.extend(vocab.note_off(p) for p in sorted(late_offs))
    return np.asarray(tokens, np.int16), kept, merged


def _merge_rounded(notes: Sequence[Note], q: dict[int, int]) -> tuple[list[_Kept], int]:
    """Rounded times per note; same pitch + same rounded onset keeps the later note only."""
    last: dict[tuple[int, int], int] = {}
    kept: list[_Kept | None] = []
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        on, off = q[round(n.start * 1e6)], q[round(n.end * 1e6)]
        key = (n.pitch, on)
        if key in last:
            prev = kept[last[key]]
            assert prev is not None
            n = replace(n, velocity=max(n.velocity, prev[0].velocity))
            kept[last[key]] = None
        last[key] = len(kept)
        kept.append((n, on, off))
    out = [k for k in kept if k is not None]
    return out, len(kept) - len(out)


def _timing_errors(kept: Sequence[_Kept]) -> tuple[float, float]:
    onset = max((abs(on / 1e6 - n.start) for n, on, _ in kept), default=0.0)
    offset = max(
        (abs(max(off, on + MIN_NOTE_US) / 1e6 - n.end) for n, on, off in kept), default=0.0
    )
    return onset, offset
