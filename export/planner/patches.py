"""2-D patch-based inference (MCUNetV2): a CNN's leading stage run one spatial tile at a time.

The peak of a vision CNN is its first stage: a few wide, high-resolution activations. Rows-only
bands (:mod:`export.planner.bands`) keep a band of each; patches cut both spatial axes, so only
a tile of each is ever live. Unlike the bands, which keep the rows a later band needs, a patch
*recomputes* its halo (MCUNetV2's scheme): patches are independent, so nothing is carried
between them, at the cost of extra MACs where neighbouring tiles' receptive fields overlap
(:attr:`Patching.recompute`, reported by ``plan``).

- The *segment* of a cut tensor C (int8 NHWC, batch 1) is every operator C depends on through
  spatial operators (:func:`_rule`): windows (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE/MAX_POOL_2D;
  stride, dilation, any padding) and pixel-wise operators (elementwise unary and binary over
  same-shaped tensors, constants broadcast over H and W). Every tensor made inside the segment
  except C is read only inside it.
- C's H x W is split into a grid of tiles (:func:`_splits`). Per tile, the region each segment
  tensor must hold is found backwards (:func:`patch_regions`): an operator's output region
  needs, of each input, the receptive field of that region (clipped to the input; the union
  over the input's readers). Each operator then computes exactly its output's region, reading
  its inputs' regions with explicit per-side pads ``fe_pads`` (top, bottom, left, right: the
  original padding where the tile touches the border, 0 inside), so the kernels see what they
  see on the whole tensor. A reader that needs less than its input holds reads a sub-region:
  a view (``STRIDED_SLICE`` ``fe_view``) when it is whole rows of the tile, else a copy
  (``fe_copy``); a segment input is read through such a slice too.
- Each tile of C is stored into C where it lies: the first tile with a PAD (the rest of C is
  overwritten by the later tiles), the others with ``DYNAMIC_UPDATE_SLICE`` (constant start
  indices), which the planner runs in place over the previous state of C. Everything after C
  is unchanged; weights are read from the original constants.

Choice (:func:`plan_patches`): every closed cut x the grids of :data:`GRIDS` scored by the
model-order lower bound, the ``keep`` best planned in full. Complexity O(tiles x segment ops).
Limits: batch 1, int8, no operator that mixes pixels other than windows (a global pool or a
squeeze-excite broadcast ends the segment), one cut tensor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from export.ir import Graph, IRError, Operator, Tensor
from export.planner.caller_io import caller_tensors
from export.planner.lifetimes import compute_lifetimes, lower_bound
from export.planner.memory import plan_memory
from export.planner.overlap import PADS_OPTION, window_pad
from export.planner.plan import MemoryPlan

WINDOW_OPS: frozenset[str] = frozenset(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"})
"""Operators whose output pixel reads a window of input pixels."""

PIXEL_OPS: frozenset[str] = frozenset(
    {"QUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "ADD", "SUB",
     "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"})
"""Operators whose output pixel reads the same pixel of each input (checked per op)."""

GRIDS: tuple[int, ...] = (2, 3, 4)
"""Tiles per side ``plan_patches`` tries (n x n tiles; each tile adds a copy of the segment's
calls to the generated code)."""

Region = tuple[int, int, int, int]
"""Rows [r0, r1) and columns [c0, c1) of an NHWC tensor."""


@dataclass(frozen=True)
class _Rule:
    """How one operator's output pixels map to its inputs' pixels."""

    inputs: tuple[int, ...]  # input positions read by region (run-time tensors)
    stride: tuple[int, int] = (1, 1)  # window: pixels advanced per output pixel (h, w)
    span: tuple[int, int] = (1, 1)  # window: pixels one output pixel reads ((filter-1)*dil+1)
    pad: tuple[int, int] = (0, 0)  # window: padding before row 0 / column 0


@dataclass(frozen=True)
class Patching:
    """One patch rewrite: where it cuts and what it costs (``plan``'s banding report reads
    ``bands``, ``cut``, ``segment``, ``rows_computed``, ``rows_original``, ``copied_bytes``)."""

    cut: int  # tensor index of the cut (its tiles are stored into it)
    grid: tuple[int, int]  # tiles along H, along W
    segment: tuple[int, ...]  # original operator indices run per tile
    rows_computed: int  # output pixels the tiles' operators compute, summed over the segment
    rows_original: int  # output pixels of the segment's operators in the original graph
    copied_bytes: int  # bytes copied per invoke (input tiles, sub-regions, stores into the cut)
    macs_computed: int  # multiply-accumulates of the tiles' convolutions
    macs_original: int  # multiply-accumulates of the segment's convolutions, computed once

    @property
    def bands(self) -> int:
        """Number of tiles."""
        return self.grid[0] * self.grid[1]

    @property
    def recompute(self) -> float:
        """Extra MACs from overlapping halos, as a fraction of the segment's MACs."""
        return self.macs_computed / max(1, self.macs_original) - 1.0

    def note(self, graph: Graph, ops: int, base_arena: int) -> str:
        """One line for the plan's notes (``graph``: the graph as it was before the rewrite)."""
        return (f"patches: {len(self.segment)} operators up to tensor {self.cut} "
                f"'{graph.tensors[self.cut].name}' run in {self.grid[0]}x{self.grid[1]} tiles "
                f"({ops} operators; arena {base_arena} B without); recompute "
                f"{100 * self.recompute:.1f}% of the stage's MACs ({self.macs_computed} vs "
                f"{self.macs_original}), {self.copied_bytes} B copied per invoke")


