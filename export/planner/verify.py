"""``verify_plan(graph, plan)``: an independent check of a memory plan.

It recomputes everything from the graph and the plan's order, never from the planner's
intermediate results:

1. ``order`` is a permutation of the operators and respects every data dependency.
2. Every alias is legal: a view op (RESHAPE/SQUEEZE/EXPAND_DIMS, a slice selecting one
   contiguous run of its input, a TRANSPOSE read in place by BATCH_MATMUL) or an in-place op of
   :data:`INPLACE_OPS` whose input 0 storage is last read by that op and is not a graph input or
   output, constant or persistent; aliased tensors have their root's offset (plus a slice view's byte offset).
3. Every non-constant tensor the graph touches has an offset (arena or persistent area), all
   offsets are multiples of ``alignment`` and buffers end within their area.
4. No two arena buffers (storage roots and scratch) that are live at the same schedule position
   overlap in address, except a slide: an operator's output over its dying input 0 starting
   at least :func:`export.planner.overlap.min_shift` bytes below it (the rule the kernels'
   access order makes safe; any lesser shift is rejected as unsafe); no two persistent
   tensors overlap.
5. Every caller tensor (``caller_tensors``, in neither area) is one that
   :func:`export.planner.caller_io.caller_tensors` allows, and has no offset and no alias.
6. ``lower_bound_bytes`` equals the max over steps of live bytes minus the slide allowance of
   the step, and ``arena_bytes`` is at least that.

Complexity O(n^2) in the number of buffers. Raises :class:`PlanError` at the first violation.
"""

from __future__ import annotations

from collections.abc import Mapping

from export.ir import Graph
from export.planner import PlanError
from export.planner.aliasing import (
    INPLACE_OPS,
    STRIDED_VIEW_OPS,
    VIEW_OPS,
    alias_offsets,
    alias_roots,
    can_slice_view,
    can_strided_view,
    grows_in_place,
    inplace_shapes_ok,
)
from export.planner.caller_io import caller_tensors
from export.planner.lifetimes import Interval, align_up, live_bytes, persistent_set
from export.planner.overlap import allowance_for, slide_pairs
from export.planner.plan import MemoryPlan
from export.slices import SLICE_OPS


def _check_order(graph: Graph, plan: MemoryPlan) -> None:
    n = len(graph.operators)
    if sorted(plan.order) != list(range(n)):
        raise PlanError(f"order is not a permutation of the {n} operators: {plan.order}")
    prod = graph.producers()
    pos = {k: i for i, k in enumerate(plan.order)}
    for op in graph.operators:
        for t in op.inputs:
            if t >= 0 and t in prod and pos[prod[t]] >= pos[op.index]:
                raise PlanError(f"order runs operator {op.index} {op.op} at step {pos[op.index]} "
                                f"before its input tensor {t}'s producer {prod[t]}")


def _last_reads(graph: Graph, plan: MemoryPlan, roots: dict[int, int]) -> dict[int, int]:
    last: dict[int, int] = {}
    for step, k in enumerate(plan.order):
        for t in graph.operators[k].inputs:
            if t >= 0:
                last[roots.get(t, t)] = step
    for t in graph.outputs:
        last[roots.get(t, t)] = len(plan.order) - 1
    return last


def _before_overwrite(aliases: Mapping[int, int], src: int, dst: int) -> set[int]:
    """``src`` and the tensors viewing it through chains that do not pass through ``dst``."""
    out = {src}
    for t in aliases:
        chain, cur = [t], t
        while cur in aliases and cur != src and len(chain) <= len(aliases):
            cur = aliases[cur]
            chain.append(cur)
        if cur == src and dst not in chain:
            out.add(t)
    return out


def _check_aliases(graph: Graph, plan: MemoryPlan, pers: frozenset[int]) -> dict[int, int]:
    """Validate every alias; returns tensor -> storage root."""
    roots = alias_roots(plan.aliases)
    prod = graph.producers()
    consumers = graph.consumers()
    pos = {k: i for i, k in enumerate(plan.order)}
    for dst, src in plan.aliases.items():
        op = graph.operators[prod[dst]] if dst in prod else None
        if op is None or not op.inputs or op.inputs[0] != src:
            raise PlanError(f"alias {dst} -> {src}: expected {dst} produced from input 0 = {src}")
        if op.op in VIEW_OPS:
            continue
        if op.op in SLICE_OPS:
            if not can_slice_view(graph, op, pers):
                raise PlanError(f"alias {dst} -> {src}: operator {op.index} {op.op} does not "
                                "select one contiguous run of its input")
            continue
        if op.op in STRIDED_VIEW_OPS:
            if not can_strided_view(graph, op, pers, consumers):
                raise PlanError(f"alias {dst} -> {src}: operator {op.index} {op.op} is read by "
                                "an operator that cannot take it as a strided view")
            continue
        fixed = set(graph.inputs) | set(graph.outputs) | pers
        if op.op not in INPLACE_OPS or src in fixed or roots.get(src, src) in fixed or dst in fixed:
            raise PlanError(f"alias {dst} -> {src}: operator {op.index} {op.op} may not run in place")
        if not inplace_shapes_ok(graph, op):
            raise PlanError(f"alias {dst} -> {src}: operator {op.index} {op.op} cannot write "
                            f"{graph.tensors[dst].shape} over {graph.tensors[src].shape} in place")
        stale = _before_overwrite(plan.aliases, src, dst)
        for step in range(pos[op.index] + 1, len(plan.order)):
            reader = graph.operators[plan.order[step]]
            hit = [t for t in reader.inputs if t in stale]
            if hit:
                raise PlanError(f"alias {dst} -> {src}: tensor {hit[0]} is read by operator "
                                f"{reader.index} {reader.op} after operator {op.index} {op.op} "
                                "overwrote it in place")
    return roots


