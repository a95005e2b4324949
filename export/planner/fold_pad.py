"""``fold_pads(graph)``: a PAD folded into the convolution that reads it (TinyEngine does this).

An explicit int8 PAD in front of a CONV_2D / DEPTHWISE_CONV_2D materialises a padded copy of
its input, and the input and the copy are live together: mcunet-vww1's 40x40x48 -> 42x42x48
PAD sets its peak. The convolution's kernels already clip every filter tap to the input (a
skipped tap is exactly a tap on the zero point: (zp + input_offset) * w = 0), so the PAD can go
and the convolution read the PAD's input with explicit per-side padding instead, given as the
option ``fe_pads`` = (top, bottom, left, right) with ``padding`` VALID
(:func:`export.planner.overlap.window_pad` reads it for the code generator, the access model
and the band rewrite).

A PAD / PADV2 folds when all of these hold (otherwise the graph keeps it as it is):

1. int8 in and out, one (per-tensor) quantization shared by both, pads only along H and W of
   an NHWC tensor, a constant paddings input, and a pad value equal to that zero point (PAD
   pads int8 with the output zero point; PADV2 only when its constant value is it);
2. the padded tensor is no graph output or variable, and exactly one operator reads it, once,
   as input 0: a CONV_2D or DEPTHWISE_CONV_2D with constant 4-D weights;
3. VALID: the output size is VALID's over the padded input; SAME: likewise SAME's, whose own
   padding is then added to the PAD's per side (exact: the kernels take any top/left pad);
4. every resulting pad is at most (filter - 1) * dilation, so every window keeps a tap inside
   the input.

One pass over the operators (a PAD feeding a PAD is not merged). Complexity O(#operators).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from export.ir import Graph, Operator, Tensor
from export.planner.overlap import PADS_OPTION, same_pad

PAD_OPS: frozenset[str] = frozenset({"PAD", "PADV2"})
"""Operators this pass removes."""

CONV_OPS: frozenset[str] = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D"})
"""Operators that take a folded PAD's padding."""

Pads = tuple[int, int, int, int]
"""(top, bottom, left, right)."""


@dataclass(frozen=True)
class FoldedPad:
    """One PAD removed by :func:`fold_pads`."""

    pad_op: int  # index of the PAD in the graph as given
    conv_op: int  # index of the convolution that took its padding, in the graph as given
    conv: str  # that convolution's operator name (CONV_2D / DEPTHWISE_CONV_2D)
    tensor: int  # the padded tensor, which no operator writes any more
    shape: tuple[int, ...]  # the padded tensor's shape
    pads: Pads  # the convolution's explicit padding now (the PAD's plus any SAME padding)
    saved_bytes: int  # bytes of the padded copy no longer made

    def note(self) -> str:
        """One line for the plan's notes."""
        t, b, left, r = self.pads
        return (f"PAD folded: operator {self.pad_op} PAD {list(self.shape)} ({self.saved_bytes} B "
                f"copy) into operator {self.conv_op} {self.conv} as pads top {t}, bottom {b}, "
                f"left {left}, right {r}")


def _pad_value_ok(graph: Graph, op: Operator, zp: int) -> bool:
    """PAD pads int8 with the output zero point; PADV2 with its constant value, if given."""
    if op.op == "PAD" or len(op.inputs) < 3 or op.inputs[2] < 0:
        return True
    value = graph.tensors[op.inputs[2]]
    return (value.is_constant and value.dtype == "int8" and value.num_elements == 1
            and int(value.numpy().reshape(-1)[0]) == zp)


def _spatial_pads(graph: Graph, op: Operator) -> Pads | None:
    """The PAD's (top, bottom, left, right) when it pads only H and W of an int8 NHWC tensor
    with its zero point, in and out quantized alike; else None."""
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    paddings = graph.tensors[op.inputs[1]]
    if src.dtype != "int8" or dst.dtype != "int8" or len(src.shape) != 4 or src.is_constant:
        return None
    q = src.quant
    if q is None or q.per_channel or dst.quant != q or not paddings.is_constant:
        return None
    p = paddings.numpy().astype(np.int64).reshape(-1)
    if p.size != 8 or p.min() < 0 or p[0] or p[1] or p[6] or p[7]:
        return None
    if not _pad_value_ok(graph, op, int(q.zero_point[0])):
        return None
    return int(p[2]), int(p[3]), int(p[4]), int(p[5])


