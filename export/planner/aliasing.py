"""Which tensors share storage: views (no code, same bytes) and in-place operators.

The rule both the planner and the kernels honour:

- :data:`VIEW_OPS` (RESHAPE, SQUEEZE, EXPAND_DIMS) are pure views: the output has the same
  offset as input 0 and no code is emitted for them.
- A TRANSPOSE whose every reader is a BATCH_MATMUL (:func:`can_strided_view`) is a *strided*
  view: no code, the output shares input 0's storage, and each BATCH_MATMUL reads it through the
  permuted strides (:func:`matrix_layout`), as long as one of its two matrix dimensions stays
  contiguous. Attention's K^T and V heads then read the KV cache where it lies. Plans for TFLite
  Micro (which runs the TRANSPOSE) turn this off.
- A STRIDED_SLICE or SLICE whose output is one contiguous run of its input's bytes
  (:func:`can_slice_view`: leading dimensions that select one index, one dimension with step 1,
  then whole dimensions, e.g. frames 1..T of a [1, T, V, C] window) is a view at a byte offset:
  no code, the output is read where it lies in the input (:func:`alias_offsets`). Plans for
  TFLite Micro turn this off with the strided views; a slice the band rewrite marks
  ``fe_copy`` (a halo kept across bands) stays a copy.
- :data:`INPLACE_OPS` may write their output over input 0 when :func:`can_run_inplace` holds:
  the op is elementwise on int8 (or a unary op of equal size), input 0 has exactly the output's
  shape and byte size, input 0 dies at this op (no later reader, not a graph output) and is not
  a graph input, constant or variable. Their kernels read each element before writing it.
  DYNAMIC_UPDATE_SLICE (a patch's tile stored into the cut, :mod:`export.planner.patches`)
  writes only its update's box over the operand's bytes, which are already the output's.
- DEPTHWISE_CONV_2D with depth multiplier 1 (:data:`SHRINKING_INPLACE_OPS`) may run in place
  TinyEngine-style when its int8 output is no larger than its input: the kernel computes one
  channel at a time into a scratch buffer of out_h x out_w bytes, then writes it back over the
  input at the output's NHWC positions of that channel (each such position held an input
  element of the same, already consumed, channel). The output takes the front of the input's
  storage; the storage keeps the input's size.

:func:`alias_roots` resolves chains (a view of an in-place output of a view ...) to the tensor
that owns the storage. Complexity O(#operators).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from export.ir import Graph, Operator
from export.slices import SLICE_OPS, slice_view_offset

VIEW_OPS: frozenset[str] = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
"""Operators whose output is the input's bytes under another shape."""

STRIDED_VIEW_OPS: frozenset[str] = frozenset({"TRANSPOSE"})
"""Operators whose output may be read in place through permuted strides (see the docstring)."""

INPLACE_OPS: frozenset[str] = frozenset(
    {"QUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "SOFTMAX",
     "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "DEPTHWISE_CONV_2D",
     "DYNAMIC_UPDATE_SLICE"}
)
"""Operators whose output may take input 0's storage (see :func:`can_run_inplace`)."""

SHRINKING_INPLACE_OPS: frozenset[str] = frozenset({"DEPTHWISE_CONV_2D"})
"""In-place operators whose output may be smaller than input 0 (see the module docstring)."""