def _intervals(graph: Graph, plan: MemoryPlan, roots: dict[int, int], shift: dict[int, int],
               pers: frozenset[int]) -> list[tuple[str, Interval, int]]:
    """(label, interval, offset) of every arena buffer, from the graph and the order."""
    first: dict[int, int] = {roots.get(t, t): 0 for t in graph.inputs}
    for step, k in enumerate(plan.order):
        for t in graph.operators[k].outputs:
            first.setdefault(roots.get(t, t), step)
    last = _last_reads(graph, plan, roots)
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.operators:
        used.update(t for t in (*op.inputs, *op.outputs) if t >= 0)
    out = []
    for t in sorted(used):
        tensor = graph.tensors[t]
        if tensor.is_constant or tensor.nbytes == 0 or roots.get(t, t) in pers:
            continue
        area = plan.tensor_offsets
        if t not in area:
            raise PlanError(f"tensor {t} '{tensor.name}' has no arena offset")
        r = roots.get(t, t)
        if r in area and area[t] != area[r] + shift.get(t, 0):
            raise PlanError(f"tensor {t} '{tensor.name}' at {area[t]}: expected its storage "
                            f"root {r}'s offset {area[r]} + {shift.get(t, 0)}")
        if r == t:
            f = first.get(t, 0)
            size = align_up(tensor.nbytes, plan.alignment)
            out.append((f"tensor {t} '{tensor.name}'", Interval(("tensor", t), size, f,
                                                                 last.get(t, f)), area[t]))
    step_of = {k: i for i, k in enumerate(plan.order)}
    for k, buf in plan.scratch.items():
        s = step_of[k]
        out.append((f"scratch of operator {k}", Interval(("scratch", k), buf.size, s, s), buf.offset))
    return out


Slides = dict[frozenset[tuple[str, int]], tuple[tuple[str, int], tuple[str, int], int]]


def _slides(graph: Graph, plan: MemoryPlan, roots: dict[int, int], shift: dict[int, int],
            pers: frozenset[int]) -> Slides:
    """{src, dst} -> (src key, dst key, least shift) of every slide the order allows."""
    return {frozenset({("tensor", s), ("tensor", d)}): (("tensor", s), ("tensor", d), m)
            for s, d, m in slide_pairs(graph, plan.order, roots, pers, shift).values()}


def _overlap_ok(la: str, a: Interval, oa: int, lb: str, b: Interval, ob: int,
                slides: Slides) -> bool:
    """True for a slide pair at a safe shift; raises for a slide at an unsafe one."""
    rule = slides.get(frozenset({a.key, b.key}))
    if rule is None:
        return False
    src, dst, least = rule
    (ls, s, os_), (ld, _, od) = ((la, a, oa), (lb, b, ob)) if a.key == src else ((lb, b, ob), (la, a, oa))
    del s
    if os_ - od >= least:
        return True
    raise PlanError(f"Unsafe overlap: {ld} at {od} starts {os_ - od} bytes below its input "
                    f"{ls} at {os_}; its kernel's access order needs at least {least}")


def _check_overlaps(items: list[tuple[str, Interval, int]], plan: MemoryPlan,
                    slides: Slides) -> None:
    for label, iv, off in items:
        if off % plan.alignment:
            raise PlanError(f"{label}: offset {off} is not a multiple of {plan.alignment}")
        if off < 0 or off + iv.size > plan.arena_bytes:
            raise PlanError(f"{label} [{off}, {off + iv.size}) is outside the arena of "
                            f"{plan.arena_bytes} bytes")
    items = sorted(items, key=lambda x: x[2])
    for i, (la, a, oa) in enumerate(items):
        for lb, b, ob in items[i + 1:]:
            if ob >= oa + a.size:
                break
            if a.first <= b.last and b.first <= a.last and not _overlap_ok(la, a, oa, lb, b, ob,
                                                                            slides):
                raise PlanError(
                    f"Unexpected overlap: {la} [{oa}, {oa + a.size}) live ops {a.first}..{a.last}, "
                    f"{lb} [{ob}, {ob + b.size}) live ops {b.first}..{b.last}")


