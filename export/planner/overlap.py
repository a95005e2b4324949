"""Partial overlap ("sliding") of an operator's output over its dying input 0.

The rule: when input 0's storage dies at operator k, k's output may start ``shift`` bytes
BELOW input 0 (``offset(input) - offset(output) = shift``) and overlap the input's front, as
long as ``shift >= min_shift(graph, op)``; any shift >= the output size is plain disjointness.

How ``min_shift`` is derived (assumptions on the kernels in ``edge/kernels``, checked by the
bit-exact tests in ``tests/export/test_planner_overlap.py``):

- The kernel is a sequence of events in a fixed order. Event j reads some input bytes (its
  lowest is ``r_j``), then writes one output element at byte ``w_j``; nothing is written before
  the reads of its own element, and no input byte is read again after the element that
  needs it was written. For every operator handled here the events are the output elements in
  NHWC raster order (channels innermost), as the loops of ``fe_conv2d``,
  ``fe_depthwise_conv2d``, ``fe_fully_connected``, ``fe_*_pool``, ``fe_mean``,
  ``fe_batch_matmul``, ``FE_BCAST_LOOP``, the unary ``size`` loops, ``softmax_row`` (the row is
  read by its first two passes before any write) and ``fe_copy_nd`` (TRANSPOSE; its
  ``memmove`` of a contiguous run reads the run before writing it, which is only safer).
- Writing element j lands on input byte ``w_j - shift``; it is safe when every byte written so
  far lies below every input byte still to be read:
  ``shift >= max_j (max_{i<=j} (w_i + elem_bytes) - min_{i>j} r_i)``  (= ``min_shift``).
  The minimum over no remaining events is the input's size.
- A kernel whose order differs (output channels outermost, several output rows at once with
  reads of later rows after writes of earlier ones, ...) breaks this: the bit-exact tests of
  planned models then differ from tflite-micro, and the operator must leave this table.

Operators: elementwise unary (the ``size`` loops), broadcast binary (input 0 broadcast over
the output), SOFTMAX, FULLY_CONNECTED (rows), CONV_2D and DEPTHWISE_CONV_2D (windows; stride,
padding, dilation), AVERAGE/MAX_POOL_2D, MEAN/SUM, TRANSPOSE, BATCH_MATMUL (input 0 = lhs).
DEPTHWISE_CONV_2D never gets shift 0 (equal offsets select the in-place kernel). Anything else:
``None`` (no overlap). Cost O(output elements) with numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from export.ir import DTYPE_BYTES, Graph, Operator, Tensor

_BIG = np.iinfo(np.int64).max // 4

UNARY_OPS: frozenset[str] = frozenset(
    {"QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
     "RSQRT", "NEG", "SOFTMAX"})
"""Operators whose element i reads input element i only (softmax: see the module docstring)."""

BINARY_OPS: frozenset[str] = frozenset(
    {"ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"})
"""Broadcast elementwise operators (``FE_BCAST_LOOP``: output raster order)."""


def _tensor(graph: Graph, op: Operator, i: int) -> Tensor | None:
    return graph.tensors[op.inputs[i]] if len(op.inputs) > i and op.inputs[i] >= 0 else None


def _first_read(shape: tuple[int, ...], bytes_per: int) -> np.ndarray:
    """Byte address of each element of a C-order array of ``shape``."""
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape) * bytes_per


def _unary(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    if src.num_elements != dst.num_elements:
        return None
    return _first_read(src.shape, DTYPE_BYTES[src.dtype]).reshape(-1)


def _binary(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    if len(src.shape) > len(dst.shape):
        return None
    shape = (1,) * (len(dst.shape) - len(src.shape)) + tuple(src.shape)
    try:
        reads = np.broadcast_to(_first_read(shape, DTYPE_BYTES[src.dtype]), dst.shape)
    except ValueError:
        return None
    return reads.reshape(-1)


def _fully_connected(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    w = _tensor(graph, op, 1)
    if w is None or len(w.shape) != 2 or src.num_elements % w.shape[1]:
        return None
    depth, rows = w.shape[1], src.num_elements // w.shape[1]
    if dst.num_elements != rows * w.shape[0]:
        return None
    return np.repeat(np.arange(rows, dtype=np.int64) * depth * DTYPE_BYTES[src.dtype], w.shape[0])


def same_pad(padding: str, stride: int, dilation: int, in_size: int, filt: int, out_size: int) -> int:
    """TFLite's ComputePadding: SAME padding before the first element (0 for VALID)."""
    if padding != "SAME":
        return 0
    return max(0, int(((out_size - 1) * stride + (filt - 1) * dilation + 1 - in_size) / 2))


