"""Sanity checks the .tflite reader runs on what it decoded, before anything trusts it.

Each function returns the problem as text (``None`` when there is none); the reader prefixes
the file and the tensor or operator and raises ``ReaderError``. What is refused:

- shapes with more than :data:`MAX_RANK` dimensions, a negative dimension, or more than
  :data:`MAX_TENSOR_BYTES` bytes (checked in Python integers, before anything is allocated:
  the planner's access model holds 8 bytes per element of a tensor);
- quantization with a scale that is not a finite number > 0, zero points outside the dtype's
  range or not one per scale, a per-channel axis outside the shape or a scale count that is
  not the size of that axis;
- operator options out of range: strides, dilations and filter sizes outside 1 to
  :data:`MAX_WINDOW`, an unknown padding, a float option that is not finite;
- graph structure: no operator or no output, indices outside the tensors, a graph input
  listed twice, an operator with no output, a tensor written twice, a write to a constant or
  a graph input, a read of a tensor no earlier operator wrote (not a graph input, a constant
  or a variable: this is also how a cycle shows, as the model's order is its execution
  order), a graph output nothing writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from export.ir import Graph, Quantization

MAX_RANK = 8
"""Most dimensions of a tensor (TFLite's RESHAPE takes 8; our kernels take 6)."""

MAX_TENSOR_BYTES = 16 << 20
"""Largest tensor (16 MiB): 13x the largest activation of the MCUNet models (1.2 MB), more
than the SRAM of any Cortex-M the compiler targets."""

MAX_WINDOW = 1 << 16
"""Largest stride, dilation or filter size of a window operator."""

_ZERO_POINT_RANGE: Mapping[str, tuple[int, int]] = {
    "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
}
_WINDOW_OPTIONS = ("stride_w", "stride_h", "dilation_w_factor", "dilation_h_factor",
                   "filter_width", "filter_height")


def shape_problem(shape: Sequence[int], elem_bytes: int) -> str | None:
    """What makes ``shape`` unusable, or None."""
    if len(shape) > MAX_RANK:
        return f"has {len(shape)} dimensions (at most {MAX_RANK} supported)"
    if any(d < 0 for d in shape):
        return f"shape {list(shape)} has a negative dimension"
    nbytes = math.prod(shape) * elem_bytes
    if nbytes > MAX_TENSOR_BYTES:
        return (f"shape {list(shape)} needs {nbytes} bytes, more than the {MAX_TENSOR_BYTES} "
                "a tensor may have")
    return None


def quantization_problem(q: Quantization, shape: Sequence[int], dtype: str) -> str | None:
    """What is wrong with the affine quantization ``q`` of a ``dtype`` tensor of ``shape``."""
    bad = [s for s in q.scale if not (math.isfinite(s) and s > 0)]
    if bad:
        return f"quantization scale {bad[0]} is not a finite number > 0"
    if len(q.zero_point) != len(q.scale):
        return f"{len(q.zero_point)} zero points for {len(q.scale)} scales (expected one each)"
    lo, hi = _ZERO_POINT_RANGE.get(dtype, (-(2**63), 2**63 - 1))
    off = [z for z in q.zero_point if not lo <= z <= hi]
    if off:
        return f"zero point {off[0]} is outside the {dtype} range {lo} to {hi}"
    if len(q.scale) > 1:
        if not 0 <= q.axis < len(shape):
            return (f"per-channel quantized dimension {q.axis} is outside range 0 to "
                    f"{len(shape) - 1}")
        if shape[q.axis] != len(q.scale):
            return (f"{len(q.scale)} per-channel scales for dimension {q.axis} of size "
                    f"{shape[q.axis]}")
    return None


def option_problem(options: Mapping[str, Any]) -> str | None:
    """What is wrong with an operator's decoded builtin options, or None."""
    for key in _WINDOW_OPTIONS:
        if key in options and not 1 <= int(options[key]) <= MAX_WINDOW:
            return f"option {key} = {options[key]} is outside range 1 to {MAX_WINDOW}"
    if "padding" in options and options["padding"] not in ("SAME", "VALID"):
        return f"option padding = {options['padding']} (expected SAME or VALID)"
    for key, value in options.items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"option {key} = {value} is not a finite number"
    return None


def _index_problem(graph: Graph) -> str | None:
    n = len(graph.tensors)
    for side in ("inputs", "outputs"):
        for t in getattr(graph, side):
            if not 0 <= t < n:
                return f"graph {side[:-1]} tensor index {t} is outside range 0 to {n - 1}"
    if len(set(graph.inputs)) != len(graph.inputs):
        return f"graph inputs {list(graph.inputs)} list a tensor twice"
    return None


def graph_problem(graph: Graph) -> str | None:
    """What is wrong with the dataflow of ``graph`` (operator indices already in range)."""
    problem = _index_problem(graph)
    if problem:
        return problem
    if not graph.operators or not graph.outputs:
        return (f"the graph has {len(graph.operators)} operators and {len(graph.outputs)} "
                "outputs (expected at least one of each)")
    inputs = set(graph.inputs)
    ready = inputs | {t.index for t in graph.tensors if t.is_constant or t.is_variable}
    writer: dict[int, int] = {}
    for op in graph.operators:
        head = f"operator {op.index} {op.op}"
        if not op.outputs:
            return f"{head} has no output"
        for t in op.inputs:
            if t >= 0 and t not in ready:
                name = graph.tensors[t].name
                later = "itself" if t in op.outputs else "a later operator or none"
                return (f"{head} reads tensor {t} '{name}' before it is written (written by "
                        f"{later}; not a graph input, a constant or a variable)")
        for t in op.outputs:
            tensor = graph.tensors[t] if t >= 0 else None
            if tensor is None:
                return f"{head}: output tensor index {t} is outside range 0 to {len(graph.tensors) - 1}"
            if t in writer:
                return f"{head} writes tensor {t} '{tensor.name}', already written by operator {writer[t]}"
            if tensor.is_constant or t in inputs:
                what = "a constant" if tensor.is_constant else "a graph input"
                return f"{head} writes tensor {t} '{tensor.name}', which is {what}"
            writer[t] = op.index
            ready.add(t)
    for t in graph.outputs:
        if t not in ready:
            return f"graph output tensor {t} '{graph.tensors[t].name}' is never written"
    return None
