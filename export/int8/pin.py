"""Make a tensor that is passed on share its quantization on both sides (int8 bytes copy as-is).

Two hand-overs exist: the decoder step's new K/V rows -> its cache inputs at the next step,
and the encoder's cross K/V outputs -> the decoder step's cross inputs. Choice (documented in
the README): *pin the receiving input's quantization to the sending output's*, so the device
copies int8 bytes with no requantization.

* Cache rows: TFLite's int8 CONCATENATION needs one scale on all its operands, so the converter
  already gives ``cache_k{i}`` (an operand of the concat) the scale of ``new_k{i}`` (the other
  operand, which is also the output). :func:`verify_handover` proves it for every pair.
* Cross K/V: two separate conversions calibrate the two sides independently (close, not equal).
  :func:`pin_inputs` rewrites the decoder's input tensor and every tensor tied to it by a
  same-scale operator (RESHAPE, TRANSPOSE, CONCATENATION ... — TFLite requires equal scales
  there) to the encoder's (scale, zero point). Consumers that rescale (BATCH_MATMUL,
  FULLY_CONNECTED) compute their multipliers from the tensors' scales at prepare time, so
  the edited model stays exact integer arithmetic. Constants in a group are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from export.int8.errors import ExportError
from export.int8.flat import IOTensor, edit_model, model_io, op_name

SAME_SCALE_OPS: Mapping[str, tuple[int, ...]] = {
    "RESHAPE": (0,), "SQUEEZE": (0,), "EXPAND_DIMS": (0,), "TRANSPOSE": (0,),
    "STRIDED_SLICE": (0,), "SLICE": (0,), "GATHER": (0,), "PAD": (0,), "PADV2": (0,),
    "MAX_POOL_2D": (0,), "CONCATENATION": (), "PACK": (), "UNPACK": (0,),
}  # fmt: skip
"""Operators whose listed inputs (empty: all) and outputs must share one quantization."""


def _find(parent: dict[int, int], i: int) -> int:
    while parent.setdefault(i, i) != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def scale_groups(model: Any) -> dict[int, int]:
    """Union-find map tensor -> group root over subgraph 0's same-scale operators."""
    parent: dict[int, int] = {}
    for op in model.subgraphs[0].operators or []:
        which = SAME_SCALE_OPS.get(op_name(model, op))
        if which is None:
            continue
        ins = [int(t) for t in op.inputs if int(t) >= 0]
        tied = ins if not which else [ins[k] for k in which]
        for t in (*tied, *[int(o) for o in op.outputs]):
            parent[_find(parent, t)] = _find(parent, tied[0])
    return parent


def _set_group(model: Any, tensor: int, scale: float, zero_point: int, where: str) -> None:
    sg = model.subgraphs[0]
    parent = scale_groups(model)
    root = _find(parent, tensor)
    for i, t in enumerate(sg.tensors):
        if _find(parent, i) != root:
            continue
        buf = model.buffers[int(t.buffer)] if int(t.buffer) > 0 else None
        if buf is not None and buf.data is not None and len(buf.data):
            raise ExportError(f"{where}: cannot pin tensor {tensor}: its scale group holds the "
                              f"constant tensor {i} '{t.name!r}' (expected activations only)")
        t.quantization.scale = np.array([scale], np.float32)
        t.quantization.zeroPoint = np.array([zero_point], np.int64)


def pin_inputs(flat: bytes, targets: Mapping[str, IOTensor], *, where: str) -> bytes:
    """``flat`` with each named input (and its same-scale group) given ``targets[name]``'s quant."""
    io = model_io(flat, where)
    missing = sorted(set(targets) - set(io.inputs))
    if missing:
        raise ExportError(f"{where}: cannot pin inputs {missing}: not among the model's inputs "
                          f"{sorted(io.inputs)}")

    def edit(model: Any) -> None:
        for name, src in targets.items():
            _set_group(model, io.inputs[name].tensor, src.scale, src.zero_point, where)

    return edit_model(flat, edit)


def verify_handover(sender: Mapping[str, IOTensor], receiver: Mapping[str, IOTensor],
                    pairs: Mapping[str, str], *, where: str) -> None:
    """Raise :class:`ExportError` unless each ``receiver[in]`` has ``sender[out]``'s quantization."""
    for out_name, in_name in pairs.items():
        a, b = sender[out_name], receiver[in_name]
        if (a.dtype, a.scale, a.zero_point) != (b.dtype, b.scale, b.zero_point):
            raise ExportError(
                f"{where}: '{out_name}' -> '{in_name}' cannot be copied byte for byte: expected "
                f"{b.dtype} scale {b.scale:.9g} zero point {b.zero_point}, found {a.dtype} "
                f"scale {a.scale:.9g} zero point {a.zero_point}"
            )
