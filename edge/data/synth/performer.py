"""One synthetic performance: notes in, a validated :class:`~edge.data.clip.Clip` out.

``perform`` is a pure function of (piece MIDI, instrument, seed, parameters): the same inputs
give byte-identical keypoints, whichever process runs it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from edge.data.clip import Clip
from edge.data.synth.nuisance import detect
from edge.data.synth.params import INSTRUMENTS, PerformerParams
from edge.data.synth.piano import perform_piano, plan_piano
from edge.data.synth.score import (
    Notes,
    dedupe,
    humanize_velocity,
    melody,
    notes_from_midi,
    to_midi_bytes,
    to_pretty_midi,
)
from edge.data.synth.violin import perform_violin
from edge.data.tokens import tokens_for_span
from edge.errors import FoleyEdgeError
from edge.midi.reader import read_midi


class SynthError(FoleyEdgeError, ValueError):
    """A piece cannot be performed (unreadable MIDI, no notes, unknown instrument)."""


@dataclass(frozen=True)
class Piece:
    """A piece of music to perform."""

    name: str  # unique piece name (also the clip's file stem once sanitised)
    composer: str  # composer or source folder, "" when unknown
    midi_path: str  # Standard MIDI File to read


def piece_seed(seed: int, name: str) -> int:
    """A 63-bit seed for one piece derived from the run's seed and the piece's name."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def pick_instrument(instrument: str, seed: int, name: str) -> str:
    """``instrument`` itself, or for ``mixed`` one chosen by (seed, piece name)."""
    if instrument == "mixed":
        return INSTRUMENTS[piece_seed(seed + 1, name) % len(INSTRUMENTS)]
    if instrument not in INSTRUMENTS:
        raise SynthError(f"instrument must be one of {[*INSTRUMENTS, 'mixed']}, "
                         f"found {instrument!r}")
    return instrument


def read_notes(midi_path: str) -> Notes:
    """The notes of a MIDI file (``MidiError`` / :class:`SynthError` name the file)."""
    notes = dedupe(notes_from_midi(read_midi(midi_path)))
    if not len(notes):
        raise SynthError(f"{midi_path}: holds no pitched notes to perform")
    return notes


def score_for(notes: Notes, instrument: str, rng: np.random.Generator,
              params: PerformerParams) -> Notes:
    """The notes the performer actually plays on ``instrument`` (with its dynamics)."""
    if instrument == "violin":
        notes = melody(notes, *params.violin.pitch_range)
    return humanize_velocity(notes, rng, sd=params.nuisance.velocity_sd,
                             phrase_depth=params.nuisance.phrase_depth)


def perform(piece: Piece, instrument: str, seed: int, params: PerformerParams) -> Clip:
    """Perform ``piece`` on ``instrument`` ('piano' | 'violin' | 'mixed') as a clip."""
    return perform_notes(read_notes(piece.midi_path), piece, instrument, seed, params)


def perform_notes(score: Notes, piece: Piece, instrument: str, seed: int,
                  params: PerformerParams) -> Clip:
    """Perform the notes ``score`` of ``piece`` (its name seeds the randomness) as a clip."""
    chosen = pick_instrument(instrument, seed, piece.name)
    rng = np.random.default_rng(piece_seed(seed, piece.name))
    notes = score_for(score, chosen, rng, params)
    n_frames = int(math.ceil((notes.end_time + params.tail_s) * params.fps))
    if chosen == "piano":
        plan = plan_piano(notes, params.piano)
        notes = plan.notes
        xy = perform_piano(plan, n_frames, params.fps, params.piano)
    else:
        xy = perform_violin(notes, n_frames, params.fps, params.violin)
    keypoints = detect(xy, chosen, params.fps, rng, params.nuisance)
    tokens = tokens_for_span(to_pretty_midi(notes, chosen), 0.0, n_frames / params.fps)
    meta = {
        "instrument": chosen, "piece": piece.name, "composer": piece.composer, "seed": seed,
        "piece_seed": piece_seed(seed, piece.name), "source": "synth", "n_notes": len(notes),
    }
    clip = Clip(keypoints, params.fps, tokens, to_midi_bytes(notes, chosen), meta)
    clip.validate(f"<synth {piece.name}>")
    return clip
