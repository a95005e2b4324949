"""Streaming execution: an encoder that computes, per hop of new frames, only its new rows.

A windowed encoder sees W frames and recomputes every row of every temporal layer at each hop,
although a hop of h frames makes only the last h / s_X rows of a tensor X new (s_X: the
product of the row strides between the input and X). :func:`stream_graph` rewrites the leading
row-wise segment (:mod:`export.planner.bands` finds it and knows each operator's row rule) into
a per-hop graph:

- its input is the hop's h new frames ([1, h, ...]) instead of the window;
- every segment operator computes the *fresh* rows of its output, the last f_Y = h / s_Y rows
  of the window (the band rewrite's ``_band_op``, reading views of its inputs' rows);
- a tensor X whose readers need rows older than its fresh ones keeps them in a *ring*: a
  state tensor [1, k_X, ...] (a variable, so it lives in the persistent area and survives
  between invokes) and a CONCATENATION of the state and the fresh rows, which the planner grows
  in place (:func:`export.planner.aliasing.grows_in_place`: the state is the front of one
  persistent block of k_X + f_X rows, the concatenation copies only the fresh rows);
- the cut C (the segment's end) is such a block of all its rows, so everything after it (the
  pooling, positions, LayerNorm and K/V projections over the memory rows) runs unchanged.

Between hops each block moves up by its fresh rows (``memmove(block, block + f_X rows, k_X
rows)``: a shift register, so kernels read plain contiguous rows), which
:mod:`export.codegen.stream` emits as ``{prefix}_stream_invoke``; no row is ever computed twice.

Exactness. A segment operator is row-translation invariant when its windows have no padding,
no constant varies along the rows, and all inputs of an operator advance with the same stride;
then row r of X in the window ending h frames later is row r + h / s_X of X now, so with h a
multiple of every s_X the streamed rows are the windowed ones. After ``ceil(W / h)`` hops from a
reset (state at the zero points) every row the memory depends on comes from real frames, and the
streaming memory equals the windowed encoder's on the window ending at that hop, bit for bit.
Windows with padding, row-varying constants or mixed strides are refused with the reason
(:class:`PlanError`): streaming would compute a different, if arguably better, function.

Cost: the segment's operators run on f_Y of n_Y rows each; the tail runs whole. Complexity:
O(segment operators) to rewrite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from export.ir import Graph, Operator
from export.planner import PlanError
from export.planner.bands import (
    Rows,
    _band_op,
    _Builder,
    _downstream,
    _need,
    _rows,
    _Rule,
    _rules,
    _segment,
    segment_ends,
)
from export.planner.memory import plan_memory
from export.planner.plan import MemoryPlan


@dataclass(frozen=True)
class Ring:
    """One tensor's rows kept between hops (a shift register in the persistent area)."""

    tensor: int  # the tensor in the windowed graph
    state: int  # its state tensor in the stream graph: the last ``keep`` rows of the previous hop
    block: int  # the grown CONCATENATION of state and fresh rows (``keep + fresh`` rows)
    keep: int  # rows kept between hops
    fresh: int  # rows each hop appends (h / the tensor's row stride)
    row_bytes: int  # bytes of one row


