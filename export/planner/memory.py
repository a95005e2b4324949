"""``plan_memory(graph) -> MemoryPlan``: order, aliases, arena offsets and persistent area.

Steps:

1. Candidate orders: the model's own order, and (strategy ``"auto"``/``"search"``) the least-peak
   order of :func:`export.planner.schedule.search_order` (exact DP when small, beam beyond).
2. For each candidate: lifetimes, aliases, scratch and slides (outputs allowed to partly
   overlap their dying input 0, :mod:`export.planner.overlap`) from
   :mod:`export.planner.lifetimes`, then offsets (:mod:`export.planner.offsets`).
   Each order is planned with and without in-place depthwise (the better one is kept), and
   the whole search runs with contiguous slices as views at an offset and with them copied
   when the graph has any (the better is kept: a view keeps its input alive while it is read).
3. Keep the candidate with the smallest arena (ties: smaller lower bound, then the model's
   order), so the result is never worse than the model's order.
3b. When it is above its lower bound, place the candidates with the smallest lower bounds
   again exactly (:mod:`export.planner.exact`, MILP under a node limit) and keep any gain.
4. Persistent tensors (variables and the caller's ``persistent``) are packed one after another
   in their own area; views of them share their offsets. A concatenation onto a persistent
   cache (the decoder step's ``concat(cache, new_row)``, :func:`grown_concats`) gets a
   persistent block of its own with the cache at its front (``grown=False`` turns this off).
5. With ``caller_io=True`` the float inputs only a QUANTIZE reads and the float outputs only a
   DEQUANTIZE writes (:func:`export.planner.caller_io.caller_tensors`) are in neither area:
   the generated C uses the caller's buffers (``MemoryPlan.caller_tensors``).

Strategies: ``"auto"`` (both candidates), ``"model"`` (the model's order only), ``"search"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from export.ir import Graph
from export.planner import PlanError
from export.planner.aliasing import alias_offsets, alias_roots, grown_concats
from export.planner.caller_io import caller_tensors
from export.planner.lifetimes import (
    Lifetimes,
    align_up,
    compute_lifetimes,
    lower_bound,
    persistent_set,
    view_aliases,
)
from export.planner.offsets import Placement, assign_offsets, peak_of
from export.planner.plan import Buffer, MemoryPlan
from export.planner.schedule import search_order

STRATEGIES: tuple[str, ...] = ("auto", "model", "search")
"""Accepted values of ``plan_memory(strategy=...)``."""


def _persistent_offsets(graph: Graph, tensors: Iterable[int],
                        alignment: int) -> tuple[dict[int, int], int]:
    """Offsets of ``tensors`` packed one after another in the persistent area (in tensor index
    order) and the area's size."""
    offsets: dict[int, int] = {}
    cur = 0
    for t in sorted(tensors):
        tensor = graph.tensors[t]
        if tensor.is_constant:
            raise PlanError(f"tensor {t} '{tensor.name}' is constant: expected an activation "
                            "or variable for the persistent area")
        offsets[t] = cur
        cur += align_up(tensor.nbytes, alignment)
    return offsets, cur


@dataclass(frozen=True)
class _Candidate:
    """One order and in-place/slide policy: its lifetimes and its heuristic plan."""

    plan: MemoryPlan  # the plan with the heuristic offsets
    lt: Lifetimes  # its lifetimes, slides and aliases
    rules: dict[tuple[tuple[str, int], tuple[str, int]], int]  # slides the placement may use


def _candidates(graph: Graph, order: tuple[int, ...], persistent: Sequence[int],
                alignment: int, notes: tuple[str, ...], *, slides: bool = True,
                inplace_depthwise: bool | None = None, strided: bool = True,
                slice_views: bool = True, caller: frozenset[int] = frozenset()
                ) -> list[_Candidate]:
    """Plans for one fixed order: with or without in-place depthwise (its output keeps the
    input's larger storage, which can raise a later step's live bytes), with or without
    slides (the placement heuristics may do worse with them; the caller keeps the best). The
    lower bound is the same for both: it allows the slides either way."""
    out = []
    for shrinking in (True, False) if inplace_depthwise is None else (inplace_depthwise,):
        lt = compute_lifetimes(graph, order, persistent=persistent, alignment=alignment,
                               shrinking=shrinking, strided=strided, slice_views=slice_views)
        bound = lower_bound(lt.intervals, len(order), lt.slides)
        for use in (True, False) if slides else (False,):
            rules = _rules(lt) if use else {}
            placement, peak = assign_offsets(lt.intervals, len(order), alignment, rules=rules,
                                             bound=bound)
            out.append(_Candidate(_assemble(graph, order, lt, placement, peak, bound, alignment,
                                            notes, caller), lt, rules))
    return out