def _bound(items: list[tuple[str, Interval, int]], plan: MemoryPlan, slides: Slides) -> int:
    """Max over steps of live bytes minus the slide allowance of the step."""
    ivs = {iv.key: iv for _, iv, _ in items}
    live = live_bytes(list(ivs.values()), len(plan.order))
    for src, dst, least in slides.values():
        if src in ivs and dst in ivs:
            live[ivs[dst].first] -= allowance_for(least, ivs[src].size, ivs[dst].size,
                                                  plan.alignment)
    return max(live, default=0)


def _check_persistent(graph: Graph, plan: MemoryPlan, pers: frozenset[int]) -> None:
    spans = []
    for t in sorted(pers):
        if t not in plan.persistent_offsets:
            raise PlanError(f"persistent tensor {t} '{graph.tensors[t].name}' has no offset")
        off = plan.persistent_offsets[t]
        spans.append((off, off + graph.tensors[t].nbytes, t))
    spans.sort()
    for (s0, e0, t0), (s1, e1, t1) in zip(spans, spans[1:], strict=False):
        if s1 < e0:
            raise PlanError(f"Unexpected overlap in the persistent area: tensor {t0} [{s0}, {e0}), "
                            f"tensor {t1} [{s1}, {e1})")
    if spans and max(e for _, e, _ in spans) > plan.persistent_bytes:
        raise PlanError(f"persistent area of {plan.persistent_bytes} bytes is too small: "
                        f"expected at least {max(e for _, e, _ in spans)}")


def _check_grown(graph: Graph, plan: MemoryPlan, pers: frozenset[int]) -> None:
    """Every grown concatenation appends to a persistent input 0 lying at its output's front."""
    prod = graph.producers()
    for out, front in plan.grown.items():
        op = graph.operators[prod[out]] if out in prod else None
        if op is None or not grows_in_place(graph, op, pers - {out}) or op.inputs[0] != front:
            raise PlanError(f"grown tensor {out} -> {front}: expected a CONCATENATION appending "
                            f"to persistent input 0 = {front} (same quantization, a prefix)")
        if plan.persistent_offsets.get(out) != plan.persistent_offsets.get(front):
            raise PlanError(f"grown tensor {out}: input {front} must start its persistent block "
                            f"(offsets {plan.persistent_offsets.get(front)} and "
                            f"{plan.persistent_offsets.get(out)})")


def _check_caller(graph: Graph, plan: MemoryPlan) -> frozenset[int]:
    """The plan's caller tensors, each allowed by the rule and in no area; returns them."""
    allowed = set(caller_tensors(graph))
    for t in plan.caller_tensors:
        name = f"tensor {t} '{graph.tensors[t].name}'" if 0 <= t < len(graph.tensors) else f"tensor {t}"
        if t not in allowed:
            raise PlanError(f"{name} is planned in the caller's buffer: expected a float32 "
                            "graph input read only by QUANTIZE to int8, or a float32 graph "
                            f"output made only by DEQUANTIZE (allowed: {sorted(allowed)})")
        if t in plan.tensor_offsets or t in plan.persistent_offsets or t in plan.aliases \
                or t in plan.aliases.values():
            raise PlanError(f"{name} is in the caller's buffer: expected no offset and no alias")
    return frozenset(plan.caller_tensors)


def verify_plan(graph: Graph, plan: MemoryPlan) -> None:
    """Raise :class:`PlanError` unless ``plan`` is a valid plan of ``graph``."""
    _check_order(graph, plan)
    pers = persistent_set(graph, ()) | frozenset(
        t for t in plan.persistent_offsets if t not in plan.aliases)
    caller = _check_caller(graph, plan)
    _check_grown(graph, plan, pers)
    roots = _check_aliases(graph, plan, pers)
    shift = alias_offsets(graph, plan.aliases)  # byte offset of each alias inside its root
    items = _intervals(graph, plan, roots, shift, pers | caller)
    slides = _slides(graph, plan, roots, shift, pers | caller)
    _check_overlaps(items, plan, slides)
    _check_persistent(graph, plan, pers - frozenset(plan.grown.values()))  # fronts: checked above
    live = _bound(items, plan, slides)
    if plan.lower_bound_bytes != live:
        raise PlanError(f"lower_bound_bytes {plan.lower_bound_bytes}: expected the max live "
                        f"bytes less slide allowances {live}")
    if plan.arena_bytes < live:
        raise PlanError(f"arena_bytes {plan.arena_bytes} is below the max live bytes less "
                        f"slide allowances {live}")
