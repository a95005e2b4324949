"""Tensor lifetimes over a schedule: storage classes, aliases, intervals and live bytes.

Steps (for one execution order):

1. Persistent tensors: variables plus the caller's ``persistent`` set; they never enter the arena.
2. Views (:func:`export.planner.aliasing.can_view`, TRANSPOSEs read in place by
   BATCH_MATMUL: :func:`~export.planner.aliasing.can_strided_view`, and contiguous slices read
   at a byte offset: :func:`~export.planner.aliasing.can_slice_view`) join their input's
   storage class.
3. Walking the order, an op in :data:`INPLACE_OPS` whose input 0 storage dies at it (and passes
   :func:`can_run_inplace`) hands that storage to its output (``shrinking=False`` leaves out the
   in-place depthwise, whose output keeps the larger input storage alive).
4. Each arena storage root gets the interval [first step it must hold data, last step that
   reads it]; graph inputs start at step 0, graph outputs last until the final step.
5. Scratch of operator k (``export.scratch.scratch_bytes``, told whether k runs in place) is an
   interval [k, k].
6. Slides (:func:`export.planner.overlap.slide_pairs`): an operator not run in place whose
   output may partly overlap its dying input 0; its allowance is the most bytes the two can
   share at an aligned shift.

Live bytes at step s = sum of aligned sizes of intervals containing s. The lower bound of any
offset assignment for this order is the maximum over s of live bytes minus the allowance of
the slide at s (at most one: the operator of that step); the buffers live at s are pairwise
disjoint except that pair, so their union is at least that large. Complexity
O(#ops + #tensors), plus the access models of the slides (O(output elements) each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from export.ir import Graph
from export.planner.aliasing import (
    SHRINKING_INPLACE_OPS,
    VIEW_OPS,
    alias_offsets,
    alias_roots,
    can_run_inplace,
    can_slice_view,
    can_strided_view,
    can_view,
)
from export.planner.overlap import allowance_for, slide_pairs
from export.scratch import scratch_bytes


@dataclass(frozen=True)
class Interval:
    """One arena buffer to place: a storage root or an operator's scratch."""

    key: tuple[str, int]  # ("tensor", root index) or ("scratch", operator index)
    size: int  # bytes, rounded up to the alignment
    first: int  # first schedule position it is live at
    last: int  # last schedule position it is live at


@dataclass(frozen=True)
class Slide:
    """An operator's output allowed to partly overlap its dying input 0 (one schedule step)."""

    step: int  # schedule position of the operator
    src: tuple[str, int]  # ("tensor", storage root of input 0)
    dst: tuple[str, int]  # ("tensor", output tensor)
    shift: int  # least offset(src) - offset(dst) while they overlap (may be negative)
    allowance: int  # most bytes they can share at an aligned shift


@dataclass(frozen=True)
class Lifetimes:
    """Everything the offset assignment and the plan need for one order."""

    intervals: tuple[Interval, ...]  # arena buffers (roots and scratch)
    aliases: dict[int, int]  # tensor -> tensor whose storage it shares (one step, not resolved)
    roots: dict[int, int]  # every arena or aliased tensor -> storage root
    offsets: dict[int, int]  # every aliased tensor -> byte offset inside its root (slice views)
    persistent: frozenset[int]  # tensors of the persistent area
    scratch_sizes: dict[int, int]  # operator index -> raw scratch bytes (> 0 only)
    slides: tuple[Slide, ...] = ()  # partial overlaps allowed (empty with slides=False)


