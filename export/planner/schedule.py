"""Execution order that minimises peak live memory (SERENITY-style dynamic programming).

Cost model (the same as :mod:`export.planner.lifetimes`): storage classes are view groups;
a class is resident from its producer (step 0 for graph inputs) until its last consumer (the end
for graph outputs); running op v after the executed set S costs
``resident(S) + bytes of v's outputs + scratch(v)`` minus v's output when v may run in place
(input 0's class dies at v), else minus v's slide allowance when v's output may partly overlap
its dying input 0 (:mod:`export.planner.overlap`). The peak of an order is the maximum step
cost.

Steps:

1. Level-wise dynamic programming over executed sets S (bitmasks, downsets of the DAG): level k
   holds every S with |S| = k reachable so far, each with the least peak of any order reaching
   it (resident(S) depends on S only, so that peak is all the future needs).
2. A level wider than ``max_states // #ops`` keeps only its best states by (peak, resident):
   a beam search. When no level was cut, the order is exact (optimal for the cost model).
3. The caller compares the result with the model's own order and keeps the better one.

Complexity: O(sum of level widths x ready ops) transitions, at most ``max_states x #ops``.
Exact search is exponential in the DAG's width (number of antichains): fine for chains and
small attention blocks, pruned (heuristic) beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from export.ir import Graph, Operator
from export.planner import PlanError
from export.planner.aliasing import alias_offsets, can_run_inplace
from export.planner.lifetimes import alias_roots, align_up, persistent_set, view_aliases
from export.planner.overlap import allowance_for, min_shift
from export.scratch import scratch_bytes


@dataclass(frozen=True)
class OrderSearch:
    """The best order found and how it was found."""

    order: tuple[int, ...]  # operator indices
    peak_bytes: int  # peak under the schedule cost model
    exact: bool  # True when no DP level was pruned
    states: int  # DP states visited


@dataclass(frozen=True)
class _Model:
    """Precomputed per-op costs: bitmasks of predecessors, classes, sizes."""

    preds: tuple[int, ...]  # op -> bitmask of ops it depends on
    succs: tuple[tuple[int, ...], ...]  # op -> ops depending on it
    in_classes: tuple[tuple[int, ...], ...]  # op -> distinct storage classes it reads
    out_classes: tuple[tuple[int, ...], ...]  # op -> classes rooted at its outputs
    cons: dict[int, int]  # class -> bitmask of consumer ops
    size: dict[int, int]  # class -> aligned arena bytes (0 outside the arena)
    keep: frozenset[int]  # classes holding a graph output (live to the end)
    scratch: tuple[int, ...]  # op -> aligned scratch bytes
    inplace: tuple[int, ...]  # op -> class of input 0 if statically in-place capable, else -1
    slide: tuple[tuple[int, int], ...]  # op -> (class of input 0, allowance) or (-1, 0)
    initial: int  # resident bytes before any op (graph inputs)


def _build(graph: Graph, persistent: Sequence[int], alignment: int, slides: bool = True,
           strided: bool = True, slice_views: bool = True) -> _Model:
    """Precompute the cost model of ``graph``."""
    pers = persistent_set(graph, persistent)
    views = view_aliases(graph, pers, strided, slice_views)
    roots, offsets = alias_roots(views), alias_offsets(graph, views)
    cls = {t.index: roots.get(t.index, t.index) for t in graph.tensors}
    size = {c: 0 for c in set(cls.values())}
    for t in graph.tensors:
        if cls[t.index] == t.index and not (t.is_constant or t.index in pers):
            size[t.index] = align_up(t.nbytes, alignment)
    prod = graph.producers()
    n = len(graph.operators)
    preds = [0] * n
    succs: list[set[int]] = [set() for _ in range(n)]
    cons: dict[int, int] = {}
    for op in graph.operators:
        for t in op.inputs:
            if t < 0:
                continue
            cons[cls[t]] = cons.get(cls[t], 0) | (1 << op.index)
            if t in prod and prod[t] != op.index:
                preds[op.index] |= 1 << prod[t]
                succs[prod[t]].add(op.index)
    keep = frozenset(cls[t] for t in graph.outputs)
    inplace = []
    for op in graph.operators:
        ok = bool(op.inputs) and op.inputs[0] >= 0 and can_run_inplace(
            graph, op, root=cls[op.inputs[0]], root_last_step=0, step=0, persistent=pers)
        inplace.append(cls[op.inputs[0]] if ok and cls[op.inputs[0]] not in keep else -1)
    initial = sum(size[c] for c in {cls[t] for t in graph.inputs})
    slide = tuple(_slide(graph, op, cls, size, keep, alignment, offsets) if slides else (-1, 0)
                  for op in graph.operators)
    return _Model(
        preds=tuple(preds), succs=tuple(tuple(sorted(s)) for s in succs),
        in_classes=tuple(tuple(sorted({cls[t] for t in op.inputs if t >= 0})) for op in graph.operators),
        out_classes=tuple(tuple(sorted({t for t in op.outputs if cls[t] == t})) for op in graph.operators),
        cons=cons, size=size, keep=keep,
        scratch=tuple(align_up(scratch_bytes(graph, op, inplace=ok >= 0), alignment)
                      for op, ok in zip(graph.operators, inplace, strict=True)),
        inplace=tuple(inplace), slide=slide, initial=initial,
    )


def _slide(graph: Graph, op: Operator, cls: dict[int, int], size: dict[int, int],
           keep: frozenset[int], alignment: int, offsets: dict[int, int]) -> tuple[int, int]:
    """(class of input 0, slide allowance) when ``op``'s output may partly overlap it."""
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
        return -1, 0
    c0, out = cls[op.inputs[0]], op.outputs[0]
    if c0 in keep or cls[out] != out or c0 == out or not size[c0] or not size[out]:
        return -1, 0
    if any(t >= 0 and cls[t] == c0 for t in op.inputs[1:]):
        return -1, 0
    shift = min_shift(graph, op, offsets)
    if shift is None:
        return -1, 0
    return c0, allowance_for(shift, size[c0], size[out], alignment)


