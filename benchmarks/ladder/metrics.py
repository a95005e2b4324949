"""Note-level figures of the ladder: onset-only F1, onset F1 with pitch, and where pitch goes.

All matching is mir_eval's (onsets within 50 ms, distances rounded as ``mir_eval.transcription``
rounds them, ``<=``); offsets are ignored throughout.

* ``onset_only_f1``: notes matched on onset alone (any pitch), a maximum bipartite matching.
* ``onset_f1``: notes matched on onset *and* pitch (within 50 cents, i.e. the same MIDI
  pitch), ``mir_eval.transcription.match_notes`` with ``offset_ratio=None``.
* The pitch breakdown of the onset-only matching. A chord's notes all share one onset, so an
  onset-only matching may pair them arbitrarily; the pairing used here is the one that, among
  all maximum onset-only matchings, has the most exact-pitch pairs, then the most octave
  pairs (one rectangular assignment, :func:`onset_pairs`, ``O(n³)`` in the notes of a clip —
  0.2 s for 700 notes). Its size equals mir_eval's onset-only match count. Of its pairs:
  ``exact_pitch_share`` have the same pitch, ``octave_error_share`` differ by a non-zero
  multiple of 12 semitones (right pitch class, wrong octave: the register was lost, the key
  within the octave kept) and ``near_miss_share`` differ by 1 or 2 semitones (a neighbouring
  key: the x resolution was lost, not the register). Because exact and octave pairs are
  preferred, the exact and octave shares are upper bounds for chords, exact for single lines.

Pooled figures sum the counts over clips before dividing (a long clip weighs more); the mean
figures average the per-clip ratios (each clip weighs the same, as ``foley-edge evaluate``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.model.evaluate import ONSET_TOLERANCE_S, NoteArrays

FIGURES: tuple[str, ...] = ("onset_only_f1", "onset_f1", "exact_pitch_share",
                            "octave_error_share", "near_miss_share")
"""The ratios of :class:`NoteCounts`, in the order the ladder's table shows them."""


@dataclass(frozen=True)
class NoteCounts:
    """Counts of one comparison (or of several, summed) from which every figure follows."""

    ref_notes: int  # notes of the reference (the clip's own MIDI)
    est_notes: int  # notes of the estimate (a rung's output)
    onset_matched: int  # pairs of the onset-only matching (any pitch)
    pitch_matched: int  # pairs of mir_eval's onset + pitch matching
    exact: int  # onset-matched pairs with the same pitch
    octave: int  # onset-matched pairs whose pitches differ by a non-zero multiple of 12
    near_miss: int  # onset-matched pairs whose pitches differ by 1 or 2 semitones

    def __add__(self, other: NoteCounts) -> NoteCounts:
        return NoteCounts(*(a + b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple[int, ...]:
        return (self.ref_notes, self.est_notes, self.onset_matched, self.pitch_matched,
                self.exact, self.octave, self.near_miss)

    def figures(self) -> dict[str, float]:
        """The ratios of :data:`FIGURES` (F1 is 1.0 when both sides are empty, 0.0 when one is;
        a share is 0.0 when nothing matched on onset)."""
        def f1(matched: int) -> float:
            if self.ref_notes == 0 and self.est_notes == 0:
                return 1.0
            return 2.0 * matched / (self.ref_notes + self.est_notes)

        def share(k: int) -> float:
            return k / self.onset_matched if self.onset_matched else 0.0

        return {"onset_only_f1": f1(self.onset_matched), "onset_f1": f1(self.pitch_matched),
                "exact_pitch_share": share(self.exact), "octave_error_share": share(self.octave),
                "near_miss_share": share(self.near_miss)}


def onset_hits(ref: NoteArrays, est: NoteArrays) -> np.ndarray:
    """bool ``[n_ref, n_est]``: onsets within 50 ms, rounded and compared as mir_eval does."""
    from mir_eval.transcription import N_DECIMALS

    d = np.abs(np.subtract.outer(ref.intervals[:, 0], est.intervals[:, 0]))
    return np.around(d, decimals=N_DECIMALS) <= ONSET_TOLERANCE_S


def onset_pairs(ref: NoteArrays, est: NoteArrays) -> list[tuple[int, int]]:
    """A maximum onset-only matching with the most exact-pitch, then octave pairs, as
    ``(ref index, est index)`` sorted by reference note.

    One max-weight assignment: a hit weighs ``big + exact_bonus·[same pitch] + [octave]`` with
    ``big`` larger than any bonus sum (so the count comes first) and ``exact_bonus`` larger
    than any octave sum (so exact pairs come second); non-hits weigh 0 and are dropped.
    """
    from scipy.optimize import linear_sum_assignment

    if len(ref.pitches) == 0 or len(est.pitches) == 0:
        return []
    hits = onset_hits(ref, est)
    diff = np.abs(np.subtract.outer(ref.pitches, est.pitches))
    m = float(min(len(ref.pitches), len(est.pitches)))
    exact_bonus, big = m + 1.0, m * (m + 2.0) + 1.0
    octave = (diff % 12 == 0) & (diff > 0)
    w = np.where(hits, big + exact_bonus * (diff == 0) + octave, 0.0)
    rows, cols = linear_sum_assignment(w, maximize=True)
    keep = hits[rows, cols]
    return sorted(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))


def pitch_matched(ref: NoteArrays, est: NoteArrays) -> int:
    """mir_eval's onset + pitch match count (50 ms, 50 cents, offsets ignored)."""
    from mir_eval.transcription import match_notes

    if len(ref.pitches) == 0 or len(est.pitches) == 0:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(match_notes(ref.intervals, ref.pitches_hz, est.intervals, est.pitches_hz,
                               onset_tolerance=ONSET_TOLERANCE_S, offset_ratio=None))


def count_notes(ref: NoteArrays, est: NoteArrays) -> NoteCounts:
    """Every count of ``est`` scored against ``ref``."""
    pairs = onset_pairs(ref, est)
    d = np.array([abs(int(ref.pitches[i]) - int(est.pitches[j])) for i, j in pairs], np.int64)
    return NoteCounts(
        ref_notes=len(ref.pitches), est_notes=len(est.pitches), onset_matched=len(pairs),
        pitch_matched=pitch_matched(ref, est), exact=int(np.sum(d == 0)),
        octave=int(np.sum((d > 0) & (d % 12 == 0))), near_miss=int(np.sum((d >= 1) & (d <= 2))),
    )


def summarize(counts: Sequence[NoteCounts]) -> dict[str, dict[str, float]]:
    """``{"mean": figures averaged over clips, "pooled": figures of the summed counts}``."""
    if not counts:
        raise ValueError("summarize: no clips to summarize")
    per = [c.figures() for c in counts]
    total = counts[0]
    for c in counts[1:]:
        total = total + c
    return {"mean": {k: float(np.mean([f[k] for f in per])) for k in FIGURES},
            "pooled": total.figures()}