PADS_OPTION = "fe_pads"
"""Window operator option a folded PAD leaves (:mod:`export.planner.fold_pad`): explicit
(top, bottom, left, right) padding, read with ``padding`` VALID."""


def window_pad(o: Mapping[str, Any], axis: str, in_size: int, filt: int, out_size: int) -> int:
    """Padding before the first row (``axis`` "h") or column ("w") of a window operator: a
    band's ``fe_pad_h`` (rows above its first input row), a folded PAD's ``fe_pads``, else
    TFLite's SAME / VALID (:func:`same_pad`). The padding after is implied: the kernels clip
    every tap to the input and take the output size from the output tensor. The code
    generator, the access model and the band rewrite all use this one."""
    if axis == "h" and "fe_pad_h" in o:
        return int(o["fe_pad_h"])
    if PADS_OPTION in o:
        return int(o[PADS_OPTION][0 if axis == "h" else 2])
    stride, dil = int(o.get(f"stride_{axis}", 1)), int(o.get(f"dilation_{axis}_factor", 1))
    return same_pad(str(o.get("padding", "VALID")), stride, dil, in_size, filt, out_size)


def _first_tap(out_n: int, in_n: int, stride: int, pad: int, filt: int, dil: int) -> np.ndarray:
    """Lowest valid input coordinate of each output coordinate's window (_BIG when none)."""
    start = np.arange(out_n, dtype=np.int64) * stride - pad
    k = np.maximum(0, -(start // dil))  # first tap index with start + k*dil >= 0 (ceil)
    first = start + k * dil
    return np.where((k < filt) & (first < in_n), first, _BIG)


def _windowed(src: Tensor, dst: Tensor, o: dict, filt: tuple[int, int], *,
              channel_reads: str) -> np.ndarray | None:
    """Lowest input byte read by each output element of a 2-D window operator (batch loop
    outermost), ``channel_reads``: "all" (conv: every input channel), "same" (pool: the
    output's channel), "depthwise" (the output channel's input channel)."""
    if len(src.shape) != 4 or len(dst.shape) != 4 or src.shape[0] != dst.shape[0]:
        return None
    b, ih, iw, ic = src.shape
    _, oh, ow, oc = dst.shape
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    ys = _first_tap(oh, ih, sh, window_pad(o, "h", ih, filt[0], oh), filt[0], dh)
    xs = _first_tap(ow, iw, sw, window_pad(o, "w", iw, filt[1], ow), filt[1], dw)
    pix = np.where((ys[:, None] < _BIG) & (xs[None, :] < _BIG),
                   (ys[:, None] * iw + xs[None, :]) * ic, _BIG)
    if channel_reads == "all":
        chan = np.zeros(oc, dtype=np.int64)
    elif channel_reads == "same" and oc == ic:
        chan = np.arange(oc, dtype=np.int64)
    elif channel_reads == "depthwise" and oc % ic == 0:
        chan = np.arange(oc, dtype=np.int64) // (oc // ic)
    else:
        return None
    per = np.minimum(pix[:, :, None] + chan[None, None, :], _BIG)
    batch = np.arange(b, dtype=np.int64)[:, None, None, None] * (ih * iw * ic)
    return np.minimum(per[None] + batch, _BIG).reshape(-1)


def _conv(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    w = _tensor(graph, op, 1)
    if w is None or len(w.shape) != 4 or src.dtype != "int8":
        return None
    mode = "depthwise" if op.op == "DEPTHWISE_CONV_2D" else "all"
    return _windowed(src, dst, dict(op.options), (w.shape[1], w.shape[2]), channel_reads=mode)


def _pool(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    o = dict(op.options)
    if "filter_height" not in o or src.dtype != "int8":
        return None
    filt = (int(o["filter_height"]), int(o["filter_width"]))
    return _windowed(src, dst, {**o, "dilation_h_factor": 1, "dilation_w_factor": 1}, filt,
                     channel_reads="same")


def _reduce(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    axes_t = _tensor(graph, op, 1)
    if axes_t is None or not axes_t.is_constant or not src.shape:
        return None
    axes = sorted({int(a) % len(src.shape) for a in axes_t.numpy().reshape(-1)})
    keep = [i for i in range(len(src.shape)) if i not in axes]
    idx = _first_read(src.shape, DTYPE_BYTES[src.dtype]).transpose(keep + axes)
    reads = idx.reshape(*[src.shape[i] for i in keep], -1).min(axis=-1).reshape(-1)
    return reads if reads.size == dst.num_elements else None


def _transpose(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    perm_t = _tensor(graph, op, 1)
    if perm_t is None or not perm_t.is_constant:
        return None
    perm = [int(p) for p in perm_t.numpy().reshape(-1)]
    if sorted(perm) != list(range(len(src.shape))):
        return None
    return _first_read(src.shape, DTYPE_BYTES[src.dtype]).transpose(perm).reshape(-1)


def _batch_matmul(graph: Graph, op: Operator, src: Tensor, dst: Tensor) -> np.ndarray | None:
    rhs = _tensor(graph, op, 1)
    if rhs is None or len(src.shape) < 2 or len(dst.shape) < 2 or src.dtype != "int8":
        return None
    lhs = _first_read(src.shape, 1)
    if bool(op.options.get("adj_x", False)):
        lhs = np.swapaxes(lhs, -1, -2)
    rows = lhs.min(axis=-1)  # (..., rows): lowest byte of each lhs row
    cols = dst.shape[-1]
    try:
        rows = np.broadcast_to(rows, (*dst.shape[:-2], rows.shape[-1]))
    except ValueError:
        return None
    return np.repeat(rows[..., None], cols, axis=-1).reshape(-1)


_READS: dict[str, Callable[[Graph, Operator, Tensor, Tensor], np.ndarray | None]] = {
    **dict.fromkeys(UNARY_OPS, _unary), **dict.fromkeys(BINARY_OPS, _binary),
    "FULLY_CONNECTED": _fully_connected, "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv,
    "AVERAGE_POOL_2D": _pool, "MAX_POOL_2D": _pool, "MEAN": _reduce, "SUM": _reduce,
    "TRANSPOSE": _transpose, "BATCH_MATMUL": _batch_matmul,
}


def slide_ops() -> frozenset[str]:
    """Operators with an access model (others never overlap their input)."""
    return frozenset(_READS)


def min_shift(graph: Graph, op: Operator,
              offsets: Mapping[int, int] | None = None) -> int | None:
    """Least bytes the output must start below input 0 (see the module docstring); ``None``
    when ``op`` has no access model. Negative: the output may start inside the input.
    ``offsets``: byte offset of each aliased tensor inside its storage root; the shift is then
    measured from input 0's root (a slice view read at an offset: the root's bytes before the
    view are dead too, so the output may start that much lower)."""
    fn = _READS.get(op.op)
    if fn is None or len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
        return None
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if src.is_constant or dst.num_elements == 0:
        return None
    reads = fn(graph, op, src, dst)
    if reads is None or reads.size != dst.num_elements:
        return None
    ob = DTYPE_BYTES[dst.dtype]
    write_end = np.arange(1, reads.size + 1, dtype=np.int64) * ob  # raster: already a prefix max
    later = np.minimum.accumulate(reads[::-1])[::-1]  # min over events >= j
    next_read = np.append(later[1:], src.nbytes)
    shift = int(np.max(write_end - np.minimum(next_read, src.nbytes)))
    shift = max(shift, 1) if op.op == "DEPTHWISE_CONV_2D" else shift
    return shift - (offsets or {}).get(op.inputs[0], 0)


def overlap_allowance(graph: Graph, op: Operator, alignment: int = 1) -> int:
    """Most bytes ``op``'s output may share with input 0 (both aligned to ``alignment``): the
    overlap at the least allowed shift, 0 when the op has no access model."""
    shift = min_shift(graph, op)
    if shift is None:
        return 0
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    return allowance_for(shift, _align(src.nbytes, alignment), _align(dst.nbytes, alignment),
                         alignment)


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def allowance_for(shift: int, in_size: int, out_size: int, alignment: int) -> int:
    """Largest overlap of an output of ``out_size`` bytes and an input of ``in_size`` bytes at
    an aligned shift >= ``shift`` (overlap(D) = min(in, out - D) for D >= 0, min(in + D, out)
    below; the best D is max(shift rounded up, 0))."""
    d = max(_align(shift, alignment), 0)
    return max(0, min(in_size, out_size - d))


def slide_pairs(graph: Graph, order: Sequence[int], roots: Mapping[int, int],
                persistent: frozenset[int],
                offsets: Mapping[int, int] | None = None) -> dict[int, tuple[int, int, int]]:
    """Schedule position -> (input 0 storage root, output tensor, min shift) of every
    operator whose output may slide over its input: the op has an access model, one output
    that owns its storage (no alias) in the arena, input 0's storage is an arena tensor read
    by no other input of the op and last read at this step (not a graph output). Graph inputs
    may be slid over: their bytes are dead after their last reader either way. ``offsets``: as
    :func:`min_shift`'s (the shifts are from input 0's storage root)."""
    last: dict[int, int] = {}
    for step, k in enumerate(order):
        for t in graph.operators[k].inputs:
            if t >= 0:
                last[roots.get(t, t)] = step
    outs = {roots.get(t, t) for t in graph.outputs}
    prod = graph.producers()
    found: dict[int, tuple[int, int, int]] = {}
    for step, k in enumerate(order):
        op = graph.operators[k]
        if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
            continue
        dst, src = op.outputs[0], roots.get(op.inputs[0], op.inputs[0])
        if dst in roots or src == dst or src in outs or last.get(src) != step:
            continue
        if any(_fixed(graph, t, persistent) for t in (dst, src)):
            continue
        if any(t >= 0 and roots.get(t, t) == src for t in op.inputs[1:]):
            continue
        if _strided(graph, op.inputs[0], roots, prod):  # the access model assumes row-major input
            continue
        shift = min_shift(graph, op, offsets)
        if shift is not None:
            found[step] = (src, dst, shift)
    return found


def _strided(graph: Graph, t: int, roots: Mapping[int, int], prod: Mapping[int, int]) -> bool:
    """True when tensor ``t`` is a TRANSPOSE the plan reads in place (a TRANSPOSE output is only
    ever aliased as a strided view, and only BATCH_MATMUL reads one, so no chain to follow)."""
    return t in roots and t in prod and graph.operators[prod[t]].op == "TRANSPOSE"


def _fixed(graph: Graph, t: int, persistent: frozenset[int]) -> bool:
    tensor = graph.tensors[t]
    return t in persistent or tensor.is_constant or tensor.is_variable or tensor.nbytes == 0