_UNARY_INPLACE: frozenset[str] = frozenset(
    {"QUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "SOFTMAX"}
)


def _is_io_or_fixed(graph: Graph, t: int, persistent: frozenset[int]) -> bool:
    """True for graph inputs/outputs, constants, variables and persistent tensors."""
    tensor = graph.tensors[t]
    return (t in graph.inputs or t in graph.outputs or t in persistent
            or tensor.is_constant or tensor.is_variable)


def can_view(graph: Graph, op: Operator, persistent: frozenset[int] = frozenset()) -> bool:
    """True when ``op`` is a view whose output can share input 0's storage.

    Views of constants (in flash) and variables stay separate tensors; a view of a persistent
    tensor shares its persistent storage (a view never writes), a view may not be persistent.
    """
    if op.op not in VIEW_OPS or not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        return False
    src, dst = op.inputs[0], op.outputs[0]
    s, d = graph.tensors[src], graph.tensors[dst]
    if s.is_constant or s.is_variable or d.is_variable or s.nbytes != d.nbytes:
        return False
    return dst not in persistent


def can_slice_view(graph: Graph, op: Operator, persistent: frozenset[int] = frozenset()) -> bool:
    """True when slice ``op``'s output can be read in place inside input 0 (see the docstring)."""
    if op.op not in SLICE_OPS or op.options.get("fe_copy") or not op.inputs or op.inputs[0] < 0:
        return False
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if src.is_constant or src.is_variable or dst.is_variable or dst.index in persistent:
        return False
    return slice_view_offset(graph, op) is not None


def alias_offsets(graph: Graph, aliases: Mapping[int, int]) -> dict[int, int]:
    """Byte offset of every aliased tensor inside its storage root: the sum of the slice views'
    offsets along its alias chain (0 for reshapes, strided views and in-place outputs)."""
    prod = graph.producers()

    def step(t: int) -> int:
        op = graph.operators[prod[t]] if t in prod else None
        if op is None or op.op not in SLICE_OPS or not op.inputs or op.inputs[0] != aliases[t]:
            return 0
        return slice_view_offset(graph, op) or 0

    return {t: sum(step(x) for x in _chain(t, aliases)[:-1]) for t in aliases}


def contiguous_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a row-major tensor of ``shape``."""
    out, acc = [], 1
    for d in reversed(list(shape)):
        out.append(acc)
        acc *= int(d)
    return out[::-1]


def transposed_strides(src_shape: Sequence[int], perm: Sequence[int]) -> list[int]:
    """Element strides of ``transpose(src, perm)`` read in place from ``src``'s storage."""
    st = contiguous_strides(src_shape)
    return [st[int(p)] for p in perm]


def matrix_layout(row_stride: int, col_stride: int, adj: bool) -> tuple[bool, int] | None:
    """How BATCH_MATMUL reads a matrix operand whose last two dimensions (as the tensor has them,
    before ``adj``) have element strides ``row_stride``, ``col_stride``: ``(adj, stride between
    stored rows)`` with the stored innermost dimension contiguous, or None when neither is."""
    if col_stride == 1:
        return adj, row_stride
    if row_stride == 1:
        return not adj, col_stride
    return None


def can_strided_view(graph: Graph, op: Operator, persistent: frozenset[int],
                     consumers: Mapping[int, Sequence[int]]) -> bool:
    """True when TRANSPOSE ``op`` can be a strided view read by its BATCH_MATMUL consumers."""
    if op.op not in STRIDED_VIEW_OPS or len(op.inputs) < 2 or op.inputs[0] < 0 or len(op.outputs) != 1:
        return False
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    perm_t = graph.tensors[op.inputs[1]]
    if src.is_constant or src.is_variable or dst.is_variable or not perm_t.is_constant:
        return False
    if src.dtype != "int8" or dst.dtype != "int8" or dst.index in persistent:
        return False
    if dst.index in graph.outputs or not 2 <= len(dst.shape) <= 5:
        return False
    readers = consumers.get(dst.index, ())
    if not readers:
        return False
    strides = transposed_strides(src.shape, [int(p) for p in perm_t.numpy().reshape(-1)])
    for k in readers:
        reader = graph.operators[k]
        if reader.op != "BATCH_MATMUL":
            return False
        for pos, t in enumerate(reader.inputs[:2]):
            adj = bool(reader.options.get("adj_x" if pos == 0 else "adj_y", False))
            if t == dst.index and matrix_layout(strides[-2], strides[-1], adj) is None:
                return False
    return True


def inplace_shapes_ok(graph: Graph, op: Operator) -> bool:
    """True when output 0 of in-place op ``op`` fits input 0's storage as its kernel needs."""
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if op.op in SHRINKING_INPLACE_OPS:
        return (src.dtype == dst.dtype == "int8" and len(src.shape) == len(dst.shape) == 4
                and src.shape[0] == dst.shape[0] == 1 and src.shape[-1] == dst.shape[-1]
                and dst.nbytes <= src.nbytes)
    return src.shape == dst.shape and src.nbytes == dst.nbytes


def can_run_inplace(
    graph: Graph, op: Operator, *, root: int, root_last_step: int, step: int,
    persistent: frozenset[int] = frozenset(),
) -> bool:
    """True when ``op`` (at schedule position ``step``) may write its output over input 0.

    ``root`` is the tensor owning input 0's storage (input 0 itself unless it is a view) and
    ``root_last_step`` the last schedule position that reads that storage.
    """
    if op.op not in INPLACE_OPS or not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        return False
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not inplace_shapes_ok(graph, op):
        return False
    if op.op == "QUANTIZE" and not (src.dtype == dst.dtype == "int8"):
        return False
    if op.op in _UNARY_INPLACE and src.dtype != dst.dtype:
        return False
    if op.inputs.count(op.inputs[0]) > 1:
        return False
    for t in (op.inputs[0], root, op.outputs[0]):
        if _is_io_or_fixed(graph, t, persistent):
            return False
    return root_last_step == step


def _chain(t: int, aliases: Mapping[int, int]) -> list[int]:
    """``t``, the tensor whose storage it shares, that one's, ... up to the root (a cycle, which
    no valid plan has, ends at its first repeat)."""
    chain, seen = [t], {t}
    while chain[-1] in aliases:
        chain.append(aliases[chain[-1]])
        if chain[-1] in seen:
            break
        seen.add(chain[-1])
    return chain


def alias_roots(aliases: Mapping[int, int]) -> dict[int, int]:
    """Map every aliased tensor to the root tensor that owns its storage."""
    return {t: _chain(t, aliases)[-1] for t in aliases}


def grows_in_place(graph: Graph, op: Operator, persistent: frozenset[int]) -> bool:
    """True when CONCATENATION ``op`` can append to its persistent input 0 where it lies.

    The decoder step's ``concat(cache, new_row)``: when input 0 is a persistent tensor (the
    K/V cache), its bytes are a prefix of the output (every output dimension before the axis
    is 1, so input 0 is one contiguous run at the output's start) and the output has input 0's
    quantization (the copy would be verbatim), the output can own a persistent block with the
    cache at its front: the concatenation then writes only the other inputs. The output lives
    in the persistent area (not the arena); it must not be a graph output or persistent itself.
    """
    if op.op != "CONCATENATION" or len(op.inputs) < 2 or len(op.outputs) != 1:
        return False
    src_i, dst_i = op.inputs[0], op.outputs[0]
    if src_i < 0 or src_i not in persistent or dst_i in persistent or dst_i in graph.outputs:
        return False
    if op.inputs.count(src_i) > 1:
        return False
    src, dst = graph.tensors[src_i], graph.tensors[dst_i]
    if src.is_constant or dst.is_variable or src.dtype != dst.dtype or src.dtype != "int8":
        return False
    rank = len(dst.shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank or len(src.shape) != rank or any(d != 1 for d in dst.shape[:axis]):
        return False
    if src.quant is None or dst.quant is None:
        return False
    return (list(src.quant.scale) == list(dst.quant.scale)
            and list(src.quant.zero_point) == list(dst.quant.zero_point))


def grown_concats(graph: Graph, persistent: frozenset[int]) -> dict[int, int]:
    """``{concat output: its persistent input 0}`` for every :func:`grows_in_place` operator
    (one per persistent input)."""
    out: dict[int, int] = {}
    for op in graph.operators:
        if grows_in_place(graph, op, persistent) and op.inputs[0] not in out.values():
            out[op.outputs[0]] = op.inputs[0]
    return out