def _nhwc(t: Tensor) -> bool:
    return len(t.shape) == 4 and t.shape[0] == 1 and t.dtype == "int8" and not t.is_variable


def _window(graph: Graph, op: Operator) -> _Rule | None:
    o = op.options
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = graph.tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        if w is None or not w.is_constant or len(w.shape) != 4:
            return None
        if any(t >= 0 and not graph.tensors[t].is_constant for t in op.inputs[1:]):
            return None
        filt = (int(w.shape[1]), int(w.shape[2]))
        dil = (int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1)))
    else:
        filt = (int(o.get("filter_height", 0)), int(o.get("filter_width", 0)))
        dil = (1, 1)
        if min(filt) <= 0:
            return None
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    span = tuple((f - 1) * d + 1 for f, d in zip(filt, dil, strict=True))
    pad = tuple(window_pad(o, a, src.shape[1 + i], filt[i], dst.shape[1 + i])
                for i, a in enumerate("hw"))
    stride = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    return _Rule((0,), stride, span, pad)  # type: ignore[arg-type]


def _pixelwise(graph: Graph, op: Operator, dst: Tensor) -> _Rule | None:
    banded = []
    for pos, t in enumerate(op.inputs):
        if t < 0:
            continue
        x = graph.tensors[t]
        if x.is_constant:  # broadcast over H and W, or no patch form
            shape = (1,) * (4 - len(x.shape)) + tuple(x.shape)
            if len(shape) != 4 or shape[1] != 1 or shape[2] != 1:
                return None
            continue
        if not _nhwc(x) or x.shape != dst.shape:
            return None
        banded.append(pos)
    return _Rule(tuple(banded)) if banded else None


def _rule(graph: Graph, op: Operator) -> _Rule | None:
    """How ``op`` maps pixels, or None when it cannot run a tile at a time."""
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
        return None
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not (_nhwc(src) and _nhwc(dst)):
        return None
    if op.op in WINDOW_OPS:
        return _window(graph, op)
    if op.op in PIXEL_OPS:
        return _pixelwise(graph, op, dst)
    return None


def _need(rule: _Rule, out: Region, in_hw: tuple[int, int]) -> Region:
    """Input region ``rule`` reads to make output region ``out`` (clipped to the input)."""
    r0, r1, c0, c1 = out
    (sh, sw), (ph, pw), (kh, kw) = rule.stride, rule.pad, rule.span
    return (max(r0 * sh - ph, 0), min((r1 - 1) * sh - ph + kh, in_hw[0]),
            max(c0 * sw - pw, 0), min((c1 - 1) * sw - pw + kw, in_hw[1]))


