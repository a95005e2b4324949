"""The notes a performer plays: read from MIDI, shaped for one instrument, written back.

A :class:`Notes` is four parallel arrays sorted by onset. The performer never plays what is not
in its :class:`Notes`, and the clip's MIDI is written from the same :class:`Notes`, so motion
and music always agree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pretty_midi

from edge.midi.notes import MidiContent
from edge.vocab import PITCH_MAX, PITCH_MIN

PROGRAMS: dict[str, int] = {"piano": 0, "violin": 40}
"""General MIDI program written into a clip's MIDI for each instrument."""


@dataclass(frozen=True)
class Notes:
    """Notes sorted by onset (ties by pitch)."""

    start: np.ndarray  # float64 [N] onset, seconds
    end: np.ndarray  # float64 [N] note-off, seconds (> start)
    pitch: np.ndarray  # int64 [N] MIDI pitch within the vocabulary's 21..108
    velocity: np.ndarray  # int64 [N] MIDI velocity 1..127

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def end_time(self) -> float:
        """Latest note-off (0 when there are no notes)."""
        return float(self.end.max()) if len(self) else 0.0


def _sorted(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, vel: np.ndarray) -> Notes:
    order = np.lexsort((pitch, start))
    return Notes(
        start=np.asarray(start, np.float64)[order],
        end=np.asarray(end, np.float64)[order],
        pitch=np.asarray(pitch, np.int64)[order],
        velocity=np.asarray(vel, np.int64)[order],
    )


def fold_pitch(pitch: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Move pitches by whole octaves into ``lo..hi`` (needs ``hi - lo >= 11``)."""
    p = np.asarray(pitch, np.int64).copy()
    while (p < lo).any():
        p[p < lo] += 12
    while (p > hi).any():
        p[p > hi] -= 12
    return p


def notes_from_midi(content: MidiContent) -> Notes:
    """All pitched notes of every non-drum track, folded into the vocabulary's pitch range."""
    rows = [(n.start, n.end, n.pitch, n.velocity)
            for inst in content.instruments if not inst.is_drum
            for n in inst.notes if n.end > n.start]
    if not rows:
        z = np.zeros(0)
        return _sorted(z, z, z.astype(np.int64), z.astype(np.int64))
    a = np.array(rows, np.float64)
    start = a[:, 0] - min(0.0, a[:, 0].min())
    return _sorted(start, a[:, 1], fold_pitch(a[:, 2], PITCH_MIN, PITCH_MAX), a[:, 3])


def dedupe(notes: Notes) -> Notes:
    """Drop exact duplicates (same pitch struck at the same time by two voices)."""
    if not len(notes):
        return notes
    key = np.stack([np.round(notes.start * 1000), notes.pitch.astype(np.float64)], 1)
    _, first = np.unique(key, axis=0, return_index=True)
    keep = np.sort(first)
    return _sorted(notes.start[keep], notes.end[keep], notes.pitch[keep], notes.velocity[keep])


def melody(notes: Notes, lo: int, hi: int, *, chord_tol_s: float = 0.01) -> Notes:
    """A monophonic line (the highest note of each onset), folded into ``lo..hi``.

    Each note ends no later than the next onset, so at most one note sounds at a time.
    """
    if not len(notes):
        return notes
    groups = np.concatenate([[True], np.diff(notes.start) > chord_tol_s])
    gid = np.cumsum(groups) - 1
    top = np.zeros(gid[-1] + 1, np.int64)
    for i, g in enumerate(gid):  # lexsort by (pitch, start): the last of a group is the highest
        top[g] = i
    start, end = notes.start[top], notes.end[top].copy()
    end[:-1] = np.minimum(end[:-1], start[1:])
    keep = end > start + 1e-3
    return _sorted(start[keep], end[keep], fold_pitch(notes.pitch[top][keep], lo, hi),
                   notes.velocity[top][keep])


def humanize_velocity(
    notes: Notes, rng: np.random.Generator, *, sd: float, phrase_depth: float
) -> Notes:
    """Give the notes a performer's dynamics: a slow phrase swell plus per-note variation.

    Scores from the corpus mostly carry one flat velocity; a performer does not play flat, and
    the model should see (and learn) loud and soft strokes.
    """
    if not len(notes):
        return notes
    period = rng.uniform(6.0, 14.0)
    phase = rng.uniform(0, 2 * np.pi)
    base = rng.uniform(60, 90)
    swell = 1.0 + phrase_depth * np.sin(2 * np.pi * notes.start / period + phase)
    score_dyn = notes.velocity / max(1.0, float(np.median(notes.velocity)))
    vel = base * swell * score_dyn + rng.normal(0.0, sd, len(notes))
    vel = np.clip(np.round(vel), 20, 125).astype(np.int64)
    return Notes(notes.start, notes.end, notes.pitch, vel)


def to_midi_bytes(notes: Notes, instrument: str) -> bytes:
    """A one-track Standard MIDI File holding exactly ``notes``."""
    pm = to_pretty_midi(notes, instrument)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def to_pretty_midi(notes: Notes, instrument: str) -> pretty_midi.PrettyMIDI:
    """``notes`` as a PrettyMIDI object with one instrument track."""
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=PROGRAMS.get(instrument, 0), name=instrument)
    for s, e, p, v in zip(notes.start, notes.end, notes.pitch, notes.velocity, strict=True):
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(s),
                                           end=float(e)))
    pm.instruments.append(inst)
    return pm
