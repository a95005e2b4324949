"""Exact int8 arithmetic for the encoder's keypoint front end (the motion features).

:func:`edge.model.encoder.motion_features` turns the raw keypoints (int8, scale ``s``) into
positions ``K·x + offset`` and gated velocities ``clip(g·(x_t − x_{t−1}), −1, 1) · conf``.
The converter calibrates every intermediate on its observed range, and those scales do not
fit the input's lattice: the frame difference came out at ~2 ``s`` a step, so a one-step move
(the commonest fingertip motion) was rounded to 0 or 2 steps, and the positions went through a
~3 ``s`` step before their ADD. The velocity channel lost most of its signal, and the encoder's
memory ended 30 % (rms) off the float model's (the int8 teacher-forced agreement fell to 77 %).

This pass re-pins those scales so that the front end is exact integer arithmetic on the
input's codes:

* ``D = SUB(raw, raw)`` (both operands views of the input) -> scale ``s``, zero point 0: every
  difference of two codes is represented exactly (|Δ| ≤ 127 steps; larger ones saturate, which
  the clip after it hides as long as ``127·s·g ≥ 1``, checked);
* ``V = MUL(D, g)`` with its fused clip to ±1 -> scale ``g·s/m`` (``m = ⌊127·g·s⌋``): every
  ``g·Δ`` is a whole number of steps;
* ``P = MUL(raw, K)`` -> scale ``K·s`` with the input's zero point: the input's codes unchanged;
* the concatenation's group (positions and gated velocities) -> scale ``K·s``, so positions
  keep their lattice (a constant sub-step offset from ``offset`` aside).

Rescaling consumers compute their multipliers from the tensors' scales at prepare time (as for
:mod:`export.int8.pin`), so the edited model is still plain TFLite int8 arithmetic: LiteRT,
TFLite Micro and the generated C all run it as it is. Models without the pattern (no motion
features) pass through unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from export.int8.errors import ExportError
from export.int8.flat import op_name, pack, tensor_quant, unpack
from export.int8.pin import _set_group

VIEW_OPS = ("STRIDED_SLICE", "RESHAPE", "SLICE")
"""Operators whose output is the same codes as their input (a view of the raw keypoints)."""

RELU_N1_TO_1 = 2
"""TFLite ``ActivationFunctionType`` of a fused clip to [-1, 1]."""


def _constant(model: Any, t: Any) -> np.ndarray | None:
    """Real values of a constant int8 tensor (None for an activation)."""
    buf = model.buffers[int(t.buffer)] if int(t.buffer) > 0 else None
    if buf is None or buf.data is None or not len(buf.data):
        return None
    scale, zp = tensor_quant(t)
    return (np.frombuffer(bytes(buf.data), np.int8).astype(np.float64) - zp) * scale


def _uniform(values: np.ndarray | None) -> float | None:
    """The one value of a constant whose entries are all equal, else None."""
    if values is None or not values.size or not np.allclose(values, values.flat[0], rtol=1e-6):
        return None
    return float(values.flat[0])


def _covering_zero_point(lo: float, scale: float) -> int:
    return int(np.clip(round(-128 - lo / scale), -128, 127))


def exact_keypoint_front(flat: bytes, *, where: str) -> bytes:
    """``flat`` with the motion-feature front end pinned to the input's lattice (module doc)."""
    model = unpack(flat, where)
    sg = model.subgraphs[0]
    ops = [(op_name(model, op), op) for op in sg.operators or []]
    source = int(sg.inputs[0])
    s, z = tensor_quant(sg.tensors[source])
    raw = {source}
    for name, op in ops:  # operators are stored in execution order
        if name in VIEW_OPS and int(op.inputs[0]) in raw:
            raw.add(int(op.outputs[0]))
    diffs = [op for name, op in ops if name == "SUB" and all(int(i) in raw for i in op.inputs)]
    if not s or not diffs:
        return flat
    for op in diffs:
        _pin_velocity(model, ops, op, s, where)
    _pin_positions(model, ops, raw, s, z, where)
    return pack(model)


def _by_constant(model: Any, op: Any, operand: int) -> float | None:
    """The uniform constant ``op`` (a MUL) multiplies ``operand`` by, else None."""
    ins = [int(i) for i in op.inputs]
    if operand not in ins or len(ins) != 2:
        return None
    other = ins[1 - ins.index(operand)]
    return _uniform(_constant(model, model.subgraphs[0].tensors[other]))


def _consumers(ops: list[tuple[str, Any]], kind: str, tensor: int) -> list[Any]:
    return [op for name, op in ops if name == kind and tensor in [int(i) for i in op.inputs]]


def _pin_velocity(model: Any, ops: list[tuple[str, Any]], sub: Any, s: float, where: str) -> None:
    d = int(sub.outputs[0])
    muls = _consumers(ops, "MUL", d)
    gain = _by_constant(model, muls[0], d) if len(muls) == 1 else None
    if gain is None or muls[0].builtinOptions.fusedActivationFunction != RELU_N1_TO_1:
        raise ExportError(f"{where}: keypoint front end: the frame difference (tensor {d}) must feed "
                          "exactly one MUL by a constant gain with a fused clip to [-1, 1] "
                          f"(edge.model.encoder.motion_features); found {len(muls)} MUL consumer(s)")
    g = abs(gain)
    steps = max(1, math.ceil(1.0 / (127 * s * g)))  # difference steps kept before the clip
    _set_group(model, d, s * steps, 0, where)
    m = max(1, math.floor(127 * s * steps * g))
    _set_group(model, int(muls[0].outputs[0]), g * s * steps / m, 0, where)


def _pin_positions(model: Any, ops: list[tuple[str, Any]], raw: set[int], s: float, z: int,
                   where: str) -> None:
    sg = model.subgraphs[0]
    for name, op in ops:
        if name != "MUL" or int(op.inputs[0]) not in raw:
            continue
        k = _by_constant(model, op, int(op.inputs[0]))
        if k is None or k <= 0:
            continue
        p = int(op.outputs[0])
        _set_group(model, p, k * s, z, where)
        for add in _consumers(ops, "ADD", p):
            for cat in _consumers(ops, "CONCATENATION", int(add.outputs[0])):
                scale, zp = tensor_quant(sg.tensors[int(cat.outputs[0])])
                lo = (-128 - zp) * scale
                _set_group(model, int(cat.outputs[0]), k * s, _covering_zero_point(lo, k * s), where)
