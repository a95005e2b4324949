"""Arena offsets for buffers with known sizes and lifetimes (dynamic storage allocation).

Buffers live at the same step may not share bytes, except a "slide" pair (an operator's
output over its dying input 0, :mod:`export.planner.overlap`): ``rules[(src, dst)] = s`` lets
``dst`` overlap ``src`` when ``offset(src) - offset(dst) >= s``.

Each placement works in start-offset space: every placed buffer live at the same time forbids
an open interval of starts for the next one (narrowed by a slide rule); the aligned starts
left form ranges, and a fit picks one.

Steps:

1. Greedy placement, as TFLM's greedy planner does: take the buffers in a given order; put each
   at the lowest (first fit) or tightest (best fit) allowed start.
2. Try several orders — size descending, size x lifetime descending, lifetime descending,
   first use — with both fits; a two-ended packing (first-use order; offset 0 when free, else
   the top of a box of the lower bound's height) that is optimal on chains; and a top-down
   packing (first-use order, each buffer as high as it fits under a box) for boxes found by
   bisection between the lower bound and the best peak so far — the one that lets a chain of
   slides walk down the arena and come back up.
3. Improve: put the buffers that touch the current peak first and place again, a few rounds.
4. Keep the smallest peak; stop early when it meets the lower bound.

Complexity: O(#orders x n^2 log n) for n buffers. The problem is NP-hard in general; the lower
bound (max live bytes minus the slide allowances of the step) certifies how far a result can
be from optimal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from export.planner.lifetimes import Interval, align_up

Key = tuple[str, int]
Placement = dict[Key, int]
Rules = Mapping[tuple[Key, Key], int]
Range = tuple[int, int | None]  # allowed starts a..b inclusive (b None: unbounded)


def _overlaps(a: Interval, b: Interval) -> bool:
    return a.first <= b.last and b.first <= a.last


def _forbidden(iv: Interval, placed: Sequence[tuple[Interval, int]],
               rules: Rules) -> list[tuple[int, int]]:
    """Open intervals (lo, hi) of starts of ``iv`` that would clash with a placed buffer."""
    out = []
    for p, o in placed:
        if not _overlaps(p, iv):
            continue
        lo, hi = o - iv.size, o + p.size
        shift = rules.get((p.key, iv.key))
        if shift is not None:  # iv is p's output: it may start ``shift`` below p
            lo = max(lo, o - shift)
        shift = rules.get((iv.key, p.key))
        if shift is not None:  # iv is p's input: it may start ``shift`` above p
            hi = min(hi, o + shift)
        if lo < hi:
            out.append((lo, hi))
    return out


def _ranges(forbidden: list[tuple[int, int]], alignment: int) -> list[Range]:
    """Aligned start ranges outside every forbidden open interval, lowest first."""
    ranges: list[Range] = []
    cur = 0
    for lo, hi in sorted(forbidden):
        a = align_up(cur, alignment)
        b = lo // alignment * alignment
        if b >= a:
            ranges.append((a, b))
        cur = max(cur, hi)
    ranges.append((align_up(cur, alignment), None))
    return ranges


def _allowed(iv: Interval, placed: Sequence[tuple[Interval, int]], rules: Rules,
             alignment: int) -> list[Range]:
    return _ranges(_forbidden(iv, placed, rules), alignment)


def _place(order: Sequence[Interval], alignment: int, rules: Rules, *, best_fit: bool) -> Placement:
    """Greedy placement of ``order`` (first fit or best fit)."""
    placed: list[tuple[Interval, int]] = []
    out: Placement = {}
    for iv in order:
        ranges = _allowed(iv, placed, rules, alignment)
        off = ranges[0][0]
        if best_fit:
            closed = [(b - a, a) for a, b in ranges if b is not None]
            off = min(closed)[1] if closed else ranges[-1][0]
        placed.append((iv, off))
        out[iv.key] = off
    return out


def _highest_fit(ranges: Sequence[Range], size: int, box: int, alignment: int) -> int | None:
    """Highest allowed start where ``size`` bytes end at or below ``box``."""
    best: int | None = None
    for a, b in ranges:
        hi = box - size if b is None else min(b, box - size)
        top = hi // alignment * alignment
        if top >= a and (best is None or top > best):
            best = top
    return best


def _first_use(ivs: Sequence[Interval]) -> list[Interval]:
    return sorted(ivs, key=lambda v: (v.first, -v.size, v.key))


def _place_two_ended(ivs: Sequence[Interval], alignment: int, box: int, rules: Rules) -> Placement:
    """First-use order; each buffer at offset 0 when free, else as high as fits under ``box``."""
    placed: list[tuple[Interval, int]] = []
    out: Placement = {}
    for iv in _first_use(ivs):
        ranges = _allowed(iv, placed, rules, alignment)
        off = ranges[0][0]
        if off != 0:  # the bottom is taken: pack against the top of the box instead
            top = _highest_fit(ranges, iv.size, box, alignment)
            off = top if top is not None else off
        placed.append((iv, off))
        out[iv.key] = off
    return out


def _place_top_down(ivs: Sequence[Interval], alignment: int, box: int,
                    rules: Rules) -> Placement | None:
    """First-use order, each buffer as high as it fits under ``box``; None when one does not."""
    placed: list[tuple[Interval, int]] = []
    out: Placement = {}
    for iv in _first_use(ivs):
        off = _highest_fit(_allowed(iv, placed, rules, alignment), iv.size, box, alignment)
        if off is None:
            return None
        placed.append((iv, off))
        out[iv.key] = off
    return out


def _bisect_top_down(ivs: Sequence[Interval], alignment: int, rules: Rules, lo: int,
                     hi: int, rounds: int = 12) -> Placement | None:
    """Top-down placement under the lowest box found by bisection in [lo, hi)."""
    best: Placement | None = None
    lo, hi = align_up(lo, alignment), align_up(hi, alignment)
    for _ in range(rounds):
        if lo >= hi:
            break
        mid = (lo + hi) // 2 // alignment * alignment
        trial = _place_top_down(ivs, alignment, mid, rules)
        if trial is not None:
            best, hi = trial, mid
        else:
            lo = mid + alignment
    return best


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
                   improve_rounds: int = 8, *, rules: Rules | None = None,
                   bound: int | None = None) -> tuple[Placement, int]:
    """Best placement found and its peak (see the module docstring); ``bound``: the lower
    bound to stop at (default: max live bytes, no slides)."""
    from export.planner.lifetimes import lower_bound

    if not ivs:
        return {}, 0
    rules = rules or {}
    bound = lower_bound(ivs, steps) if bound is None else bound
    candidates = [_place(sorted(ivs, key=key), alignment, rules, best_fit=bf)
                  for key in _ORDERS for bf in (False, True)]
    candidates.append(_place_two_ended(ivs, alignment, bound, rules))
    best = min(candidates, key=lambda p: peak_of(ivs, p))
    peak = peak_of(ivs, best)
    if rules and peak > bound:
        top = _bisect_top_down(ivs, alignment, rules, bound, peak)
        if top is not None and peak_of(ivs, top) < peak:
            best, peak = top, peak_of(ivs, top)
    seq = sorted(ivs, key=_ORDERS[0])
    for _ in range(improve_rounds):
        if peak <= bound:
            break
        top_ivs = [iv for iv in seq if best[iv.key] + iv.size == peak]
        seq = top_ivs + [iv for iv in seq if iv not in top_ivs]
        for bf in (False, True):
            trial = _place(seq, alignment, rules, best_fit=bf)
            if peak_of(ivs, trial) < peak:
                best, peak = trial, peak_of(ivs, trial)
    return best, peak
