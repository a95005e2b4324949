"""Band execution: run a graph's leading row-wise segment a band of time steps at a time.

MCUNetV2's patch-based inference, along one axis. The peak of a GCN encoder is one block's
graph aggregate over the whole window ([1, T, 3V, C]); computed a few time steps at a time,
only a band of it is ever live. The rewrite is a plain graph transformation, so the planner,
the code generator and the bit-exact tests need nothing new beyond two internal options:

- The *segment* is every operator a *cut* tensor C ([1, T_C, ...]) depends on through
  row-wise operators (:func:`_rule`): element-wise, FULLY_CONNECTED on [1, T, ..., C],
  TRANSPOSE/RESHAPE keeping [1, T] in front, CONCATENATION/MEAN/SUM on inner axes, slices
  along T, and windows along T (CONV_2D, DEPTHWISE_CONV_2D, pools; row = H of NHWC). Every
  tensor made inside the segment except C is read only inside it.
- The segment's input rows are split into n bands, streamed in order (:func:`_band_rows`):
  after band b's input rows have arrived, each operator computes the output rows that they make
  computable and that no earlier band computed (a window needs its last tap, a slice its row),
  so every tensor advances by about 1/n of its rows per band: the first band does not carry
  the whole receptive field of the deepest rows, as a split of C's rows would. A band holds,
  of each tensor, its fresh rows and the rows below them its readers still need from earlier
  bands; those are never recomputed (line-buffer reuse instead of MCUNetV2's halo
  recomputation): they are copied out (``STRIDED_SLICE`` marked ``fe_copy``) as soon as the
  earlier band is done with the tensor, and the fresh rows concatenated after them. Segment
  inputs are read a band at a time through views (``STRIDED_SLICE`` marked ``fe_view``, no
  copy); a window at the edge keeps its padding through ``fe_pad_h`` (the rows above the
  band's first input row it pads).
- C is the concatenation of its fresh rows of every band; everything after C is unchanged. The band's operators
  read constants (weights) from the original tensors; tensors keep their quantization.

Choice (:func:`plan_model`): a few cuts (the end of the row-wise region and the smallest
closed tensors) x a few band counts are scored by the model-order lower bound, the best
are planned in full, and the rewrite is kept only when it lowers the planned arena by at least
``min_gain``. Complexity: O(bands x segment ops) per candidate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from export.ir import Graph, IRError, Operator, Tensor
from export.planner.caller_io import caller_note, caller_tensors
from export.planner.fold_pad import FoldedPad, fold_pads
from export.planner.lifetimes import compute_lifetimes, lower_bound
from export.planner.memory import plan_memory
from export.planner.overlap import window_pad
from export.planner.patches import GRIDS, Patching, plan_patches
from export.planner.peak import peak_note
from export.planner.plan import MemoryPlan
from export.slices import SLICE_OPS, slice_bounds

SAME_ROW_OPS: frozenset[str] = frozenset(
    {"QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
     "RSQRT", "NEG", "SOFTMAX", "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM",
     "FULLY_CONNECTED", "TRANSPOSE", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION",
     "MEAN", "SUM"})
"""Operators whose output row t (axis 1) can need input row t only (checked per op)."""

WINDOW_OPS: frozenset[str] = frozenset(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"})
"""Operators whose output row t reads a window of input rows (NHWC: H is the row axis)."""

BAND_COUNTS: tuple[int, ...] = (2, 4, 8)
"""Band counts ``bands="auto"`` tries per cut (each band adds a copy of the segment's calls
to the generated code: more bands, less SRAM, more flash), besides :data:`BAND_HEIGHTS`."""

BAND_HEIGHTS: tuple[int, ...] = (2, 3, 4)
"""Input rows per band ``bands="auto"`` also tries per cut (``ceil(rows / height)`` bands):
bands whose height is a multiple of the segment's temporal strides advance every strided
tensor by the same rows each band, which the powers of two miss on a 44-row window."""

MAX_AUTO_BANDS: int = 12
"""Most bands ``bands="auto"`` tries: each band repeats the segment's calls (flash, and call
overhead: the zoo gcn's 16 bands of 2 rows took 12 % more instructions than its 8 for 1.2 KB
less arena; its 11 bands of 3 rows, 4 % more for 0.5 KB)."""

Rows = tuple[int, int]
"""[lo, hi) rows along axis 1."""


@dataclass(frozen=True)
class _Rule:
    """How one operator's output rows map to its inputs' rows."""

    kind: str  # "same", "window" or "slice"
    banded: tuple[int, ...]  # input positions read by rows (non-constant, or constants to cut)
    stride: int = 1  # window / slice: rows advanced per output row
    span: int = 1  # window: rows one output row reads ((filter - 1) * dilation + 1)
    pad: int = 0  # window: rows of padding above row 0; slice: first row read


@dataclass(frozen=True)
class Banding:
    """One band rewrite: where it cuts and what it costs."""

    cut: int  # tensor index of the cut (its bands are concatenated into it)
    bands: int  # number of bands
    segment: tuple[int, ...]  # original operator indices run in bands
    rows_computed: int  # output rows the band operators compute, summed over the segment
    rows_original: int  # output rows of the segment's operators in the original graph
    copied_bytes: int  # bytes copied per invoke by halos and concatenations


def _rowwise(t: Tensor) -> bool:
    return len(t.shape) >= 3 and t.shape[0] == 1


def _rows(t: Tensor) -> int:
    return int(t.shape[1])


def _window(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> _Rule | None:
    o = op.options
    if len(src.shape) != 4 or len(dst.shape) != 4:
        return None
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = graph.tensors[op.inputs[1]]
        if not w.is_constant or len(w.shape) != 4:
            return None
        filt = int(w.shape[1])
    else:
        filt = int(o.get("filter_height", 0))
        if filt <= 0:
            return None
    s, d = int(o.get("stride_h", 1)), int(o.get("dilation_h_factor", 1))
    span = (filt - 1) * d + 1
    pad = window_pad(o, "h", _rows(src), filt, _rows(dst))
    return _Rule("window", (0,), stride=s, span=span, pad=pad)


def _slice(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> _Rule | None:
    if op.op != "STRIDED_SLICE":  # (a SLICE's size input has no band form here)
        return None
    try:
        begin, end, step = slice_bounds(graph, op)
    except IRError:
        return None
    if int(op.options.get("shrink_axis_mask", 0)) & 3 or len(dst.shape) != len(src.shape):
        return None
    if step[1] <= 0 or len(range(begin[1], end[1], step[1])) != _rows(dst):
        return None
    return _Rule("slice", (0,), stride=step[1], pad=begin[1])


def _same(graph: Graph, op: Operator, dst: Tensor) -> _Rule | None:
    """Row-wise when every input is either read by rows (same rank, T rows) or broadcast along
    T (a constant, or a run-time tensor with no row axis is refused)."""
    rank, t_rows = len(dst.shape), _rows(dst)
    banded = []
    for pos, t in enumerate(op.inputs):
        if t < 0:
            continue
        x = graph.tensors[t]
        if op.op in ("FULLY_CONNECTED",) and pos > 0:
            continue
        if op.op in ("TRANSPOSE", "RESHAPE", "EXPAND_DIMS", "MEAN", "SUM") and pos > 0:
            continue
        lead = 1 - (rank - len(x.shape))  # x's axis aligned with the output's axis 1
        if x.is_constant:
            if 0 <= lead < len(x.shape) and x.shape[lead] == t_rows and t_rows > 1:
                if len(x.shape) != rank:
                    return None
                banded.append(pos)
            continue
        if len(x.shape) != rank or x.shape[0] != 1 or _rows(x) != t_rows:
            return None
        banded.append(pos)
    if op.op == "FULLY_CONNECTED" and graph.tensors[op.inputs[0]].shape[:-1] != dst.shape[:-1]:
        return None
    if op.op == "TRANSPOSE":
        perm = graph.tensors[op.inputs[1]]
        if not perm.is_constant or [int(p) for p in perm.numpy().reshape(-1)][:2] != [0, 1]:
            return None
    if op.op in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
        if graph.tensors[op.inputs[0]].shape[:2] != dst.shape[:2]:
            return None
    if op.op == "CONCATENATION" and int(op.options.get("axis", 0)) % rank < 2:
        return None
    if op.op in ("MEAN", "SUM"):
        axes = graph.tensors[op.inputs[1]]
        src = graph.tensors[op.inputs[0]]
        if not axes.is_constant or {int(a) % len(src.shape) for a in axes.numpy().reshape(-1)} & {0, 1}:
            return None
    return _Rule("same", tuple(banded))


def _rule(graph: Graph, op: Operator) -> _Rule | None:
    """How ``op`` maps rows, or None when it cannot run a band at a time."""
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
        return None
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not (_rowwise(dst) and _rowwise(src)) or dst.is_variable or src.is_constant:
        return None
    if op.op in WINDOW_OPS:
        rule = _window(graph, op, src, dst)
    elif op.op in SLICE_OPS:
        rule = _slice(graph, op, src, dst)
    elif op.op in SAME_ROW_OPS:
        rule = _same(graph, op, dst)
    else:
        return None
    if rule is None:
        return None
    for pos in rule.banded:  # a window/slice's other inputs are constants (weights)
        if rule.kind != "same" and pos:
            return None
    if rule.kind != "same" and any(t >= 0 and not graph.tensors[t].is_constant
                                   for t in op.inputs[1:]):
        return None
    return rule


def _rules(graph: Graph) -> dict[int, _Rule]:
    """Operator index -> its row rule, for every operator that can run a band at a time."""
    return {op.index: r for op in graph.operators if (r := _rule(graph, op)) is not None}


def _need(rule: _Rule, rows: Rows, n_in: int) -> Rows:
    """Input rows ``rule`` reads to make output ``rows`` (clipped to the input's ``n_in``)."""
    a, b = rows
    if rule.kind == "same":
        return a, b
    if rule.kind == "slice":
        return rule.pad + a * rule.stride, rule.pad + (b - 1) * rule.stride + 1
    lo = a * rule.stride - rule.pad
    hi = (b - 1) * rule.stride - rule.pad + rule.span
    return max(lo, 0), min(hi, n_in)


def _segment(graph: Graph, cut: int, rules: dict[int, _Rule],
             prod: dict[int, int], consumers: dict[int, list[int]]) -> tuple[int, ...] | None:
    """Operators ``cut`` depends on through row-wise operators, in model order, or None when
    a tensor made inside escapes (read outside, or a graph output)."""
    if cut not in prod or prod[cut] not in rules:
        return None
    seg: set[int] = set()
    stack = [prod[cut]]
    while stack:
        k = stack.pop()
        if k in seg:
            continue
        seg.add(k)
        for pos in rules[k].banded:
            t = graph.operators[k].inputs[pos]
            if t in prod and prod[t] in rules and not graph.tensors[t].is_constant:
                stack.append(prod[t])
    made = {graph.operators[k].outputs[0] for k in seg}
    for t in made - {cut}:  # (so nothing outside reads the segment but through the cut)
        if t in graph.outputs or any(c not in seg for c in consumers.get(t, ())):
            return None
    return tuple(sorted(seg))


def _downstream(graph: Graph, t: int, consumers: dict[int, list[int]]) -> set[int]:
    """Operators that read tensor ``t``, directly or through others."""
    seen: set[int] = set()
    stack = list(consumers.get(t, ()))
    while stack:
        k = stack.pop()
        if k in seen:
            continue
        seen.add(k)
        for o in graph.operators[k].outputs:
            stack.extend(consumers.get(o, ()))
    return seen


class _Builder:
    """Accumulates the rewritten graph's new tensors and operators."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.tensors = list(graph.tensors)
        self.ops: list[Operator] = []
        self.copied = 0

    def tensor(self, like: Tensor, rows: int, name: str, data: bytes | None = None) -> int:
        shape = (like.shape[0], rows, *like.shape[2:])
        idx = len(self.tensors)
        self.tensors.append(Tensor(index=idx, name=name, shape=tuple(shape), dtype=like.dtype,
                                   quant=like.quant, data=data))
        return idx

    def const_i32(self, values: Sequence[int], name: str) -> int:
        idx = len(self.tensors)
        arr = np.asarray(list(values), dtype=np.int32)
        self.tensors.append(Tensor(index=idx, name=name, shape=(len(arr),), dtype="int32",
                                   data=arr.tobytes()))
        return idx

    def op(self, code: str, inputs: Sequence[int], outputs: Sequence[int],
           options: dict | None = None) -> None:
        self.ops.append(Operator(index=-1, op=code, inputs=tuple(inputs), outputs=tuple(outputs),
                                 options=MappingProxyType(dict(options or {}))))

    def rows_of(self, src: int, held: Rows, want: Rows, name: str, *, copy: bool) -> int:
        """Rows ``want`` of tensor ``src`` (which holds rows ``held``): ``src`` itself, a view
        (``fe_view``) or, ``copy``, a copy (``fe_copy``)."""
        if want == held:
            return src
        like = self.tensors[src]
        out = self.tensor(like, want[1] - want[0], name)
        rank = len(like.shape)
        begin = [0] * rank
        end = list(like.shape)
        begin[1], end[1] = want[0] - held[0], want[1] - held[0]
        ins = (src, self.const_i32(begin, f"{name}/begin"), self.const_i32(end, f"{name}/end"),
               self.const_i32([1] * rank, f"{name}/strides"))
        self.op("STRIDED_SLICE", ins, (out,), {"fe_copy": True} if copy else {"fe_view": True})
        if copy:
            self.copied += self.tensors[out].nbytes
        return out


def _band_op(b: _Builder, op: Operator, rule: _Rule, fresh: Rows, ins: dict[int, tuple[int, Rows]],
             out: int, tag: str) -> None:
    """Emit ``op`` computing output rows ``fresh`` into tensor ``out``; ``ins``: input position
    -> (band tensor, rows it holds)."""
    g = b.graph
    inputs = list(op.inputs)
    options = dict(op.options)
    for pos in rule.banded:
        t = op.inputs[pos]
        x = g.tensors[t]
        if x.is_constant:  # a constant varying along T: its rows, as a new constant
            lead = 1 - (len(g.tensors[op.outputs[0]].shape) - len(x.shape))
            arr = np.take(x.numpy(), range(fresh[0], fresh[1]), axis=lead)
            inputs[pos] = b.tensor(x, fresh[1] - fresh[0], f"{x.name}/{tag}",
                                   data=np.ascontiguousarray(arr).tobytes())
            continue
        src, held = ins[pos]
        need = _need(rule, fresh, _rows(x))
        if rule.kind == "slice":
            inputs[pos] = src
            _rebound(b, op, inputs, options, need[0] - held[0], fresh, tag)
            continue
        inputs[pos] = b.rows_of(src, held, need, f"{x.name}/{tag}/rows", copy=False)
        if rule.kind == "window":
            options["fe_pad_h"] = need[0] - (fresh[0] * rule.stride - rule.pad)
    if op.op == "RESHAPE" and len(inputs) > 1 and inputs[1] >= 0:
        shape = list(b.tensors[out].shape)
        inputs[1] = b.const_i32(shape, f"{g.tensors[op.outputs[0]].name}/{tag}/shape")
        if "new_shape" in options:
            options["new_shape"] = tuple(shape)
    b.op(op.op, inputs, (out,), options)


def _rebound(b: _Builder, op: Operator, inputs: list[int], options: dict, first: int,
             fresh: Rows, tag: str) -> None:
    """A STRIDED_SLICE's bounds for the band: rows from ``first`` of its band input."""
    g = b.graph
    begin, end, step = slice_bounds(g, op)
    n = fresh[1] - fresh[0]
    begin[1] = first
    end[1] = first + (n - 1) * step[1] + 1
    ends, end_mask = [], 0
    for i, (e, s) in enumerate(zip(end, step, strict=True)):
        if s < 0 and e < 0:  # "before index 0" cannot be written as an index: use the mask
            end_mask |= 1 << i
            e = 0
        ends.append(e)
    name = f"{g.tensors[op.outputs[0]].name}/{tag}"
    inputs[1:] = [b.const_i32(begin, f"{name}/begin"), b.const_i32(ends, f"{name}/end"),
                  b.const_i32(step, f"{name}/strides")]
    shrink = int(options.get("shrink_axis_mask", 0))
    options.clear()
    options.update({"begin_mask": 0, "end_mask": end_mask, "ellipsis_mask": 0,
                    "new_axis_mask": 0, "shrink_axis_mask": shrink, "offset": False})


@dataclass(frozen=True)
class _BandRows:
    """One band's rows of every segment tensor."""

    fresh: dict[int, Rows]  # made tensor -> rows its operator computes in this band
    held: dict[int, Rows]  # tensor -> rows the band holds (halo + fresh; a segment input's view)


def _computable(rule: _Rule, avail: int, n_in: int, n_out: int) -> int:
    """Output rows [0, c) ``rule`` can make from input rows [0, avail)."""
    if avail >= n_in:
        return n_out
    if rule.kind == "same":
        return min(avail, n_out)
    if rule.kind == "slice":
        return max(0, min(n_out, -(-(avail - rule.pad) // rule.stride)))
    return max(0, min(n_out, (avail + rule.pad - rule.span) // rule.stride + 1))


def _segment_inputs(graph: Graph, seg: tuple[int, ...], rules: dict[int, _Rule]) -> tuple[set[int], int]:
    """The segment's run-time inputs (read by rows, made outside it) and their row count."""
    made = {graph.operators[k].outputs[0] for k in seg}
    inputs = {graph.operators[k].inputs[p] for k in seg for p in rules[k].banded
              if not graph.tensors[graph.operators[k].inputs[p]].is_constant} - set(made)
    sizes = {_rows(graph.tensors[t]) for t in inputs}
    if len(sizes) != 1:
        raise IRError(f"{graph.name}: the segment's inputs have {sorted(sizes)} rows: expected "
                      "one row count to stream")
    return inputs, sizes.pop()


def _band_rows(graph: Graph, seg: tuple[int, ...], rules: dict[int, _Rule],
               bands: int) -> list[_BandRows]:
    """Per band, the rows each segment tensor computes and holds (see :func:`band_graph`)."""
    made = {graph.operators[k].outputs[0] for k in seg}
    inputs, n_in = _segment_inputs(graph, seg, rules)
    if not 2 <= bands <= n_in:
        raise IRError(f"{graph.name}: {bands} bands of {n_in} input rows: expected 2 to {n_in}")
    done: dict[int, int] = dict.fromkeys(made, 0)
    fresh_of: list[dict[int, Rows]] = []
    needs_of: list[dict[int, Rows]] = []
    done_of: list[dict[int, int]] = []  # rows of each tensor computed by the end of the band
    for band in range(bands):
        avail = dict.fromkeys(inputs, round((band + 1) * n_in / bands))
        fresh: dict[int, Rows] = {}
        for k in seg:
            op, rule = graph.operators[k], rules[k]
            y = op.outputs[0]
            c = _rows(graph.tensors[y])
            for p in rule.banded:
                x = op.inputs[p]
                if not graph.tensors[x].is_constant:
                    c = min(c, _computable(rule, avail[x], _rows(graph.tensors[x]),
                                           _rows(graph.tensors[y])))
            avail[y] = c
            if c > done[y]:
                fresh[y] = (done[y], c)
                done[y] = c
        needs: dict[int, Rows] = {}
        for k in seg:
            op = graph.operators[k]
            if op.outputs[0] not in fresh:
                continue
            for p in rules[k].banded:
                x = op.inputs[p]
                if graph.tensors[x].is_constant:
                    continue
                n = _need(rules[k], fresh[op.outputs[0]], _rows(graph.tensors[x]))
                old = needs.get(x)
                needs[x] = n if old is None else (min(old[0], n[0]), max(old[1], n[1]))
        fresh_of.append(fresh)
        needs_of.append(needs)
        done_of.append(dict(done))
    if any(done[y] != _rows(graph.tensors[y]) for y in made):
        raise IRError(f"{graph.name}: banding left rows of the segment uncomputed")
    out: list[_BandRows] = []
    for band in range(bands):
        held: dict[int, Rows] = {x: r for x, r in needs_of[band].items() if x in inputs}
        for y in made:  # from the lowest row a reader needs now or later, to the last computed
            future = [needs_of[b][y][0] for b in range(band, bands) if y in needs_of[b]]
            if not future:
                continue
            lo = min(future[0], fresh_of[band][y][0]) if y in fresh_of[band] else future[0]
            if lo < done_of[band][y]:
                held[y] = (lo, done_of[band][y])
        out.append(_BandRows(fresh_of[band], held))
    for band in range(1, bands):  # a band's rows below its fresh ones come from the last band
        for y, (lo, _) in out[band].held.items():
            if y in made and lo < done_of[band - 1][y]:
                prev = out[band - 1].held.get(y)
                if prev is None or prev[0] > lo:
                    raise IRError(f"{graph.name}: tensor {y}: band {band} needs rows from {lo} "
                                  "that the previous band no longer holds")
    return out


def band_graph(graph: Graph, cut: int, bands: int) -> tuple[Graph, Banding]:
    """``graph`` with the segment of ``cut`` streamed in ``bands`` bands of its input rows (see
    the module docstring)."""
    rules = _rules(graph)
    prod, consumers = graph.producers(), graph.consumers()
    seg = _segment(graph, cut, rules, prod, consumers)
    if seg is None:
        raise IRError(f"{graph.name}: tensor {cut} is not the end of a row-wise segment")
    plan = _band_rows(graph, seg, rules, bands)
    made = {graph.operators[k].outputs[0] for k in seg}
    b = _Builder(graph)
    later = _downstream(graph, cut, consumers)
    for op in graph.operators:
        if op.index not in seg and op.index not in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    last: dict[int, tuple[int, Rows]] = {}  # segment tensor -> (latest band tensor, its rows)
    halos: dict[int, int] = {}  # segment tensor -> its halo for the next band, copied early
    cut_parts: list[int] = []
    computed = 0
    for band in range(bands):
        rows_b = plan[band]
        nxt = plan[band + 1].held if band + 1 < bands else {}
        tag = f"band{band}"
        cur: dict[int, tuple[int, Rows]] = {}
        readers = _last_readers(graph, seg, rules, made, rows_b)
        read_here = {t for ts in readers.values() for t in ts}
        for k in seg:
            op = graph.operators[k]
            y = op.outputs[0]
            rows = rows_b.held.get(y)
            fresh = rows_b.fresh.get(y)
            yt = graph.tensors[y]
            parts = []
            kept = (rows[0], fresh[0] if fresh else rows[1]) if rows else None
            if kept is not None and kept[0] < kept[1]:  # rows an earlier band computed
                parts.append(halos.pop(y) if y in halos else b.rows_of(
                    *last[y], kept, f"{yt.name}/{tag}/halo", copy=True))
            if fresh is not None:
                ins = {}
                for pos in rules[k].banded:
                    t = op.inputs[pos]
                    if graph.tensors[t].is_constant:
                        continue
                    if t not in cur:  # a segment input: read the band's rows in place
                        want = rows_b.held[t]
                        cur[t] = (b.rows_of(t, (0, _rows(graph.tensors[t])), want,
                                            f"{graph.tensors[t].name}/{tag}/rows", copy=False),
                                  want)
                    ins[pos] = cur[t]
                out = b.tensor(yt, fresh[1] - fresh[0], f"{yt.name}/{tag}")
                _band_op(b, op, rules[k], fresh, ins, out, tag)
                computed += fresh[1] - fresh[0]
                parts.append(out)
                if y == cut:
                    cut_parts.append(out)
            if not parts or rows is None:
                continue
            if len(parts) == 1:
                whole = parts[0]
            else:
                whole = b.tensor(yt, rows[1] - rows[0], f"{yt.name}/{tag}/rows")
                b.op("CONCATENATION", parts, (whole,), {"axis": 1,
                                                         "fused_activation_function": "NONE"})
                b.copied += b.tensors[whole].nbytes
            cur[y] = (whole, rows)
            for t in readers.get(k, ()):  # this band is done with t: keep the next band's rows
                _early_halo(b, graph, halos, t, cur, nxt, band)
            if y not in read_here:
                _early_halo(b, graph, halos, y, cur, nxt, band)
        last.update((t, v) for t, v in cur.items() if t in made)
    b.op("CONCATENATION", cut_parts, (cut,), {"axis": 1, "fused_activation_function": "NONE"})
    b.copied += graph.tensors[cut].nbytes
    for op in graph.operators:
        if op.index in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    ops = tuple(dataclasses.replace(op, index=i) for i, op in enumerate(b.ops))
    out = dataclasses.replace(graph, tensors=tuple(b.tensors), operators=ops)
    original = sum(_rows(graph.tensors[graph.operators[k].outputs[0]]) for k in seg)
    return out, Banding(cut=cut, bands=bands, segment=seg, rows_computed=computed,
                        rows_original=original, copied_bytes=b.copied)


def _early_halo(b: _Builder, graph: Graph, halos: dict[int, int], t: int,
                cur: dict[int, tuple[int, Rows]], nxt: dict[int, Rows], band: int) -> None:
    """Copy the rows of ``t`` the next band keeps, now that this band is done with ``t``."""
    if t not in cur or t not in nxt:
        return
    src, held = cur[t]
    lo, hi = nxt[t][0], held[1]
    if lo < hi and lo >= held[0]:
        halos[t] = b.rows_of(src, held, (lo, hi), f"{graph.tensors[t].name}/band{band + 1}/halo",
                             copy=True)


def _last_readers(graph: Graph, seg: tuple[int, ...], rules: dict[int, _Rule],
                  made: set[int], rows: _BandRows) -> dict[int, list[int]]:
    """Operator -> the segment tensors (``made``) it is the band's last reader of."""
    last: dict[int, int] = {}
    for k in seg:
        if graph.operators[k].outputs[0] not in rows.fresh:
            continue
        for pos in rules[k].banded:
            t = graph.operators[k].inputs[pos]
            if t in made:
                last[t] = k
    out: dict[int, list[int]] = {}
    for t, k in last.items():
        out.setdefault(k, []).append(t)
    return out


def segment_ends(graph: Graph) -> list[int]:
    """Cut tensors :func:`plan_model` tries (:func:`band_graph` takes any closed one): the ends
    of the row-wise segments, and the smallest closed tensors inside them."""
    rules = _rules(graph)
    prod, consumers = graph.producers(), graph.consumers()
    closed = []
    for k in rules:
        t = graph.operators[k].outputs[0]
        if _rows(graph.tensors[t]) < 2:
            continue
        seg = _segment(graph, t, rules, prod, consumers)
        if seg is not None and len(seg) > 1:
            closed.append((t, seg))
    if not closed:
        return []
    ends = [t for t, _ in closed if not any(c in rules and _segment(
        graph, graph.operators[c].outputs[0], rules, prod, consumers) is not None
        for c in consumers.get(t, ()))]
    small = sorted(closed, key=lambda x: (graph.tensors[x[0]].nbytes, -len(x[1])))[:3]
    return list(dict.fromkeys([*ends, *(t for t, _ in small)]))


def _counts(graph: Graph, cut: int) -> tuple[int, ...]:
    """Band counts ``bands="auto"`` tries for ``cut``: :data:`BAND_COUNTS` and one band per
    :data:`BAND_HEIGHTS` input rows, at most :data:`MAX_AUTO_BANDS`."""
    rules = _rules(graph)
    seg = _segment(graph, cut, rules, graph.producers(), graph.consumers())
    try:
        rows = _segment_inputs(graph, seg, rules)[1] if seg is not None else 0
    except IRError:
        rows = 0
    found = {*BAND_COUNTS, *(-(-rows // h) for h in BAND_HEIGHTS)}
    return tuple(sorted(n for n in found if 2 <= n <= MAX_AUTO_BANDS))


def _estimate(graph: Graph, persistent: Sequence[int], *, caller_io: bool = False) -> int:
    """Model-order lower bound of ``graph`` (cheap: no order search, no placement; caller
    tensors left out with ``caller_io``)."""
    order = tuple(op.index for op in graph.operators)
    outside = (*persistent, *(caller_tensors(graph) if caller_io else ()))
    lt = compute_lifetimes(graph, order, persistent=outside)
    return lower_bound(lt.intervals, len(order), lt.slides)


def plan_model(graph: Graph, *, persistent: Sequence[int] = (), bands: str | int = "auto",
               patches: str | int = "auto", min_gain: float = 0.10, keep: int = 2,
               fold_pad: bool = True, caller_io: bool = True,
               **kw: object) -> tuple[Graph, MemoryPlan, Banding | Patching | None]:
    """Plan ``graph`` for the generated C: ``(graph to generate, its plan, the banding or
    patching used)``.

    First every PAD that folds into the convolution reading it goes (``fold_pad``:
    :func:`export.planner.fold_pad.fold_pads`; the plan notes each). ``bands``: ``"auto"``
    (band rewrites of :data:`BAND_COUNTS` bands and of :data:`BAND_HEIGHTS` rows a band, the
    best kept when it lowers the arena by at
    least ``min_gain``), ``"off"`` (no rewrite at all, patches neither), or a band count (the
    best cut with that many bands, kept when it lowers the arena at all). ``patches``
    (:mod:`export.planner.patches`, with ``bands="auto"`` only): ``"auto"`` (n x n tiles,
    kept when they plan below the bands' choice, or below the graph as it is by ``min_gain``),
    ``"off"``, or tiles per side (kept when lower at all). ``kw`` goes to :func:`plan_memory`
    for the graph as it is; a rewritten graph is planned in its own order (the bands' or
    tiles' order, which is what the rewrite is for: an order search over hundreds of operators
    is beam-pruned anyway). ``caller_io`` (:mod:`export.planner.caller_io`): a float input
    only a QUANTIZE reads and a float output only a DEQUANTIZE makes stay in the caller's
    buffers, out of the arena (each noted). The last note says which tensors are live at the
    peak.
    """
    folded: tuple[FoldedPad, ...] = ()
    kw["caller_io"] = caller_io
    if fold_pad:
        graph, folded = fold_pads(graph)
    g2, plan, info = _plan_bands(graph, persistent=persistent, bands=bands, min_gain=min_gain,
                                 keep=keep, **kw)
    if bands == "auto" and patches != "off":
        g2, plan, info = _plan_patches(graph, (g2, plan, info), persistent=persistent,
                                       patches=patches, min_gain=min_gain, keep=keep, **kw)
    notes = [f.note() for f in folded] + [
        caller_note(g2, t) for t in sorted(plan.caller_tensors, key=lambda t: (
            t not in g2.inputs, (g2.inputs if t in g2.inputs else g2.outputs).index(t)))]
    if (peak := peak_note(g2, plan)) is not None:
        notes.append(peak)
    return g2, dataclasses.replace(plan, notes=(*plan.notes, *notes)), info


def _plan_patches(graph: Graph, chosen: tuple[Graph, MemoryPlan, Banding | None], *,
                  persistent: Sequence[int], patches: str | int, min_gain: float, keep: int,
                  **kw: object) -> tuple[Graph, MemoryPlan, Banding | Patching | None]:
    """``chosen`` (the bands' choice) or the best patch rewrite, whichever plans lower."""
    if isinstance(patches, str) and patches != "auto":
        raise IRError(f"patches must be 'auto', 'off' or tiles per side, found '{patches}'")
    grids = GRIDS if patches == "auto" else (int(patches),)
    found = plan_patches(graph, persistent=persistent, grids=grids, keep=keep, **kw)
    if found is None:
        return chosen
    _, plan, info = chosen
    need = plan.arena_bytes * (1 - (min_gain if info is None and patches == "auto" else 0.0))
    if found[1].arena_bytes >= plan.arena_bytes or found[1].arena_bytes > need:
        return chosen
    g2, p2, patching = found
    base = plan.arena_bytes if info is None else _plan_bands(
        graph, persistent=persistent, bands="off", min_gain=min_gain, keep=keep, **kw)[1].arena_bytes
    note = patching.note(graph, len(g2.operators), base)
    return g2, dataclasses.replace(p2, notes=(*p2.notes, note)), patching


def _plan_bands(graph: Graph, *, persistent: Sequence[int], bands: str | int, min_gain: float,
                keep: int, **kw: object) -> tuple[Graph, MemoryPlan, Banding | None]:
    """:func:`plan_model` after the PAD folding: the graph as it is or its best band rewrite."""
    base = plan_memory(graph, persistent=persistent, **kw)  # type: ignore[arg-type]
    if bands == "off":
        return graph, base, None
    if isinstance(bands, str) and bands != "auto":
        raise IRError(f"bands must be 'auto', 'off' or a count, found '{bands}'")
    scored = []
    for cut in segment_ends(graph):
        for n in _counts(graph, cut) if bands == "auto" else (int(bands),):
            try:
                g2, info = band_graph(graph, cut, n)
            except IRError:  # too few input rows for n bands, rows it cannot stream
                continue
            scored.append((_estimate(g2, persistent, caller_io=bool(kw.get("caller_io"))), n,
                           cut, g2, info))
    scored.sort(key=lambda x: (x[0], x[1]))
    best = (graph, base, None)
    opts = {k: v for k, v in kw.items() if k != "strategy"}
    for _, _, _, g2, info in scored[:keep]:
        plan = plan_memory(g2, persistent=persistent, strategy="model", **opts)  # type: ignore[arg-type]
        if plan.arena_bytes < best[1].arena_bytes:
            best = (g2, plan, info)
    need = base.arena_bytes * (1 - (min_gain if bands == "auto" else 0.0))
    if best[2] is None or best[1].arena_bytes > need:
        return graph, base, None
    g2, plan, info = best
    note = (f"bands: {len(info.segment)} operators up to tensor {info.cut} "
            f"'{graph.tensors[info.cut].name}' streamed in {info.bands} bands ({len(g2.operators)} "
            f"operators; arena {base.arena_bytes} B without; rows computed "
            f"{info.rows_computed / max(1, info.rows_original):.2f}x, {info.copied_bytes} B "
            "copied per invoke)")
    return g2, dataclasses.replace(plan, notes=(*plan.notes, note)), info
