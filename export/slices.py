"""What a STRIDED_SLICE or SLICE selects: per input dimension (begin, end, step) after masks.

One reader for the code generator (which copies the selection) and the planner (which makes a
selection that is one contiguous run of its input's bytes a view at a byte offset, no copy).
"""

from __future__ import annotations

from export.ir import DTYPE_BYTES, Graph, IRError, Operator

SLICE_OPS: frozenset[str] = frozenset({"STRIDED_SLICE", "SLICE"})
"""Operators whose output is a (strided) selection of input 0."""


def _const(graph: Graph, op: Operator, i: int) -> list[int]:
    if i >= len(op.inputs) or op.inputs[i] < 0 or not graph.tensors[op.inputs[i]].is_constant:
        raise IRError(f"{graph.name}: operator {op.index} {op.op}: input {i} must be a constant "
                      "(found a run-time tensor or none)")
    return [int(v) for v in graph.tensors[op.inputs[i]].numpy().reshape(-1)]


def slice_bounds(graph: Graph, op: Operator) -> tuple[list[int], list[int], list[int]]:
    """(begin, end, step) per dimension of input 0 of STRIDED_SLICE ``op`` (begin/end/shrink
    masks and negative indices resolved, TFLite's clamping) or SLICE ``op`` (begin, size)."""
    shape = list(graph.tensors[op.inputs[0]].shape)
    if op.op == "SLICE":
        begin, size = _const(graph, op, 1), _const(graph, op, 2)
        end = [d if s < 0 else b + s for b, s, d in zip(begin, size, shape, strict=True)]
        return begin, end, [1] * len(shape)
    o = op.options
    if int(o.get("ellipsis_mask", 0)) or int(o.get("new_axis_mask", 0)):
        raise IRError(f"{graph.name}: operator {op.index} {op.op}: ellipsis_mask / new_axis_mask "
                      f"are not supported (found {o.get('ellipsis_mask')}, "
                      f"{o.get('new_axis_mask')})")
    b_in, e_in, s_in = _const(graph, op, 1), _const(graph, op, 2), _const(graph, op, 3)
    bm, em, sm = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0)), int(o.get("shrink_axis_mask", 0))
    begin, end, step = [], [], []
    for i, dim in enumerate(shape):
        s = s_in[i] if i < len(s_in) else 1
        b = b_in[i] if i < len(b_in) else 0
        e = e_in[i] if i < len(e_in) else dim
        if bool(o.get("offset", False)):
            e = b + e
        b = b + dim if b < 0 else b
        e = e + dim if e < 0 else e
        if bm >> i & 1:
            b = 0 if s > 0 else dim - 1
        if em >> i & 1:
            e = dim if s > 0 else -1
        if sm >> i & 1:
            e, s = b + 1, 1
        b = min(max(b, 0), dim) if s > 0 else min(max(b, -1), dim - 1)
        e = min(max(e, 0), dim) if s > 0 else min(max(e, -1), dim - 1)
        begin.append(b)
        end.append(e)
        step.append(s)
    return begin, end, step


def contiguous_offset(shape: list[int], begin: list[int], end: list[int], step: list[int],
                      elem_bytes: int) -> int | None:
    """Byte offset of the selection in the input when it is one contiguous run of the input's
    bytes in the input's order (leading dimensions that select one index, then one dimension
    with step 1, then whole dimensions), else None."""
    counts = [len(range(b, e, s)) for b, e, s in zip(begin, end, step, strict=True)]
    if 0 in counts:
        return None
    k = 0
    while k < len(shape) - 1 and counts[k] == 1:
        k += 1
    if counts[k] > 1 and step[k] != 1:
        return None
    for i in range(k + 1, len(shape)):
        if counts[i] != shape[i] or (shape[i] > 1 and (begin[i] != 0 or step[i] != 1)):
            return None
    offset, stride = 0, elem_bytes
    for i in reversed(range(len(shape))):
        offset += begin[i] * stride
        stride *= shape[i]
    return offset


def slice_view_offset(graph: Graph, op: Operator) -> int | None:
    """Byte offset of slice ``op``'s output inside input 0 when the output is one contiguous run
    of input 0's bytes (and has its dtype and quantization), else None."""
    if op.op not in SLICE_OPS or not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        return None
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if src.dtype != dst.dtype or (src.quant != dst.quant and src.dtype == "int8") or not src.shape:
        return None
    try:
        begin, end, step = slice_bounds(graph, op)
    except IRError:
        return None
    off = contiguous_offset(list(src.shape), begin, end, step, DTYPE_BYTES[src.dtype])
    if off is None or dst.nbytes != _selected(begin, end, step) * DTYPE_BYTES[src.dtype]:
        return None
    return off


def _selected(begin: list[int], end: list[int], step: list[int]) -> int:
    n = 1
    for b, e, s in zip(begin, end, step, strict=True):
        n *= len(range(b, e, s))
    return n
