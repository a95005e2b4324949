"""The pitch ladder: where the right notes are lost between the keypoints and the board.

``python -m benchmarks.ladder`` scores, on the held-out clips of a synthetic dataset, every stage
that turns keypoints into notes against the clip's own MIDI (mir_eval, 50 ms, offsets
ignored): an analytic reader of the synthetic performer's own cues (what the keypoints carry,
:mod:`benchmarks.ladder.cues`), the float teacher (from its recorded evaluation: its weights are
not shipped), the float student, the int8 student on the host and the emulated board's
recordings. Per rung: onset-only F1, onset F1 with pitch, and of the notes matched on onset the
share with the exact pitch, an octave off, or one or two semitones off
(:mod:`benchmarks.ladder.metrics`), as the mean over clips and pooled over all notes.

Modules: :mod:`~benchmarks.ladder.metrics` (counts and figures), :mod:`~benchmarks.ladder.cues`
(the analytic reader), :mod:`~benchmarks.ladder.rungs` (one note source per rung),
:mod:`~benchmarks.ladder.report` (table, JSON, chart), :mod:`~benchmarks.ladder.__main__`
(the command).
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class LadderError(FoleyEdgeError, ValueError):
    """A rung cannot be measured: a missing or unreadable input file, named in the message."""
