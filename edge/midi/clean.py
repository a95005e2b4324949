"""Turn the instruments of a MIDI file into one playable note list, counting every change.

The token stream is one MIDI channel: one note per pitch at a time. Steps (each counted in
:class:`CleanCounts`):

1. Pick the instruments: all pitched ones merged, or the one asked for; drum notes are skipped.
2. Zero-length notes (note-off on the note-on's tick, in either order: see
   :mod:`edge.midi.pairing` rules 2 and 3) are dropped, before the pedal is applied: they have
   no length to reproduce, and pretty_midi's reader drops them too. music21 writes its grace
   notes and chord symbols (harmony annotations, not sung) this way.
3. Sustain (optional): a note released while the pedal is down lasts until the pedal comes up.
4. Notes outside the vocabulary's 21..108 are dropped.
5. Same pitch, same onset (unisons of merged voices, doubled notes): one note is kept, the
   longest, with the loudest velocity.
6. Same pitch overlapping, in one track or across tracks (a pitch struck while another voice
   holds it): the earlier note ends at the later onset, as a single MIDI channel plays it; the
   later note keeps its own release, even when the earlier one was written to last longer. So
   every release is either the note's own or the next onset of its pitch, never a time taken
   from another note (pretty_midi would clip on write, #163).
7. (:func:`shorten_gaps`, called by the encoder last) Stretches without any note event longer
   than the decoder's runaway cap (10 s, less one smallest time shift) are shortened to fit
   under it, moving everything after them earlier.

Cost: O(n log n) in the number of notes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from edge import vocab
from edge.midi import MidiError
from edge.midi.notes import Instrument, MidiContent, Note
from edge.midi.stream import MAX_GAP_US, TIME_SHIFT_US

MAX_GAP_S = (MAX_GAP_US - TIME_SHIFT_US[0]) / 1e6
"""Longest time between two note events kept: quantising may stretch a gap by one smallest shift."""


@dataclass(frozen=True)
class CleanCounts:
    """What cleaning did to the notes of one file."""

    instruments_total: int  # instruments in the file, drums included
    instruments_used: int  # pitched instruments merged into the result
    drum_notes_skipped: int  # notes of percussion instruments (channel 10)
    notes_in: int  # notes of the instruments used, before cleaning
    dropped_out_of_range: int  # pitch outside 21..108
    sustain_extended: int  # notes lengthened by the sustain pedal
    zero_length_dropped: int  # notes with no length (note-off on the note-on's tick), dropped
    duplicates_merged: int  # same pitch and onset as another note, merged into it
    overlaps_resolved: int  # notes cut at a later onset of the same pitch
    gaps_shortened: int  # stretches without note events longer than MAX_GAP_S cut to it
    unterminated_closed: int  # note-ons never released, closed at the end of their track
    orphan_offs_ignored: int  # note-offs that released nothing (edge.midi.pairing rule 4)
    off_before_on_paired: int  # zero-length notes written note-off first, paired (then dropped)


def clean_notes(
    content: MidiContent, *, instrument: int | None = None, sustain: bool = False
) -> tuple[tuple[Note, ...], CleanCounts]:
    """The playable notes of ``content`` sorted by (start, pitch), and what was changed."""
    chosen = _choose(content, instrument)
    drums = sum(len(i.notes) for i in content.instruments if i.is_drum)
    notes: list[Note] = []
    extended = zero = 0
    for inst in chosen:
        sounding = replace(inst, notes=tuple(n for n in inst.notes if n.end > n.start))
        zero += len(inst.notes) - len(sounding.notes)
        got, n_ext = _with_sustain(sounding) if sustain else (list(sounding.notes), 0)
        notes.extend(got)
        extended += n_ext
    notes_in = len(notes) + zero
    kept = [n for n in notes if vocab.PITCH_MIN <= n.pitch <= vocab.PITCH_MAX]
    dropped = len(notes) - len(kept)
    if not kept:
        raise MidiError(
            f"{content.name}: no notes in {vocab.PITCH_MIN}..{vocab.PITCH_MAX} "
            f"(found {notes_in} pitched notes, {zero} of no length, {dropped} out of range, "
            f"{drums} drum notes)"
        )
    kept, dups, overlaps = _resolve_same_pitch(kept)
    counts = CleanCounts(
        instruments_total=len(content.instruments),
        instruments_used=len(chosen),
        drum_notes_skipped=drums,
        notes_in=notes_in,
        dropped_out_of_range=dropped,
        sustain_extended=extended,
        zero_length_dropped=zero,
        duplicates_merged=dups,
        overlaps_resolved=overlaps,
        gaps_shortened=0,  # set by the encoder, which calls shorten_gaps last
        unterminated_closed=content.unterminated,
        orphan_offs_ignored=content.orphan_offs,
        off_before_on_paired=content.off_before_on,
    )
    return tuple(kept), counts


def _choose(content: MidiContent, instrument: int | None) -> list[Instrument]:
    insts = content.instruments
    if instrument is not None:
        if not 0 <= instrument < len(insts):
            raise MidiError(
                f"{content.name}: instrument index must be in 0..{len(insts) - 1}, "
                f"found {instrument}"
            )
        if insts[instrument].is_drum:
            raise MidiError(f"{content.name}: instrument {instrument} is a drum track, not pitched")
        return [insts[instrument]]
    pitched = [i for i in insts if not i.is_drum and i.notes]
    if not pitched:
        drums = sum(len(i.notes) for i in insts if i.is_drum)
        what = f"drums only ({drums} drum notes)" if drums else "no notes"
        raise MidiError(f"{content.name}: nothing to encode, expected pitched notes, found {what}")
    return pitched


def _with_sustain(inst: Instrument) -> tuple[list[Note], int]:
    if not inst.pedal:
        return list(inst.notes), 0
    downs = [d for d, _ in inst.pedal]
    out, extended = [], 0
    for n in inst.notes:
        k = bisect.bisect_right(downs, n.end) - 1
        if k >= 0 and downs[k] <= n.end < inst.pedal[k][1]:
            out.append(replace(n, end=inst.pedal[k][1]))
            extended += 1
        else:
            out.append(n)
    return out, extended


def _resolve_same_pitch(notes: list[Note]) -> tuple[list[Note], int, int]:
    by_pitch: dict[int, list[Note]] = {}
    for n in sorted(notes, key=lambda n: (n.start, -n.end)):
        by_pitch.setdefault(n.pitch, []).append(n)
    out: list[Note] = []
    dups = overlaps = 0
    for seq in by_pitch.values():
        merged: list[Note] = []
        for n in seq:
            prev = merged[-1] if merged else None
            if prev is not None and n.start == prev.start:
                merged[-1] = replace(
                    prev, end=max(prev.end, n.end), velocity=max(prev.velocity, n.velocity)
                )
                dups += 1
            elif prev is not None and n.start < prev.end:
                merged[-1] = replace(prev, end=n.start)
                merged.append(n)
                overlaps += 1
            else:
                merged.append(n)
        out.extend(merged)
    out.sort(key=lambda n: (n.start, n.pitch))
    return out, dups, overlaps


def shorten_gaps(notes: list[Note]) -> tuple[list[Note], int]:
    """Cut every stretch between consecutive note events (from time 0) down to MAX_GAP_S."""
    times = sorted({0.0, *(n.start for n in notes), *(n.end for n in notes)})
    cuts: list[tuple[float, float]] = []  # (event time, total cut at and after it)
    total = 0.0
    for a, b in zip(times, times[1:], strict=False):
        if b - a > MAX_GAP_S:
            total += b - a - MAX_GAP_S
            cuts.append((b, total))
    if not cuts:
        return notes, 0
    keys = [c[0] for c in cuts]

    def moved(t: float) -> float:
        k = bisect.bisect_right(keys, t) - 1
        return t - cuts[k][1] if k >= 0 else t

    return [replace(n, start=moved(n.start), end=moved(n.end)) for n in notes], len(cuts)