def _segment(graph: Graph, cut: int, rules: dict[int, _Rule]) -> tuple[int, ...] | None:
    """Operators ``cut`` depends on through patchable operators, in model order, or None when
    a tensor made inside escapes (read outside, or a graph output)."""
    prod, consumers = graph.producers(), graph.consumers()
    if cut not in prod or prod[cut] not in rules:
        return None
    seg: set[int] = set()
    stack = [prod[cut]]
    while stack:
        k = stack.pop()
        if k not in seg:
            seg.add(k)
            stack.extend(prod[t] for t in (graph.operators[k].inputs[p] for p in rules[k].inputs)
                         if t in prod and prod[t] in rules)
    for k in seg:
        t = graph.operators[k].outputs[0]
        if t != cut and (t in graph.outputs or any(c not in seg for c in consumers.get(t, ()))):
            return None
    return tuple(sorted(seg))


def _splits(n: int, parts: int) -> list[tuple[int, int]]:
    """``n`` split into ``parts`` near-equal runs."""
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def _hw(t: Tensor) -> tuple[int, int]:
    return int(t.shape[1]), int(t.shape[2])


def patch_regions(graph: Graph, seg: Sequence[int], rules: dict[int, _Rule], cut: int,
                  tile: Region) -> dict[int, Region]:
    """Region of every segment tensor (made, and segment inputs) that tile ``tile`` of
    ``cut`` needs: backwards, the union of each tensor's readers' needs."""
    regions: dict[int, Region] = {cut: tile}
    for k in reversed(seg):
        op = graph.operators[k]
        out = regions.get(op.outputs[0])
        if out is None:  # (every made tensor reaches the cut, so this does not happen)
            continue
        for pos in rules[k].inputs:
            x = op.inputs[pos]
            n = _need(rules[k], out, _hw(graph.tensors[x]))
            old = regions.get(x)
            regions[x] = n if old is None else (min(old[0], n[0]), max(old[1], n[1]),
                                                min(old[2], n[2]), max(old[3], n[3]))
    return regions


def _macs(graph: Graph, op: Operator, region: Region) -> int:
    """Multiply-accumulates of a convolution computing ``region`` of its output (0 others)."""
    if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return 0
    w = graph.tensors[op.inputs[1]].shape
    oc = graph.tensors[op.outputs[0]].shape[3]
    per = w[1] * w[2] * (w[3] if op.op == "CONV_2D" else 1)
    return (region[1] - region[0]) * (region[3] - region[2]) * oc * per


