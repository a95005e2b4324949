"""Arena offsets for buffers with known sizes and lifetimes (dynamic storage allocation).

Steps:

1. Greedy placement, as TFLM's greedy planner does: take the buffers in a given order; put each
   at the lowest (first fit) or tightest (best fit) aligned gap among the already placed
   buffers whose lifetimes overlap it.
2. Try several orders — size descending, size x lifetime descending, lifetime descending,
   first use — with both fits, plus a two-ended packing (first-use order; offset 0 when free,
   else the top of a box of the lower bound's height) that is optimal on chains.
3. Improve: put the buffers that touch the current peak first and place again, a few rounds.
4. Keep the smallest peak; stop early when it meets the lower bound.

Complexity: O(#orders x n^2) for n buffers. The problem is NP-hard in general; the lower bound
(max live bytes) certifies how far a result can be from optimal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from export.planner.lifetimes import Interval, align_up, lower_bound

Placement = dict[tuple[str, int], int]


def _overlaps(a: Interval, b: Interval) -> bool:
    return a.first <= b.last and b.first <= a.last


def _gaps(busy: list[tuple[int, int]], alignment: int) -> list[tuple[int, int | None]]:
    """Free (start, end) gaps between busy [start, end) ranges; the last gap is open."""
    gaps: list[tuple[int, int | None]] = []
    cur = 0
    for s, e in sorted(busy):
        if s > cur:
            gaps.append((cur, s))
        cur = max(cur, align_up(e, alignment))
    gaps.append((cur, None))
    return gaps


def _place(order: Sequence[Interval], alignment: int, *, best_fit: bool) -> Placement:
    """Greedy placement of ``order`` (first fit or best fit)."""
    placed: list[tuple[Interval, int]] = []
    out: Placement = {}
    for iv in order:
        busy = [(o, o + p.size) for p, o in placed if _overlaps(p, iv)]
        fits = [(s, e) for s, e in _gaps(busy, alignment) if e is None or e - s >= iv.size]
        if best_fit:
            closed = [(e - s, s) for s, e in fits if e is not None]
            off = min(closed)[1] if closed else fits[-1][0]
        else:
            off = fits[0][0]
        placed.append((iv, off))
        out[iv.key] = off
    return out


def _highest_fit(gaps: Sequence[tuple[int, int | None]], size: int, box: int,
                 alignment: int) -> int | None:
    """Highest aligned offset in a gap where ``size`` bytes end at or below ``box``."""
    best: int | None = None
    for s, e in gaps:
        hi = box if e is None else min(e, box)
        top = (hi - size) // alignment * alignment
        if top >= s and (best is None or top > best):
            best = top
    return best


def _place_two_ended(ivs: Sequence[Interval], alignment: int, box: int) -> Placement:
    """First-use order; each buffer at offset 0 when free, else as high as fits under ``box``."""
    placed: list[tuple[Interval, int]] = []
    out: Placement = {}
    for iv in sorted(ivs, key=lambda v: (v.first, -v.size, v.key)):
        busy = [(o, o + p.size) for p, o in placed if _overlaps(p, iv)]
        gaps = [(s, e) for s, e in _gaps(busy, alignment) if e is None or e - s >= iv.size]
        off = gaps[0][0]
        if off != 0:  # the bottom is taken: pack against the top of the box instead
            top = _highest_fit(gaps, iv.size, box, alignment)
            off = top if top is not None else off
        placed.append((iv, off))
        out[iv.key] = off
    return out


def peak_of(ivs: Sequence[Interval], placement: Placement) -> int:
    """Highest end address of a placement."""
    return max((placement[iv.key] + iv.size for iv in ivs), default=0)


_ORDERS: tuple[Callable[[Interval], tuple], ...] = (
    lambda v: (-v.size, v.first, v.key),
    lambda v: (-v.size * (v.last - v.first + 1), v.key),
    lambda v: (-(v.last - v.first), -v.size, v.key),
    lambda v: (v.first, -v.size, v.key),
)


def assign_offsets(ivs: Sequence[Interval], steps: int, alignment: int = 16,
                   improve_rounds: int = 8) -> tuple[Placement, int]:
    """Best placement found and its peak (see the module docstring)."""
    if not ivs:
        return {}, 0
    bound = lower_bound(ivs, steps)
    candidates = [_place(sorted(ivs, key=key), alignment, best_fit=bf)
                  for key in _ORDERS for bf in (False, True)]
    candidates.append(_place_two_ended(ivs, alignment, bound))
    best = min(candidates, key=lambda p: peak_of(ivs, p))
    peak = peak_of(ivs, best)
    seq = sorted(ivs, key=_ORDERS[0])
    for _ in range(improve_rounds):
        if peak <= bound:
            break
        top = [iv for iv in seq if best[iv.key] + iv.size == peak]
        seq = top + [iv for iv in seq if iv not in top]
        for bf in (False, True):
            trial = _place(seq, alignment, best_fit=bf)
            if peak_of(ivs, trial) < peak:
                best, peak = trial, peak_of(ivs, trial)
    return best, peak