@dataclass(frozen=True)
class Streaming:
    """One streaming rewrite: where it cuts, what a hop computes and what it keeps."""

    cut: int  # tensor index of the segment's end (the memory rows the tail reads whole)
    hop: int  # new input rows (frames) per hop
    window: int  # input rows of the windowed graph
    segment: tuple[int, ...]  # windowed operator indices run on fresh rows only
    rings: tuple[Ring, ...]  # tensors with rows kept between hops, in segment order
    rows_hop: int  # output rows the segment's operators compute per hop
    rows_window: int  # output rows they compute per windowed invoke
    macs_hop: int  # multiply-accumulates of the whole stream graph per hop
    macs_window: int  # multiply-accumulates of the windowed graph per invoke

    @property
    def state_bytes(self) -> int:
        """Bytes of rows kept between hops (the rings' states, before alignment)."""
        return sum(r.keep * r.row_bytes for r in self.rings)

    @property
    def shift_bytes(self) -> int:
        """Bytes moved per hop by the shift registers (the same as :attr:`state_bytes`)."""
        return self.state_bytes

    @property
    def warmup_hops(self) -> int:
        """Hops after a reset before the output equals the windowed graph's."""
        return -(-self.window // self.hop)

    def note(self) -> str:
        """One line for the plan's notes."""
        return (f"stream: {len(self.segment)} operators up to tensor {self.cut} run on the "
                f"fresh rows of a {self.hop}-frame hop ({self.rows_hop} of {self.rows_window} "
                f"rows, {self.macs_hop:,} of {self.macs_window:,} MACs per hop); "
                f"{len(self.rings)} rings keep {self.state_bytes} B between hops; exact "
                f"after {self.warmup_hops} hops from a reset")


def op_macs(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of ``op`` (convolutions, fully connected, batch matmul; 0 others)."""
    if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL"):
        return 0
    out = graph.tensors[op.outputs[0]]
    x, w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    if op.op == "CONV_2D":
        return out.num_elements * w.shape[1] * w.shape[2] * w.shape[3]
    if op.op == "DEPTHWISE_CONV_2D":
        return out.num_elements * w.shape[1] * w.shape[2]
    if op.op == "FULLY_CONNECTED":
        return out.num_elements * w.shape[-1]
    adj = bool(op.options.get("adj_x", False))
    return out.num_elements * x.shape[-2 if adj else -1]


def graph_macs(graph: Graph) -> int:
    """Multiply-accumulates of one invoke of ``graph``."""
    return sum(op_macs(graph, op) for op in graph.operators)


def _strides(graph: Graph, seg: tuple[int, ...], rules: dict[int, _Rule],
             source: int) -> dict[int, int]:
    """Row stride (input rows per row) of every segment tensor, checking that each operator is
    row-translation invariant (see the module docstring); :class:`PlanError` otherwise."""
    stride = {source: 1}
    for k in seg:
        op, rule = graph.operators[k], rules[k]
        y = op.outputs[0]
        where = f"{graph.name}: operator {k} {op.op} -> tensor {y} '{graph.tensors[y].name}'"
        seen = set()
        for pos in rule.banded:
            x = op.inputs[pos]
            if graph.tensors[x].is_constant:
                raise PlanError(f"{where}: constant input {pos} varies along the rows (a "
                                "position-dependent term): a stream cannot shift it")
            seen.add(stride[x])
        if len(seen) != 1:
            raise PlanError(f"{where}: inputs advance {sorted(seen)} input rows per row: "
                            "expected one stride to stream")
        s = seen.pop()
        if rule.kind == "window":
            x = graph.tensors[op.inputs[0]]
            span_end = (_rows(graph.tensors[y]) - 1) * rule.stride + rule.span - rule.pad
            if rule.pad or span_end > _rows(x):
                raise PlanError(f"{where}: the window pads {rule.pad} row(s) before the first "
                                f"and reads to row {span_end} of {_rows(x)}: expected a valid "
                                "(unpadded) window, whose rows do not depend on where the "
                                "window starts")
        stride[y] = s * (rule.stride if rule.kind != "same" else 1)
    return stride


def _plan_rows(graph: Graph, seg: tuple[int, ...], rules: dict[int, _Rule], cut: int,
               stride: dict[int, int], hop: int) -> tuple[dict[int, int], dict[int, int]]:
    """(fresh rows per hop, first row any reader needs) of every segment tensor."""
    fresh: dict[int, int] = {}
    for t, s in stride.items():
        n = _rows(graph.tensors[t])
        if hop % s:
            raise PlanError(f"{graph.name}: hop of {hop} frames is not a multiple of the row "
                            f"stride {s} of tensor {t} '{graph.tensors[t].name}': expected a "
                            f"multiple of {max(stride.values())} so every layer's rows stay "
                            "aligned")
        if hop // s > n:
            raise PlanError(f"{graph.name}: hop of {hop} frames makes {hop // s} new rows of "
                            f"tensor {t} '{graph.tensors[t].name}', which has {n}: expected a "
                            "hop within the window")
        fresh[t] = hop // s
    low = {t: _rows(graph.tensors[t]) - f for t, f in fresh.items()}
    low[cut] = 0  # the tail reads every row of the cut
    for k in seg:
        op = graph.operators[k]
        y = op.outputs[0]
        n_y = _rows(graph.tensors[y])
        for pos in rules[k].banded:
            x = op.inputs[pos]
            a, _ = _need(rules[k], (n_y - fresh[y], n_y), _rows(graph.tensors[x]))
            low[x] = min(low[x], a)
    return fresh, low


def _choose_cut(graph: Graph, hop: int) -> int:
    """The segment end with the most operators that streams; when none does, the longest
    segment's refusal."""
    rules = _rules(graph)
    prod, consumers = graph.producers(), graph.consumers()
    found = [(cut, seg) for cut in segment_ends(graph)
             if (seg := _segment(graph, cut, rules, prod, consumers)) is not None]
    found.sort(key=lambda x: -len(x[1]))
    first_error = None
    for cut, seg in found:
        try:
            _check(graph, cut, seg, rules, consumers, hop)
        except PlanError as exc:
            first_error = first_error or exc
            continue
        return cut
    if first_error is not None:
        raise first_error
    raise PlanError(f"{graph.name}: no row-wise segment to stream (expected [1, T, ...] "
                    "tensors made by row-wise operators from one graph input)")


def longest_cut(graph: Graph) -> int:
    """The end of the longest row-wise segment (the cut that streams the most operators), which
    a hop streams whole only when it is a multiple of every row stride in it;
    :class:`PlanError` when ``graph`` has no row-wise segment."""
    rules = _rules(graph)
    prod, consumers = graph.producers(), graph.consumers()
    found = [(len(seg), cut) for cut in segment_ends(graph)
             if (seg := _segment(graph, cut, rules, prod, consumers)) is not None]
    if not found:
        raise PlanError(f"{graph.name}: no row-wise segment to stream (expected [1, T, ...] "
                        "tensors made by row-wise operators from one graph input)")
    return max(found, key=lambda x: x[0])[1]


def _check(graph: Graph, cut: int, seg: tuple[int, ...], rules: dict[int, _Rule],
           consumers: dict[int, list[int]], hop: int) -> tuple[int, dict[int, int], dict[int, int]]:
    """(the segment's graph input, fresh rows, first needed rows) or :class:`PlanError`."""
    made = {graph.operators[k].outputs[0] for k in seg}
    sources = {graph.operators[k].inputs[p] for k in seg for p in rules[k].banded
               if not graph.tensors[graph.operators[k].inputs[p]].is_constant} - made
    if len(sources) != 1 or next(iter(sources)) not in graph.inputs:
        names = ", ".join(f"{t} '{graph.tensors[t].name}'" for t in sorted(sources))
        raise PlanError(f"{graph.name}: the segment up to tensor {cut} reads {names}: expected "
                        "exactly one graph input (the frames) to stream")
    source = sources.pop()
    if any(c not in seg for c in consumers.get(source, ())) or source in graph.outputs:
        raise PlanError(f"{graph.name}: graph input {source} '{graph.tensors[source].name}' is "
                        f"read outside the segment up to tensor {cut}: its window is gone when "
                        "it streams")
    if cut in graph.outputs:
        raise PlanError(f"{graph.name}: tensor {cut} is a graph output: expected the memory "
                        "rows to be read by the tail")
    stride = _strides(graph, seg, rules, source)
    fresh, low = _plan_rows(graph, seg, rules, cut, stride, hop)
    return source, fresh, low


def stream_graph(graph: Graph, hop: int, *, cut: int | None = None) -> tuple[Graph, Streaming]:
    """``graph`` as one hop of ``hop`` new frames (see the module docstring): the stream graph
    (its input is the hop's frames, its state the rings' variables) and what it does.

    ``cut``: the segment's end. By default the longest segment that streams: with a hop that
    is not a multiple of the deepest rows' stride (2 frames where the strides reach 4), a
    shorter segment whose strides divide it streams and the rest runs per hop as it is (still
    exact, less saved; :attr:`Streaming.segment` says which)."""
    if hop < 1:
        raise PlanError(f"hop must be at least 1 frame, found {hop}")
    rules = _rules(graph)
    prod, consumers = graph.producers(), graph.consumers()
    cut = _choose_cut(graph, hop) if cut is None else cut
    seg = _segment(graph, cut, rules, prod, consumers)
    if seg is None:
        raise PlanError(f"{graph.name}: tensor {cut} is not the end of a row-wise segment")
    source, fresh, low = _check(graph, cut, seg, rules, consumers, hop)
    b = _Builder(graph)
    later = _downstream(graph, cut, consumers)
    for op in graph.operators:  # operators neither in the segment nor after it
        if op.index not in seg and op.index not in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    src = graph.tensors[source]
    hop_in = b.tensor(src, hop, f"{src.name}/hop")
    rings: list[Ring] = []
    cur: dict[int, tuple[int, Rows]] = {}
    cur[source] = _ring(b, graph, source, hop_in, fresh, low, cut, rings)
    computed = 0
    for k in seg:
        op = graph.operators[k]
        y = op.outputs[0]
        yt = graph.tensors[y]
        n = _rows(yt)
        whole = y == cut and n - fresh[y] - low[y] == 0  # no ring: the op writes the cut itself
        out = y if whole else b.tensor(yt, fresh[y], f"{yt.name}/hop")
        ins = {p: cur[op.inputs[p]] for p in rules[k].banded}
        _band_op(b, op, rules[k], (n - fresh[y], n), ins, out, "hop")
        computed += fresh[y]
        cur[y] = (y, (0, n)) if whole else _ring(b, graph, y, out, fresh, low, cut, rings)
    for op in graph.operators:
        if op.index in later:
            b.op(op.op, op.inputs, op.outputs, dict(op.options))
    ops = tuple(dataclasses.replace(op, index=i) for i, op in enumerate(b.ops))
    inputs = tuple(hop_in if t == source else t for t in graph.inputs)
    out = dataclasses.replace(graph, tensors=tuple(b.tensors), operators=ops, inputs=inputs)
    info = Streaming(cut=cut, hop=hop, window=_rows(src), segment=seg, rings=tuple(rings),
                     rows_hop=computed,
                     rows_window=sum(_rows(graph.tensors[graph.operators[k].outputs[0]])
                                     for k in seg),
                     macs_hop=graph_macs(out), macs_window=graph_macs(graph))
    return out, info


def _ring(b: _Builder, graph: Graph, x: int, fresh_t: int, fresh: dict[int, int],
          low: dict[int, int], cut: int, rings: list[Ring]) -> tuple[int, Rows]:
    """The rows of ``x`` its readers see this hop: ``fresh_t`` alone, or the concatenation of
    a new state tensor (the rows kept from earlier hops) and ``fresh_t``; (tensor, rows)."""
    xt = graph.tensors[x]
    n = _rows(xt)
    lo = min(low[x], n - fresh[x])
    keep = n - fresh[x] - lo
    if keep == 0:
        return fresh_t, (n - fresh[x], n)
    idx = len(b.tensors)
    b.tensors.append(dataclasses.replace(
        xt, index=idx, name=f"{xt.name}/stream_state", shape=(xt.shape[0], keep, *xt.shape[2:]),
        data=None, is_variable=True))
    block = x if x == cut else b.tensor(xt, keep + fresh[x], f"{xt.name}/stream_rows")
    b.op("CONCATENATION", (idx, fresh_t), (block,), {"axis": 1,
                                                     "fused_activation_function": "NONE"})
    rings.append(Ring(tensor=x, state=idx, block=block, keep=keep, fresh=fresh[x],
                      row_bytes=xt.nbytes // n))
    return block, (lo, n)


def plan_stream(graph: Graph, hop: int, *, cut: int | None = None, persistent: Sequence[int] = (),
                **kw: object) -> tuple[Graph, MemoryPlan, Streaming]:
    """The stream graph of ``graph`` (:func:`stream_graph`), its memory plan and what it does.

    Every ring's block must grow in place in the persistent area (its state at the front), or
    the shift between hops would move the wrong bytes: :class:`PlanError` otherwise. ``kw``
    goes to :func:`plan_memory` (default strategy: the stream graph's own order)."""
    g2, info = stream_graph(graph, hop, cut=cut)
    kw.setdefault("strategy", "model")
    plan = plan_memory(g2, persistent=persistent, **kw)  # type: ignore[arg-type]
    for r in info.rings:
        if plan.grown.get(r.block) != r.state:
            raise PlanError(f"{graph.name}: ring of tensor {r.tensor}: block {r.block} does not "
                            f"grow state {r.state} in place (grown: {dict(plan.grown)}): "
                            "expected the state at the front of the block")
    return g2, dataclasses.replace(plan, notes=(*plan.notes, info.note())), info