class _Builder:
    """The rewritten graph's tensors and operators."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.tensors = list(graph.tensors)
        self.ops: list[Operator] = []
        self.copied = 0

    def tensor(self, like: Tensor, region: Region, name: str) -> int:
        r0, r1, c0, c1 = region
        idx = len(self.tensors)
        self.tensors.append(Tensor(idx, name, (1, r1 - r0, c1 - c0, like.shape[3]), like.dtype,
                                   like.quant))
        return idx

    def const_i32(self, values: Sequence[int], name: str, *, pairs: bool = False) -> int:
        arr = np.asarray(list(values), dtype=np.int32)
        idx = len(self.tensors)
        shape = (len(arr) // 2, 2) if pairs else (len(arr),)
        self.tensors.append(Tensor(idx, name, shape, "int32", data=arr.tobytes()))
        return idx

    def op(self, code: str, inputs: Sequence[int], outputs: Sequence[int],
           options: dict | None = None) -> None:
        self.ops.append(Operator(index=-1, op=code, inputs=tuple(inputs), outputs=tuple(outputs),
                                 options=MappingProxyType(dict(options or {}))))

    def sub(self, src: int, held: Region, want: Region, name: str) -> int:
        """Region ``want`` of tile tensor ``src`` (which holds ``held``): ``src`` itself, a view
        of whole rows (``fe_view``) or a copy (``fe_copy``)."""
        if want == held:
            return src
        like = self.tensors[src]
        out = self.tensor(like, want, name)
        begin = [0, want[0] - held[0], want[2] - held[2], 0]
        end = [1, want[1] - held[0], want[3] - held[2], like.shape[3]]
        view = want[2:] == held[2:]
        ins = (src, self.const_i32(begin, f"{name}/begin"), self.const_i32(end, f"{name}/end"),
               self.const_i32([1, 1, 1, 1], f"{name}/strides"))
        self.op("STRIDED_SLICE", ins, (out,), {"fe_view": True} if view else {"fe_copy": True})
        if not view:
            self.copied += self.tensors[out].nbytes
        return out


def _tile_op(b: _Builder, op: Operator, rule: _Rule, regions: dict[int, Region],
             cur: dict[int, int], tag: str) -> int:
    """Emit ``op`` computing its output's region into a new tile tensor; returns it."""
    g = b.graph
    y = op.outputs[0]
    out_r = regions[y]
    inputs, options = list(op.inputs), dict(op.options)
    for pos in rule.inputs:
        x = op.inputs[pos]
        xt = g.tensors[x]
        if x not in cur:  # a segment input: its region, read from the whole tensor
            whole = (0, xt.shape[1], 0, xt.shape[2])
            cur[x] = b.sub(x, whole, regions[x], f"{xt.name}/{tag}")
        need = _need(rule, out_r, _hw(xt))
        inputs[pos] = b.sub(cur[x], regions[x], need, f"{xt.name}/{tag}/{op.index}")
        if op.op in WINDOW_OPS:
            (sh, sw), (ph, pw), (kh, kw) = rule.stride, rule.pad, rule.span
            top, left = need[0] - (out_r[0] * sh - ph), need[2] - (out_r[2] * sw - pw)
            bottom = (out_r[1] - 1) * sh - ph + kh - need[1]
            right = (out_r[3] - 1) * sw - pw + kw - need[3]
            options.pop("fe_pad_h", None)
            options.update({"padding": "VALID", PADS_OPTION: (top, bottom, left, right)})
    out = b.tensor(g.tensors[y], out_r, f"{g.tensors[y].name}/{tag}")
    b.op(op.op, inputs, (out,), options)
    return out


def _store(b: _Builder, cut: Tensor, part: int, region: Region, state: int | None,
           final: bool, tag: str) -> int:
    """Tile ``part`` written into the cut where ``region`` lies: the first by a PAD (a new
    state of the cut), the others by an in-place DYNAMIC_UPDATE_SLICE of ``state``."""
    whole = (0, cut.shape[1], 0, cut.shape[2])
    out = cut.index if final else b.tensor(cut, whole, f"{cut.name}/{tag}")
    if state is None:
        pads = [0, 0, 0, cut.shape[1] - region[1], 0, cut.shape[2] - region[3], 0, 0]
        b.op("PAD", (part, b.const_i32(pads, f"{cut.name}/{tag}/paddings", pairs=True)), (out,))
    else:
        start = b.const_i32([0, region[0], region[2], 0], f"{cut.name}/{tag}/start")
        b.op("DYNAMIC_UPDATE_SLICE", (state, part, start), (out,))
    b.copied += b.tensors[part].nbytes
    return out