def _rules(lt: Lifetimes) -> dict[tuple[tuple[str, int], tuple[str, int]], int]:
    return {(sl.src, sl.dst): sl.shift for sl in lt.slides}


def _assemble(graph: Graph, order: tuple[int, ...], lt: Lifetimes, placement: Placement,
              peak: int, bound: int, alignment: int, notes: tuple[str, ...],
              caller: frozenset[int] = frozenset()) -> MemoryPlan:
    """The full plan for one order, lifetimes and placement (``caller``: tensors planned
    outside both areas, which ``lt`` counts as persistent)."""
    pers, pers_bytes = _persistent_offsets(graph, lt.persistent - caller, alignment)
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
            offsets[t], buffers[t] = offsets[root] + lt.offsets.get(t, 0), buffers[root]
        elif root in pers:
            pers[t] = pers[root] + lt.offsets.get(t, 0)
    return MemoryPlan(
        order=order,
        tensor_offsets=MappingProxyType(offsets),
        persistent_offsets=MappingProxyType(pers),
        scratch=MappingProxyType(scratch),
        aliases=MappingProxyType(dict(lt.aliases)),
        arena_bytes=peak,
        persistent_bytes=pers_bytes,
        lower_bound_bytes=bound,
        live_bytes_bound=lower_bound(lt.intervals, len(order)),
        alignment=alignment,
        notes=notes,
        buffers=MappingProxyType(buffers),
        caller_tensors=tuple(sorted(caller)),
    )


def _refine(graph: Graph, cands: list[_Candidate], best: MemoryPlan, attempts: int,
            min_gap: float = 0.02) -> MemoryPlan:
    """``best``, or a better plan from exact placement (:mod:`export.planner.exact`) of the
    candidates whose lower bound is more than ``min_gap`` below it (smallest bound first,
    ``attempts`` at most: each costs up to about a second on 100 buffers)."""
    from export.planner.exact import place_exact

    open_ = sorted((c for c in cands if c.plan.lower_bound_bytes * (1 + min_gap)
                    < best.arena_bytes),
                   key=lambda c: (c.plan.lower_bound_bytes, c.plan.arena_bytes))
    for c in open_[:attempts]:
        p = c.plan
        if p.lower_bound_bytes >= best.arena_bytes:
            continue
        found = place_exact(c.lt.intervals, c.rules, p.alignment, best.arena_bytes,
                            p.lower_bound_bytes)
        if found is None:
            continue
        peak = peak_of(c.lt.intervals, found)
        if peak < best.arena_bytes:
            best = _assemble(graph, p.order, c.lt, found, peak, p.lower_bound_bytes, p.alignment,
                             (*p.notes, "offsets: exact (MILP)"), frozenset(p.caller_tensors))
    return best


def _slice_policies(graph: Graph, persistent: Sequence[int], strided: bool) -> tuple[bool, ...]:
    """Slice-view policies worth planning: with contiguous slices as views (no copy, but the
    sliced tensor stays alive while the slice is read) and, when some slice could be one,
    without (a copy lets a larger input die early: a residual branch's slice read late)."""
    if not strided:
        return (True,)
    pers = persistent_set(graph, persistent)
    if view_aliases(graph, pers, True, True) == view_aliases(graph, pers, True, False):
        return (True,)
    return True, False


def _policy_candidates(graph: Graph, persistent: Sequence[int], strategy: str, alignment: int,
                       max_states: int, slides: bool, inplace_depthwise: bool | None,
                       strided: bool, views: bool, model_order: tuple[int, ...],
                       caller: frozenset[int]) -> list[_Candidate]:
    """The candidates of one slice-view policy: the model's order and the searched orders
    (``persistent`` holds ``caller`` too: neither is in the arena)."""
    tag = "" if views else ", slices copied"
    kw = {"inplace_depthwise": inplace_depthwise, "strided": strided, "slice_views": views,
          "caller": caller}
    cands: list[_Candidate] = []
    if strategy in ("auto", "model"):
        cands += _candidates(graph, model_order, persistent, alignment, (f"order: model{tag}",),
                             slides=slides, **kw)
    if strategy in ("auto", "search"):
        found = search_order(graph, persistent=persistent, alignment=alignment,
                             max_states=max_states, slides=slides, strided=strided,
                             slice_views=views)
        how = "exact DP" if found.exact else "beam-pruned DP (heuristic)"
        cands += _candidates(graph, found.order, persistent, alignment,
                             (f"order: {how}, {found.states} states{tag}",), slides=slides, **kw)
        if slides:  # the order best without overlaps can still place better with them
            plain = search_order(graph, persistent=persistent, alignment=alignment,
                                 max_states=max_states, slides=False, strided=strided,
                                 slice_views=views)
            if plain.order != found.order:
                cands += _candidates(graph, plain.order, persistent, alignment,
                                     (f"order: DP without slides, {plain.states} states{tag}",),
                                     **kw)
    return cands