def align_up(n: int, alignment: int) -> int:
    """``n`` rounded up to a multiple of ``alignment``."""
    return -(-n // alignment) * alignment


def persistent_set(graph: Graph, persistent: Sequence[int] = ()) -> frozenset[int]:
    """Variables plus the caller's persistent tensors."""
    return frozenset(persistent) | {t.index for t in graph.tensors if t.is_variable}


def view_aliases(graph: Graph, persistent: frozenset[int], strided: bool = True,
                 slices: bool = True) -> dict[int, int]:
    """Output -> input 0 of every view operator that may share storage (``strided``: also
    TRANSPOSEs read in place by BATCH_MATMUL and contiguous slices read at an offset, which
    TFLite Micro copies; ``slices=False``: only the slices the band rewrite marks ``fe_view``)."""
    consumers = graph.consumers() if strided else {}
    return {op.outputs[0]: op.inputs[0] for op in graph.operators
            if can_view(graph, op, persistent)
            or (strided and (can_strided_view(graph, op, persistent, consumers)
                             or ((slices or op.options.get("fe_view"))
                                 and can_slice_view(graph, op, persistent))))}


def _used_tensors(graph: Graph) -> set[int]:
    """Every tensor read or written by an op, plus the graph's inputs and outputs."""
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.operators:
        used.update(t for t in (*op.inputs, *op.outputs) if t >= 0)
    return used


def _last_reads(graph: Graph, order: Sequence[int], roots: dict[int, int]) -> dict[int, int]:
    """Storage root -> last schedule position reading it (end of schedule for outputs)."""
    last: dict[int, int] = {}
    for step, k in enumerate(order):
        for t in graph.operators[k].inputs:
            if t >= 0:
                r = roots.get(t, t)
                last[r] = max(last.get(r, step), step)
    for t in graph.outputs:
        last[roots.get(t, t)] = max(len(order) - 1, 0)
    return last


def compute_lifetimes(
    graph: Graph, order: Sequence[int], *, persistent: Sequence[int] = (), alignment: int = 16,
    inplace: bool = True, shrinking: bool = True, slides: bool = True, strided: bool = True,
    slice_views: bool = True,
) -> Lifetimes:
    """Aliases and arena intervals of ``graph`` run in ``order`` (see the module docstring)."""
    pers = persistent_set(graph, persistent)
    aliases = view_aliases(graph, pers, strided, slice_views)
    roots = alias_roots(aliases)
    if inplace:
        last = _last_reads(graph, order, roots)
        for step, k in enumerate(order):
            op = graph.operators[k]
            if not op.inputs or op.inputs[0] < 0:
                continue
            root = roots.get(op.inputs[0], op.inputs[0])
            if not shrinking and op.op in SHRINKING_INPLACE_OPS:
                continue
            if can_run_inplace(graph, op, root=root, root_last_step=last.get(root, -1),
                               step=step, persistent=pers):
                aliases[op.outputs[0]] = op.inputs[0]
                roots = alias_roots(aliases)
                last = _last_reads(graph, order, roots)
    first: dict[int, int] = {}
    for t in graph.inputs:
        first[roots.get(t, t)] = 0
    for step, k in enumerate(order):
        for t in graph.operators[k].outputs:
            first.setdefault(roots.get(t, t), step)
    last = _last_reads(graph, order, roots)
    intervals: list[Interval] = []
    for t in sorted(_used_tensors(graph)):
        tensor = graph.tensors[t]
        if t in roots or t in pers or tensor.is_constant or tensor.nbytes == 0:
            continue
        f = first.get(t, 0)
        intervals.append(Interval(("tensor", t), align_up(tensor.nbytes, alignment), f, last.get(t, f)))
    scratch: dict[int, int] = {}
    for step, k in enumerate(order):
        op = graph.operators[k]
        n = scratch_bytes(graph, op, inplace=bool(op.outputs) and op.op not in VIEW_OPS
                          and aliases.get(op.outputs[0]) == op.inputs[0])
        if n > 0:
            scratch[k] = n
            intervals.append(Interval(("scratch", k), align_up(n, alignment), step, step))
    offsets = alias_offsets(graph, aliases)
    found = _slides(graph, order, roots, offsets, pers, intervals, alignment) if slides else ()
    return Lifetimes(tuple(intervals), aliases, roots, offsets, pers, scratch, found)


def _slides(graph: Graph, order: Sequence[int], roots: dict[int, int], offsets: dict[int, int],
            pers: frozenset[int], intervals: Sequence[Interval],
            alignment: int) -> tuple[Slide, ...]:
    """The slides of ``order`` with their allowances (aligned sizes)."""
    size = {iv.key: iv.size for iv in intervals}
    out = []
    for step, (src, dst, shift) in sorted(slide_pairs(graph, order, roots, pers,
                                                      offsets).items()):
        s, d = ("tensor", src), ("tensor", dst)
        if s in size and d in size:
            a = allowance_for(shift, size[s], size[d], alignment)
            if a > 0:
                out.append(Slide(step, s, d, shift, a))
    return tuple(out)


def live_bytes(intervals: Sequence[Interval], steps: int) -> list[int]:
    """Bytes live at each schedule position."""
    live = [0] * max(steps, 1)
    for iv in intervals:
        for s in range(iv.first, iv.last + 1):
            live[s] += iv.size
    return live


def lower_bound(intervals: Sequence[Interval], steps: int, slides: Sequence[Slide] = ()) -> int:
    """Max over the schedule of live bytes minus the slide allowance of the step: no offset
    assignment can use less."""
    live = live_bytes(intervals, steps)
    for sl in slides:
        live[sl.step] -= sl.allowance
    return max(live, default=0)
