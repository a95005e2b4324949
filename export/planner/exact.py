"""Optimal arena offsets by mixed-integer programming (for graphs the heuristics leave above
the lower bound).

Model (offsets in units of the alignment): minimise the peak P subject to
``y_k + size_k <= P`` for every buffer and, for every two buffers live at the same step, a
binary choice of which one lies below the other. A slide pair (output over its dying input 0,
least shift s) chooses between "the output starts at least min(s, output size) below the
input" and "the output lies above the input". Big-M is the heuristic peak, so the search only
ever returns a placement at least as good.

Solved with HiGHS through ``scipy.optimize.milp`` under a node limit (not a time limit: the
result must not depend on the machine's load). Returns the best placement found, or ``None``
when the solver finds none within the limit. Problem size: n + 1 integer variables and one
binary per overlapping pair; exact for the few tens of buffers of our encoders, a bounded
search beyond.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from export.planner.lifetimes import Interval

Key = tuple[str, int]


def _pairs(ivs: Sequence[Interval]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(ivs)) for j in range(i + 1, len(ivs))
            if ivs[i].first <= ivs[j].last and ivs[j].first <= ivs[i].last]


def _rows(ivs: Sequence[Interval], pairs: list[tuple[int, int]],
          rules: Mapping[tuple[Key, Key], int], unit: int, big: int) -> tuple[list, list]:
    """Constraint rows (dict column -> coefficient) and upper bounds (lower bounds: -inf)."""
    n = len(ivs)
    rows: list[dict[int, int]] = []
    ub: list[int] = []
    size = [iv.size // unit for iv in ivs]
    for k in range(n):  # y_k + size_k <= P
        rows.append({k: 1, n: -1})
        ub.append(-size[k])
    for p, (i, j) in enumerate(pairs):
        z = n + 1 + p
        for src, dst in ((i, j), (j, i)):
            shift = rules.get((ivs[src].key, ivs[dst].key))
            if shift is not None:
                least = min(-(-shift // unit), size[dst])
                rows.append({dst: 1, src: -1, z: big})  # z=1: dst <= src - least
                ub.append(big - least)
                rows.append({src: 1, dst: -1, z: -big})  # z=0: src + size_src <= dst
                ub.append(-size[src])
                break
        else:
            rows.append({i: 1, j: -1, z: big})  # z=1: i below j
            ub.append(big - size[i])
            rows.append({j: 1, i: -1, z: -big})  # z=0: j below i
            ub.append(-size[j])
    return rows, ub


def place_exact(ivs: Sequence[Interval], rules: Mapping[tuple[Key, Key], int], alignment: int,
                upper: int, lower: int, *, node_limit: int = 200,
                max_pairs: int = 600) -> dict[Key, int] | None:
    """Least-peak placement below ``upper`` bytes (see the module docstring)."""
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import lil_matrix

    pairs = _pairs(ivs)
    if not ivs or len(pairs) > max_pairs or any(iv.size % alignment for iv in ivs):
        return None
    n, big = len(ivs), upper // alignment
    rows, ub = _rows(ivs, pairs, rules, alignment, big)
    a = lil_matrix((len(rows), n + 1 + len(pairs)))
    for r, row in enumerate(rows):
        for c, v in row.items():
            a[r, c] = v
    cost = np.zeros(n + 1 + len(pairs))
    cost[n] = 1.0
    lo = np.zeros(n + 1 + len(pairs))
    lo[n] = lower // alignment
    hi = np.concatenate([[big - iv.size // alignment for iv in ivs], [big], np.ones(len(pairs))])
    if np.any(hi < 0):
        return None
    from scipy.optimize import Bounds

    res = milp(cost, integrality=np.ones(len(cost)), bounds=Bounds(lo, hi),
               constraints=LinearConstraint(a.tocsr(), -np.inf, np.array(ub, dtype=float)),
               options={"node_limit": node_limit, "presolve": True})
    if res.x is None:
        return None
    return {iv.key: int(round(res.x[k])) * alignment for k, iv in enumerate(ivs)}
