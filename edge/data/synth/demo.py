"""The bundled demo clip: a few seconds of a Bach chorale performed on the piano.

Rebuild it with ``foley-edge data demo-clip`` (writes ``edge/assets/demo_clip.npz``); the
result depends only on the music21 corpus and the performer's defaults (seed 0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.data.clip import save_clip
from edge.data.synth.params import PerformerParams
from edge.data.synth.performer import Piece, SynthError, perform_notes
from edge.data.synth.score import Notes, dedupe, notes_from_midi

DEMO_PIECE = "bach/bwv66.6.mxl"
DEMO_SEED = 0


def excerpt(notes: Notes, seconds: float) -> Notes:
    """The notes starting before ``seconds``, cut to end by then."""
    keep = notes.start < seconds
    end = np.minimum(notes.end[keep], seconds)
    return Notes(notes.start[keep], end, notes.pitch[keep], notes.velocity[keep])


def corpus_piece_midi(name: str) -> bytes:
    """Standard MIDI File bytes of one music21-corpus piece (converted by music21)."""
    from music21 import corpus
    from music21.midi import translate

    try:
        score = corpus.parse(name)
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds; reported as one error
        raise SynthError(f"music21 corpus piece {name!r} cannot be parsed ({e})") from e
    return translate.music21ObjectToMidiFile(score).writestr()


def write_demo_clip(out: str | os.PathLike[str], *, seconds: float = 8.0) -> Path:
    """Perform the first ``seconds`` of :data:`DEMO_PIECE` on the piano and save the clip."""
    from edge.midi.reader import read_midi

    params = PerformerParams(tail_s=0.5)
    notes = dedupe(notes_from_midi(read_midi(corpus_piece_midi(DEMO_PIECE), name=DEMO_PIECE)))
    piece = Piece(DEMO_PIECE, "bach", "")
    clip = perform_notes(excerpt(notes, seconds - params.tail_s), piece, "piano", DEMO_SEED,
                         params)
    clip = type(clip)(clip.keypoints, clip.fps, clip.tokens, clip.midi,
                      {**clip.meta, "name": "demo_clip", "split": "demo"})
    return save_clip(clip, out)