def patch_graph(graph: Graph, cut: int, grid: int | tuple[int, int]) -> tuple[Graph, Patching]:
    """``graph`` with the segment of ``cut`` run one tile of ``cut`` at a time, ``grid`` tiles
    per side (or (along H, along W)); see the module docstring."""
    rules = {op.index: r for op in graph.operators if (r := _rule(graph, op)) is not None}
    seg = _segment(graph, cut, rules)
    if seg is None:
        raise IRError(f"{graph.name}: tensor {cut} is not the end of a patchable segment")
    gh, gw = (grid, grid) if isinstance(grid, int) else grid
    ct = graph.tensors[cut]
    if not (1 <= gh <= ct.shape[1] and 1 <= gw <= ct.shape[2]) or gh * gw < 2:
        raise IRError(f"{graph.name}: {gh}x{gw} tiles of a {ct.shape[1]}x{ct.shape[2]} tensor: "
                      "expected 2 or more tiles, at most one per pixel")
    later = _downstream(graph, cut)
    b = _Builder(graph)
    for op in graph.operators:
        if op.index not in seg and op.index not in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    tiles = [(*r, *c) for r in _splits(ct.shape[1], gh) for c in _splits(ct.shape[2], gw)]
    state: int | None = None
    pixels = macs = 0
    for i, tile in enumerate(tiles):
        regions = patch_regions(graph, seg, rules, cut, tile)
        cur: dict[int, int] = {}
        for k in seg:
            op = graph.operators[k]
            cur[op.outputs[0]] = _tile_op(b, op, rules[k], regions, cur, f"tile{i}")
            r = regions[op.outputs[0]]
            pixels += (r[1] - r[0]) * (r[3] - r[2])
            macs += _macs(graph, op, r)
        state = _store(b, ct, cur[cut], tile, state, i == len(tiles) - 1, f"tile{i}")
    for op in graph.operators:
        if op.index in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    ops = tuple(dataclasses.replace(op, index=i) for i, op in enumerate(b.ops))
    out = dataclasses.replace(graph, tensors=tuple(b.tensors), operators=ops)
    whole = {k: (0, *_hw(graph.tensors[graph.operators[k].outputs[0]])) for k in seg}
    orig_px = sum(h * w for _, h, w in whole.values())
    orig_macs = sum(_macs(graph, graph.operators[k], (0, h, 0, w)) for k, (_, h, w) in whole.items())
    return out, Patching(cut, (gh, gw), seg, pixels, orig_px, b.copied, macs, orig_macs)


def _downstream(graph: Graph, t: int) -> set[int]:
    """Operators that read tensor ``t``, directly or through others."""
    consumers = graph.consumers()
    seen: set[int] = set()
    stack = list(consumers.get(t, ()))
    while stack:
        k = stack.pop()
        if k not in seen:
            seen.add(k)
            for o in graph.operators[k].outputs:
                stack.extend(consumers.get(o, ()))
    return seen


def patch_cuts(graph: Graph) -> list[int]:
    """Cut tensors :func:`plan_patches` tries: every tensor that closes a patchable segment of
    two or more operators and is at least 2x2."""
    rules = {op.index: r for op in graph.operators if (r := _rule(graph, op)) is not None}
    out = []
    for k in rules:
        t = graph.operators[k].outputs[0]
        if min(_hw(graph.tensors[t])) >= 2:
            seg = _segment(graph, t, rules)
            if seg is not None and len(seg) > 1:
                out.append(t)
    return out


def _estimate(graph: Graph, persistent: Sequence[int], *, caller_io: bool = False) -> int:
    """Model-order lower bound of ``graph`` (caller tensors left out with ``caller_io``)."""
    order = tuple(op.index for op in graph.operators)
    outside = (*persistent, *(caller_tensors(graph) if caller_io else ()))
    lt = compute_lifetimes(graph, order, persistent=outside)
    return lower_bound(lt.intervals, len(order), lt.slides)


def plan_patches(graph: Graph, *, persistent: Sequence[int] = (), grids: Sequence[int] = GRIDS,
                 keep: int = 2, **kw: object) -> tuple[Graph, MemoryPlan, Patching] | None:
    """The best patch rewrite of ``graph`` planned in its own order, or None when no cut has
    one; ``kw`` goes to :func:`plan_memory` (``strategy`` is always the model's order)."""
    scored = []
    for cut in patch_cuts(graph):
        for n in grids:
            try:
                g2, info = patch_graph(graph, cut, n)
            except IRError:
                continue
            scored.append((_estimate(g2, persistent, caller_io=bool(kw.get("caller_io"))),
                           info.recompute, n, cut, g2, info))
    scored.sort(key=lambda x: x[:3])
    opts = {k: v for k, v in kw.items() if k != "strategy"}
    best: tuple[Graph, MemoryPlan, Patching] | None = None
    for *_, g2, info in scored[:keep]:
        plan = plan_memory(g2, persistent=persistent, strategy="model", **opts)  # type: ignore[arg-type]
        if best is None or plan.arena_bytes < best[1].arena_bytes:
            best = (g2, plan, info)
    return best
