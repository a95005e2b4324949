"""``plan_memory(graph) -> MemoryPlan``: order, aliases, arena offsets and persistent area.

Steps:

1. Candidate orders: the model's own order, and (strategy ``"auto"``/``"search"``) the least-peak
   order of :func:`export.planner.schedule.search_order` (exact DP when small, beam beyond).
2. For each candidate: lifetimes, aliases and scratch (:mod:`export.planner.lifetimes`), then
   offsets (:mod:`export.planner.offsets`).
   Each order is planned with and without in-place depthwise (the better one is kept).
3. Keep the candidate with the smallest arena (ties: smaller lower bound, then the model's
   order), so the result is never worse than the model's order.
4. Persistent tensors (variables and the caller's ``persistent``) are packed one after another
   in their own area; views of them share their offsets.

Strategies: ``"auto"`` (both candidates), ``"model"`` (the model's order only), ``"search"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from export.ir import Graph
from export.planner import PlanError
from export.planner.lifetimes import Lifetimes, align_up, compute_lifetimes, lower_bound
from export.planner.offsets import assign_offsets
from export.planner.plan import Buffer, MemoryPlan
from export.planner.schedule import search_order

STRATEGIES: tuple[str, ...] = ("auto", "model", "search")
"""Accepted values of ``plan_memory(strategy=...)``."""


def _persistent_offsets(graph: Graph, lt: Lifetimes, alignment: int) -> tuple[dict[int, int], int]:
    """Offsets of the persistent area (in tensor index order) and its size."""
    offsets: dict[int, int] = {}
    cur = 0
    for t in sorted(lt.persistent):
        tensor = graph.tensors[t]
        if tensor.is_constant:
            raise PlanError(f"tensor {t} '{tensor.name}' is constant: expected an activation "
                            "or variable for the persistent area")
        offsets[t] = cur
        cur += align_up(tensor.nbytes, alignment)
    return offsets, cur


def _plan_for_order(graph: Graph, order: tuple[int, ...], persistent: Sequence[int],
                    alignment: int, notes: tuple[str, ...]) -> MemoryPlan:
    """The better plan for one fixed order: with or without in-place depthwise (its output
    keeps the input's larger storage, which can raise a later step's live bytes)."""
    plans = [_plan_with(graph, order, persistent, alignment, notes, shrinking=s)
             for s in (True, False)]
    return min(plans, key=lambda p: (p.arena_bytes, p.lower_bound_bytes))


def _plan_with(graph: Graph, order: tuple[int, ...], persistent: Sequence[int], alignment: int,
               notes: tuple[str, ...], *, shrinking: bool) -> MemoryPlan:
    """The full plan for one fixed order and in-place policy."""
    lt = compute_lifetimes(graph, order, persistent=persistent, alignment=alignment,
                           shrinking=shrinking)
    placement, peak = assign_offsets(lt.intervals, len(order), alignment)
    pers, pers_bytes = _persistent_offsets(graph, lt, alignment)
    offsets: dict[int, int] = {}
    buffers: dict[int, Buffer] = {}
    scratch: dict[int, Buffer] = {}
    for iv in lt.intervals:
        kind, idx = iv.key
        buf = Buffer(offset=placement[iv.key], size=iv.size, first_op=iv.first, last_op=iv.last)
        if kind == "scratch":
            scratch[idx] = buf
        else:
            offsets[idx], buffers[idx] = buf.offset, buf
    for t, root in lt.roots.items():
        if root in offsets:
            offsets[t], buffers[t] = offsets[root], buffers[root]
        elif root in pers:
            pers[t] = pers[root]
    return MemoryPlan(
        order=order,
        tensor_offsets=MappingProxyType(offsets),
        persistent_offsets=MappingProxyType(pers),
        scratch=MappingProxyType(scratch),
        aliases=MappingProxyType(dict(lt.aliases)),
        arena_bytes=peak,
        persistent_bytes=pers_bytes,
        lower_bound_bytes=lower_bound(lt.intervals, len(order)),
        alignment=alignment,
        notes=notes,
        buffers=MappingProxyType(buffers),
    )


def plan_memory(graph: Graph, *, strategy: str = "auto", persistent: Sequence[int] = (),
                alignment: int = 16, max_states: int = 200_000) -> MemoryPlan:
    """Plan execution order and memory of ``graph`` (see the module docstring)."""
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)})")
    if alignment <= 0 or alignment & (alignment - 1):
        raise PlanError(f"alignment must be a power of two, found {alignment}")
    for t in persistent:
        if not 0 <= t < len(graph.tensors):
            raise PlanError(f"persistent tensor {t} is outside range 0 to {len(graph.tensors) - 1}")
    model_order = tuple(op.index for op in graph.operators)
    plans = []
    if strategy in ("auto", "model"):
        plans.append(_plan_for_order(graph, model_order, persistent, alignment, ("order: model",)))
    if strategy in ("auto", "search"):
        found = search_order(graph, persistent=persistent, alignment=alignment,
                             max_states=max_states)
        how = "exact DP" if found.exact else "beam-pruned DP (heuristic)"
        note = f"order: {how}, {found.states} states"
        plans.append(_plan_for_order(graph, found.order, persistent, alignment, (note,)))
    best = min(plans, key=lambda p: (p.arena_bytes, p.lower_bound_bytes, p.order != model_order))
    extra = f"model order: arena {plans[0].arena_bytes} B" if len(plans) > 1 else ""
    return best if not extra else _with_note(best, extra)


def _with_note(plan: MemoryPlan, note: str) -> MemoryPlan:
    """``plan`` with one more note."""
    from dataclasses import replace

    return replace(plan, notes=(*plan.notes, note))