def _step(m: _Model, done: int, resident: int, v: int) -> tuple[int, int]:
    """(cost of running v after ``done``, resident bytes after it)."""
    after = done | (1 << v)
    outs = sum(m.size[c] for c in m.out_classes[v])
    cost = resident + outs + m.scratch[v]
    c0 = m.inplace[v]
    s0, allowance = m.slide[v]
    if c0 >= 0 and m.cons.get(c0, 0) & ~after == 0 and len(m.out_classes[v]) == 1:
        cost -= min(outs, m.size[c0])
    elif s0 >= 0 and m.cons.get(s0, 0) & ~after == 0:
        cost -= allowance
    freed = sum(m.size[c] for c in m.in_classes[v]
                if c not in m.keep and m.cons.get(c, 0) & ~after == 0)
    kept = sum(m.size[c] for c in m.out_classes[v] if c in m.keep or m.cons.get(c, 0))
    return cost, resident - freed + kept


def order_peak(graph: Graph, order: Sequence[int], *, persistent: Sequence[int] = (),
               alignment: int = 16) -> int:
    """Peak of ``order`` under the schedule cost model."""
    m = _build(graph, persistent, alignment)
    done, resident, peak = 0, m.initial, m.initial
    for v in order:
        cost, resident = _step(m, done, resident, v)
        done |= 1 << v
        peak = max(peak, cost)
    return peak


def search_order(graph: Graph, *, persistent: Sequence[int] = (), alignment: int = 16,
                 max_states: int = 200_000, slides: bool = True, strided: bool = True,
                 slice_views: bool = True) -> OrderSearch:
    """Least-peak topological order by level-wise DP, beam-pruned past ``max_states``
    (``slides=False``: without the slide allowances in the cost; ``strided``: TRANSPOSEs read
    in place by BATCH_MATMUL are views)."""
    m = _build(graph, persistent, alignment, slides, strided, slice_views)
    n = len(graph.operators)
    if n == 0:
        return OrderSearch((), m.initial, True, 0)
    width = max(8, max_states // n)
    ready0 = sum(1 << v for v in range(n) if m.preds[v] == 0)
    # mask -> (peak, resident, ready mask); parents[k][mask] = (previous mask, op)
    level: dict[int, tuple[int, int, int]] = {0: (m.initial, m.initial, ready0)}
    parents: list[dict[int, tuple[int, int]]] = []
    exact, states = True, 1
    for _ in range(n):
        nxt: dict[int, tuple[int, int, int]] = {}
        par: dict[int, tuple[int, int]] = {}
        for done, (peak, resident, ready) in level.items():
            r = ready
            while r:
                low = r & -r
                v = low.bit_length() - 1
                r ^= low
                cost, res = _step(m, done, resident, v)
                after = done | low
                p = max(peak, cost)
                if after in nxt and nxt[after][0] <= p:
                    continue
                rdy = ready & ~low
                for u in m.succs[v]:
                    if m.preds[u] & ~after == 0:
                        rdy |= 1 << u
                nxt[after] = (p, res, rdy)
                par[after] = (done, v)
        states += len(nxt)
        if len(nxt) > width:
            exact = False
            best = sorted(nxt.items(), key=lambda kv: (kv[1][0], kv[1][1], kv[0]))[:width]
            nxt = dict(best)
        level, parents = nxt, [*parents, par]
    if len(level) != 1:
        raise PlanError(f"graph {graph.name!r} has a cycle: expected one final state, found {len(level)}")
    ((mask, (peak, _, _)),) = level.items()
    order = []
    for par in reversed(parents):
        mask, v = par[mask]
        order.append(v)
    return OrderSearch(tuple(reversed(order)), peak, exact, states)
