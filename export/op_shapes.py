"""Operand counts and shapes every operator of :data:`export.tflite_reader.SUPPORTED_OPS` must
have, checked by the reader so that the planner and the code generator can trust them.

``operator_problem(graph, op, compiler=True) -> str | None`` names the first rule ``op``
breaks, as TFLite's ``Prepare`` would refuse it: too few or too many inputs or outputs, a
required input omitted, a rank the kernels do not take (more than :data:`MAX_KERNEL_RANK`) or
an empty tensor, an output shape other than the one its inputs and options give (broadcast,
window arithmetic of convolutions and pools, reductions, paddings, permutations, slices,
concatenation, packing, splitting, gathering, nearest-neighbour resizing), a permutation,
axis, padding, slice or resize size that is not a constant, a quantized SOFTMAX whose beta
and input scale TFLite's kernel refuses. Operators outside the table are not checked (TFLite
Micro may run them; the reader checked their indices). Cost: O(operands) per operator, plus
the constant operands' values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import MappingProxyType

from export.ir import Graph, IRError, Operator, Tensor
from export.slices import slice_bounds

MAX_KERNEL_RANK = 6
"""Most dimensions a kernel takes (the code generator pads shapes to FE_MAX_DIMS = 6)."""

Rule = Callable[[Graph, Sequence[Tensor], Sequence[Tensor], Operator], str | None]
"""A shape rule: (graph, inputs without omitted optional ones, outputs, operator) -> problem."""

_UNARY = ("QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU",
          "HARD_SWISH", "RSQRT", "NEG")
_BINARY = ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM")
_INTS = ("int8", "uint8", "int16", "int32", "int64")
_MAX_PARAMS = 64  # values of an axes / permutation / paddings / slice operand (rank 8: 16)


def _shape(t: Tensor) -> str:
    return f"tensor {t.index} {list(t.shape)}"


def _ints(t: Tensor, what: str) -> list[int] | str:
    """The values of a constant integer operand, or the problem."""
    if not t.is_constant:
        return f"{what} must be a constant tensor (found a run-time tensor or none)"
    if t.dtype not in _INTS:
        return f"{what} tensor {t.index} must hold integers (found {t.dtype})"
    if t.num_elements > _MAX_PARAMS:
        return f"{what} tensor {t.index} holds {t.num_elements} values (at most {_MAX_PARAMS})"
    return [int(v) for v in t.numpy().reshape(-1)]


def _axis(axis: int, rank: int, what: str = "axis") -> int | str:
    """``axis`` resolved into 0..rank-1, or the problem."""
    if not -rank <= axis < rank:
        return f"{what} {axis} is outside range {-rank} to {rank - 1} for rank {rank}"
    return axis % rank


def _one_axis(t: Tensor, rank: int) -> int | str:
    """The single axis a constant operand ``t`` names, resolved into 0..rank-1, or the problem."""
    values = _ints(t, "axis")
    if isinstance(values, str):
        return values
    if len(values) != 1:
        return f"axis {values} should be one value"
    return _axis(values[0], rank)


def _expect(out: Tensor, shape: Sequence[int], why: str) -> str | None:
    if tuple(out.shape) != tuple(shape):
        return f"output {_shape(out)} should have shape {list(shape)} ({why})"
    return None


def _same(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    return _expect(outs[0], ins[0].shape, "the shape of input 0")


def _softmax(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    """Same shape; for a quantized input, TFLite's PreprocessSoftmaxScaling needs
    beta * input scale * 2^26 > 1 (it aborts otherwise)."""
    x = ins[0]
    beta = float(op.options.get("beta", 1.0))
    if x.quant is not None and x.dtype in ("int8", "uint8", "int16"):
        real = beta * x.quant.scale[0] * (1 << 26)
        if not real > 1.0:
            return (f"beta {beta} * input scale {x.quant.scale[0]:.6g} * 2^26 = {real:.6g}; "
                    "quantized softmax needs more than 1")
    return _same(graph, ins, outs, op)


def broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """NumPy / TFLite broadcast of two shapes, or None when they do not broadcast."""
    n = max(len(a), len(b))
    pa, pb = [1] * (n - len(a)) + list(a), [1] * (n - len(b)) + list(b)
    out = []
    for x, y in zip(pa, pb, strict=True):
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return tuple(out)


def _binary(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    a, b = ins[0], ins[1]
    shape = broadcast_shape(a.shape, b.shape)
    if shape is None:
        return f"inputs {_shape(a)} and {_shape(b)} do not broadcast"
    return _expect(outs[0], shape, "the broadcast of the inputs")


def _fully_connected(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor],
                     op: Operator) -> str | None:
    x, w, bias, out = ins[0], ins[1], ins[2] if len(ins) > 2 else None, outs[0]
    if len(w.shape) != 2 or w.shape[1] < 1:
        return f"weights {_shape(w)} must be [units, depth] with depth >= 1"
    units, depth = w.shape
    if x.num_elements % depth:
        return f"input {_shape(x)} does not split into rows of depth {depth}"
    if not out.shape or out.shape[-1] != units or out.num_elements != x.num_elements // depth * units:
        return (f"output {_shape(out)} should hold {x.num_elements // depth} rows of "
                f"{units} units")
    if bias is not None and bias.num_elements != units:
        return f"bias {_shape(bias)} should hold {units} values"
    return None


def _batch_matmul(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor],
                  op: Operator) -> str | None:
    a, b, out = ins[0], ins[1], outs[0]
    for t in (a, b, out):
        if not 2 <= len(t.shape) <= 5:
            return f"{_shape(t)} must have 2 to 5 dimensions"
    ax, ay = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
    rows, depth = (a.shape[-1], a.shape[-2]) if ax else (a.shape[-2], a.shape[-1])
    depth_b, cols = (b.shape[-1], b.shape[-2]) if ay else (b.shape[-2], b.shape[-1])
    if depth != depth_b:
        return f"lhs {_shape(a)} and rhs {_shape(b)} disagree on depth ({depth} vs {depth_b})"
    batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
    if batch is None:
        return f"batch dimensions of {_shape(a)} and {_shape(b)} do not broadcast"
    return _expect(out, (*batch, rows, cols), "batch x rows x cols of the operands")


def window_out(size: int, filt: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's output size of a window operator along one axis (may be 0 or less)."""
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - (filt - 1) * dilation + stride - 1) // stride