def _axis_pads(o: Mapping[str, Any], axis: str, padded: int, out: int, filt: int,
               before: int, after: int) -> tuple[int, int] | None:
    """(before, after) along one axis of a VALID / SAME window over the PAD's output of size
    ``padded``, the PAD's own (``before``, ``after``) included; None when the window's output
    size is not VALID's / SAME's or a pad reaches past the filter's span."""
    stride, dil = int(o.get(f"stride_{axis}", 1)), int(o.get(f"dilation_{axis}_factor", 1))
    span = (filt - 1) * dil + 1
    padding = str(o.get("padding", "VALID"))
    if padding == "VALID":
        expect = (padded - span) // stride + 1 if padded >= span else 0
    elif padding == "SAME":
        expect = -(-padded // stride)
    else:
        return None
    if out != expect or out <= 0:
        return None
    total = max(0, (out - 1) * stride + span - padded) if padding == "SAME" else 0
    first = same_pad(padding, stride, dil, padded, filt, out)
    lo, hi = before + first, after + total - first
    return (lo, hi) if max(lo, hi) <= span - 1 else None


def _conv_pads(graph: Graph, conv: Operator, pads: Pads) -> Pads | None:
    """The convolution's explicit pads with the PAD folded in, or None (see the docstring)."""
    w = graph.tensors[conv.inputs[1]] if len(conv.inputs) > 1 and conv.inputs[1] >= 0 else None
    padded, out = graph.tensors[conv.inputs[0]], graph.tensors[conv.outputs[0]]
    if w is None or not w.is_constant or len(w.shape) != 4 or len(out.shape) != 4:
        return None
    if PADS_OPTION in conv.options or "fe_pad_h" in conv.options:
        return None
    o = conv.options
    rows = _axis_pads(o, "h", padded.shape[1], out.shape[1], w.shape[1], pads[0], pads[1])
    cols = _axis_pads(o, "w", padded.shape[2], out.shape[2], w.shape[2], pads[2], pads[3])
    return None if rows is None or cols is None else (*rows, *cols)


def _foldable(graph: Graph, op: Operator, consumers: dict[int, list[int]]) -> tuple[int, Pads] | None:
    """(consumer index, its new pads) when PAD ``op`` folds into its only reader."""
    if op.op not in PAD_OPS or len(op.outputs) != 1 or len(op.inputs) < 2:
        return None
    t = op.outputs[0]
    readers = consumers.get(t, [])
    if t in graph.outputs or graph.tensors[t].is_variable or len(readers) != 1:
        return None
    conv = graph.operators[readers[0]]
    if conv.op not in CONV_OPS or conv.inputs[0] != t or list(conv.inputs).count(t) != 1:
        return None
    pads = _spatial_pads(graph, op)
    new = _conv_pads(graph, conv, pads) if pads is not None else None
    return None if new is None else (conv.index, new)


def _rewired(conv: Operator, src: int, pads: Pads) -> Operator:
    """``conv`` reading ``src`` with explicit pads."""
    options = {**conv.options, "padding": "VALID", PADS_OPTION: pads}
    return dataclasses.replace(conv, inputs=(src, *conv.inputs[1:]),
                               options=MappingProxyType(options))


def fold_pads(graph: Graph) -> tuple[Graph, tuple[FoldedPad, ...]]:
    """``graph`` without the PADs that fold into their convolution (the module docstring says
    which), operators renumbered in the same order; tensors keep their indices (a padded
    tensor stays in ``tensors``, read and written by no operator). Also what was folded."""
    consumers = graph.consumers()
    folded: list[FoldedPad] = []
    rewired: dict[int, Operator] = {}
    for op in graph.operators:
        found = _foldable(graph, op, consumers)
        if found is None:
            continue
        k, pads = found
        rewired[k] = _rewired(graph.operators[k], op.inputs[0], pads)
        t: Tensor = graph.tensors[op.outputs[0]]
        folded.append(FoldedPad(op.index, k, graph.operators[k].op, t.index, t.shape, pads,
                                t.nbytes))
    if not folded:
        return graph, ()
    gone = {f.pad_op for f in folded}
    kept = [rewired.get(op.index, op) for op in graph.operators if op.index not in gone]
    ops = tuple(dataclasses.replace(op, index=i) for i, op in enumerate(kept))
    return dataclasses.replace(graph, operators=ops), tuple(folded)