def plan_memory(graph: Graph, *, strategy: str = "auto", persistent: Sequence[int] = (),
                alignment: int = 16, max_states: int = 200_000,
                exact_attempts: int = 1, slides: bool = True,
                inplace_depthwise: bool | None = None, grown: bool = True,
                strided_views: bool = True, caller_io: bool = False) -> MemoryPlan:
    """Plan execution order and memory of ``graph`` (see the module docstring); ``slides=False``
    keeps every output apart from its input (the plan of before partial overlaps);
    ``inplace_depthwise`` forces TinyEngine's in-place depthwise on (True) or off (False) where
    it applies instead of keeping the better of both (None); ``strided_views=False`` keeps
    every TRANSPOSE and slice a copy, as TFLite Micro runs them (see
    :func:`export.planner.aliasing.can_strided_view` and ``can_slice_view``); ``caller_io``
    leaves float inputs read only by QUANTIZE and float outputs made only by DEQUANTIZE in the
    caller's buffers (step 5)."""
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)})")
    if alignment <= 0 or alignment & (alignment - 1):
        raise PlanError(f"alignment must be a power of two, found {alignment}")
    for t in persistent:
        if not 0 <= t < len(graph.tensors):
            raise PlanError(f"persistent tensor {t} is outside range 0 to {len(graph.tensors) - 1}")
    grows = grown_concats(graph, persistent_set(graph, persistent)) if grown else {}
    caller = frozenset(caller_tensors(graph) if caller_io else ()) - frozenset(persistent)
    persistent = (*persistent, *sorted(grows))
    outside = (*persistent, *sorted(caller))  # (the lifetimes and the order search leave both out)
    model_order = tuple(op.index for op in graph.operators)
    cands: list[_Candidate] = []
    for views in _slice_policies(graph, outside, strided_views):
        cands += _policy_candidates(graph, outside, strategy, alignment, max_states, slides,
                                    inplace_depthwise, strided_views, views, model_order, caller)

    def rank(p: MemoryPlan) -> tuple[int, int, bool]:
        return p.arena_bytes, p.lower_bound_bytes, p.order != model_order

    best = min((c.plan for c in cands), key=rank)
    refined = _refine(graph, cands, best, exact_attempts)
    best = refined if rank(refined) < rank(best) else best
    model = [c.plan.arena_bytes for c in cands if c.plan.order == model_order]
    extra = f"model order: arena {min(model)} B" if strategy == "auto" and model else ""
    best = _grow(graph, best, grows) if grows else best
    return best if not extra else _with_note(best, extra)


def _grow(graph: Graph, plan: MemoryPlan, grows: dict[int, int]) -> MemoryPlan:
    """``plan`` with each grown concatenation's input 0 moved to the front of its output's
    persistent block (the persistent area packed again without those inputs)."""
    from dataclasses import replace

    fronts = set(grows.values())
    offsets, cur = _persistent_offsets(
        graph, (t for t in plan.persistent_offsets if t not in fronts and t not in plan.aliases),
        plan.alignment)
    for out, front in grows.items():
        offsets[front] = offsets[out]
    shift = alias_offsets(graph, plan.aliases)
    for t, root in alias_roots(dict(plan.aliases)).items():
        if root in offsets and t not in offsets:
            offsets[t] = offsets[root] + shift.get(t, 0)
    return replace(plan, persistent_offsets=MappingProxyType(offsets), persistent_bytes=cur,
                   grown=MappingProxyType(dict(grows)),
                   notes=(*plan.notes, f"{len(grows)} concatenation(s) grow their persistent "
                          "input 0 in place"))


def _with_note(plan: MemoryPlan, note: str) -> MemoryPlan:
    """``plan`` with one more note."""
    from dataclasses import replace

    return replace(plan, notes=(*plan.notes, note))