def _window(x: Tensor, out: Tensor, filt: tuple[int, int], op: Operator,
            channels: int) -> str | None:
    o = op.options
    if len(x.shape) != 4 or len(out.shape) != 4:
        return f"input {_shape(x)} and output {_shape(out)} must be NHWC (4 dimensions)"
    strides = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dil = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    if min(*strides, *dil, *filt) < 1:
        return f"strides {strides}, dilations {dil} and filter {filt} must be at least 1"
    pad = str(o.get("padding", "VALID"))
    hw = [window_out(x.shape[1 + i], filt[i], strides[i], dil[i], pad) for i in range(2)]
    if min(hw) < 1:
        return f"the {filt} window (dilation {dil}) does not fit input {_shape(x)} ({pad})"
    return _expect(out, (x.shape[0], *hw, channels), f"{pad} window {filt}, stride {strides}")


def _conv(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x, w, bias = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    if len(w.shape) != 4 or min(w.shape) < 1:
        return f"filter {_shape(w)} must be [out_channels, height, width, depth], all >= 1"
    oc = w.shape[0] if op.op == "CONV_2D" else w.shape[3]
    if len(x.shape) == 4:
        ic = x.shape[3]
        if op.op == "CONV_2D" and ic % w.shape[3]:
            return f"input channels {ic} are not a multiple of the filter depth {w.shape[3]}"
        if op.op == "DEPTHWISE_CONV_2D" and (w.shape[0] != 1 or ic < 1 or oc % ic):
            return (f"depthwise filter {_shape(w)} must be [1, h, w, C * multiplier] for "
                    f"{ic} input channels")
    if bias is not None and bias.num_elements != oc:
        return f"bias {_shape(bias)} should hold {oc} values"
    return _window(x, outs[0], (w.shape[1], w.shape[2]), op, oc)


def _pool(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    filt = int(op.options.get("filter_height", 0)), int(op.options.get("filter_width", 0))
    channels = x.shape[-1] if x.shape else 0
    return _window(x, outs[0], filt, op, channels)


def _pad(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    pads = _ints(ins[1], "paddings")
    if isinstance(pads, str):
        return pads
    rank = len(x.shape)
    if len(pads) != 2 * rank or min(pads, default=0) < 0:
        return f"paddings {pads} should be {rank} non-negative (before, after) pairs"
    if len(ins) > 2 and ins[2].num_elements != 1:
        return f"constant value {_shape(ins[2])} should be one value"
    shape = [d + pads[2 * i] + pads[2 * i + 1] for i, d in enumerate(x.shape)]
    return _expect(outs[0], shape, f"input padded by {pads}")


def _reduce(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    axes = _ints(ins[1], "axes")
    if isinstance(axes, str):
        return axes
    rank = len(x.shape)
    if not axes or rank == 0:
        return f"axes {axes} of input {_shape(x)} reduce nothing"
    resolved = {_axis(a, rank) for a in axes}
    bad = [a for a in resolved if isinstance(a, str)]
    if bad:
        return str(bad[0])
    kept = [d for i, d in enumerate(x.shape) if i not in resolved]
    full = [1 if i in resolved else d for i, d in enumerate(x.shape)]
    if tuple(outs[0].shape) not in (tuple(kept), tuple(full)):
        return (f"output {_shape(outs[0])} should have shape {kept} or {full} (reduced over "
                f"axes {sorted(resolved)})")
    return None


def _gather(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    params, idx = ins[0], ins[1]
    if idx.dtype not in ("int32", "int64"):
        return f"indices tensor {idx.index} must be int32 or int64 (found {idx.dtype})"
    if int(op.options.get("batch_dims", 0)) != 0:
        return f"batch_dims {op.options.get('batch_dims')} is not supported (expected 0)"
    axis = _axis(int(op.options.get("axis", 0)), len(params.shape))
    if isinstance(axis, str):
        return axis
    shape = (*params.shape[:axis], *idx.shape, *params.shape[axis + 1:])
    return _expect(outs[0], shape, f"params with axis {axis} replaced by the indices' shape")


def _resize_nearest(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor],
                    op: Operator) -> str | None:
    """NHWC input, a constant int32 [height, width] size, output [N, height, width, C]."""
    x, size = ins[0], ins[1]
    if len(x.shape) != 4:
        return f"input {_shape(x)} should have 4 dimensions (NHWC)"
    if size.dtype != "int32":
        return f"size tensor {size.index} must be int32 (found {size.dtype})"
    hw = _ints(size, "size")
    if isinstance(hw, str):
        return hw
    if len(hw) != 2 or min(hw) < 1:
        return f"size {hw} should be two positive values (height, width)"
    return _expect(outs[0], (x.shape[0], *hw, x.shape[3]), f"input resized to {hw}")


def _same_count(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    if outs[0].num_elements != ins[0].num_elements:
        return (f"output {_shape(outs[0])} should hold the {ins[0].num_elements} elements of "
                f"input {_shape(ins[0])}")
    return None


def _transpose(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    perm = _ints(ins[1], "permutation")
    if isinstance(perm, str):
        return perm
    if sorted(perm) != list(range(len(x.shape))):
        return f"permutation {perm} is not a permutation of the {len(x.shape)} input axes"
    return _expect(outs[0], [x.shape[p] for p in perm], f"input permuted by {perm}")


def _slice(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    rank = len(x.shape)
    consts = [_ints(t, f"input {i}") for i, t in enumerate(ins[1:], 1)]
    bad = [c for c in consts if isinstance(c, str)]
    if bad:
        return str(bad[0])
    if len({len(c) for c in consts}) != 1 or len(consts[0]) > rank or (
            op.op == "SLICE" and len(consts[0]) != rank):
        return (f"begin/end/strides (or begin/size) {consts} need one value each per dimension "
                f"of input {_shape(x)}")
    if op.op == "STRIDED_SLICE" and 0 in consts[2]:
        return f"strides {consts[2]} must not be 0"
    if op.op == "SLICE" and any(b < 0 or b > d or (s >= 0 and b + s > d) or s < -1
                                for b, s, d in zip(consts[0], consts[1], x.shape, strict=True)):
        return f"begin {consts[0]} and size {consts[1]} select outside input {_shape(x)}"
    try:
        begin, end, step = slice_bounds(graph, op)
    except IRError as e:
        return str(e).split(": ", 2)[-1]
    count = math.prod(len(range(b, e, s)) for b, e, s in zip(begin, end, step, strict=True))
    if count != outs[0].num_elements:
        return f"output {_shape(outs[0])} should hold the {count} selected elements"
    return None


def _concat(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    out = outs[0]
    axis = _axis(int(op.options.get("axis", 0)), len(out.shape))
    if isinstance(axis, str):
        return axis
    total = 0
    for t in ins:
        if len(t.shape) != len(out.shape) or any(
                d != e for i, (d, e) in enumerate(zip(t.shape, out.shape, strict=True)) if i != axis):
            return f"input {_shape(t)} does not match output {_shape(out)} off axis {axis}"
        total += t.shape[axis]
    if total != out.shape[axis]:
        return f"output {_shape(out)} should have {total} along axis {axis} (the inputs' sum)"
    return None


def _pack(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    first = ins[0]
    if any(t.shape != first.shape for t in ins):
        return f"inputs {[list(t.shape) for t in ins]} must all have one shape"
    axis = _axis(int(op.options.get("axis", 0)), len(first.shape) + 1)
    if isinstance(axis, str):
        return axis
    shape = list(first.shape)
    shape.insert(axis, len(ins))
    return _expect(outs[0], shape, f"{len(ins)} inputs stacked along axis {axis}")


def _unpack(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    axis = _axis(int(op.options.get("axis", 0)), len(x.shape))
    if isinstance(axis, str):
        return axis
    if len(outs) != x.shape[axis]:
        return f"{len(outs)} outputs, expected {x.shape[axis]} (input {_shape(x)} axis {axis})"
    shape = [d for i, d in enumerate(x.shape) if i != axis]
    return next((p for t in outs if (p := _expect(t, shape, f"input without axis {axis}"))), None)


def _split(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[1]
    axis = _one_axis(ins[0], len(x.shape))
    if isinstance(axis, str):
        return axis
    n = len(outs)
    if int(op.options.get("num_splits", n)) != n or x.shape[axis] % n:
        return (f"input {_shape(x)} does not split into {n} outputs along axis {axis} "
                f"(num_splits {op.options.get('num_splits')})")
    shape = [d // n if i == axis else d for i, d in enumerate(x.shape)]
    return next((p for t in outs if (p := _expect(t, shape, f"1/{n} of axis {axis}"))), None)


def _arg_max(graph: Graph, ins: Sequence[Tensor], outs: Sequence[Tensor], op: Operator) -> str | None:
    x = ins[0]
    axis = _one_axis(ins[1], len(x.shape))
    if isinstance(axis, str):
        return axis
    if outs[0].dtype not in ("int32", "int64"):
        return f"output tensor {outs[0].index} must be int32 or int64 (found {outs[0].dtype})"
    return _expect(outs[0], [d for i, d in enumerate(x.shape) if i != axis], f"input without axis {axis}")


_MANY = 1 << 16
_RULES: dict[str, tuple[tuple[int, int, int, int], tuple[int, ...], Rule]] = {
    # op: ((min inputs, max inputs, min outputs, max outputs), optional input positions, rule)
    **{op: ((1, 1, 1, 1), (), _same) for op in _UNARY},
    "SOFTMAX": ((1, 1, 1, 1), (), _softmax),
    **{op: ((2, 2, 1, 1), (), _binary) for op in _BINARY},
    "FULLY_CONNECTED": ((2, 3, 1, 1), (2,), _fully_connected),
    "BATCH_MATMUL": ((2, 2, 1, 1), (), _batch_matmul),
    "CONV_2D": ((2, 3, 1, 1), (2,), _conv),
    "DEPTHWISE_CONV_2D": ((2, 3, 1, 1), (2,), _conv),
    "AVERAGE_POOL_2D": ((1, 1, 1, 1), (), _pool),
    "MAX_POOL_2D": ((1, 1, 1, 1), (), _pool),
    "PAD": ((2, 2, 1, 1), (), _pad),
    "PADV2": ((2, 3, 1, 1), (2,), _pad),
    "MEAN": ((2, 2, 1, 1), (), _reduce),
    "SUM": ((2, 2, 1, 1), (), _reduce),
    "GATHER": ((2, 2, 1, 1), (), _gather),
    "RESIZE_NEAREST_NEIGHBOR": ((2, 2, 1, 1), (), _resize_nearest),
    "RESHAPE": ((1, 2, 1, 1), (1,), _same_count),
    "SQUEEZE": ((1, 1, 1, 1), (), _same_count),
    "EXPAND_DIMS": ((2, 2, 1, 1), (), _same_count),
    "TRANSPOSE": ((2, 2, 1, 1), (), _transpose),
    "STRIDED_SLICE": ((4, 4, 1, 1), (), _slice),
    "SLICE": ((3, 3, 1, 1), (), _slice),
    "CONCATENATION": ((1, _MANY, 1, 1), (), _concat),
    "PACK": ((1, _MANY, 1, 1), (), _pack),
    "UNPACK": ((1, 1, 1, _MANY), (), _unpack),
    "SPLIT": ((2, 2, 1, _MANY), (), _split),
    "ARG_MAX": ((2, 2, 1, 1), (), _arg_max),
}
RULES = MappingProxyType(_RULES)
"""Operator -> (operand counts, optional input positions, shape rule)."""


def _count(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo} or more" if hi == _MANY else f"{lo} to {hi}"


def operator_problem(graph: Graph, op: Operator, *, compiler: bool = True) -> str | None:
    """What is wrong with ``op``'s operands (indices already checked in range), or None.
    ``compiler=False`` (a model for TFLite Micro) drops what only our kernels need: at most
    :data:`MAX_KERNEL_RANK` dimensions, no empty tensor, GATHER's batch_dims 0."""
    entry = RULES.get(op.op)
    if entry is None:
        return None
    (lo_in, hi_in, lo_out, hi_out), optional, rule = entry
    if not (lo_in <= len(op.inputs) <= hi_in and lo_out <= len(op.outputs) <= hi_out):
        return (f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs (expected "
                f"{_count(lo_in, hi_in)} inputs and {_count(lo_out, hi_out)} outputs)")
    missing = [i for i, t in enumerate(op.inputs) if t < 0 and i not in optional]
    if missing:
        return f"input {missing[0]} is omitted (-1) but required"
    ins = [graph.tensors[t] for t in op.inputs if t >= 0]  # omitted ones are trailing
    outs = [graph.tensors[t] for t in op.outputs]
    if not compiler and op.op == "GATHER" and int(op.options.get("batch_dims", 0)) != 0:
        return None
    for t in (*ins, *outs):
        if compiler and len(t.shape) > MAX_KERNEL_RANK:
            return f"{_shape(t)} has more than {MAX_KERNEL_RANK} dimensions"
        if compiler and t.num_elements == 0:
            return f"{_shape(t)} has no elements (the kernels need at least one)"
    return rule(graph, ins, outs, op)
