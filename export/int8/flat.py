"""Raw views of a .tflite flatbuffer the export needs before (or instead of) ``read_tflite``.

``read_tflite`` refuses unsupported operators, so the gate and the I/O binding read the
flatbuffer themselves with the schema bindings shipped by ai-edge-litert:

* :func:`model_io` binds the signature's names (``keypoints``, ``cache_k0``, ``logits`` ...)
  to subgraph I/O positions and quantization — the .tflite order is not the Keras order.
* :func:`operators` lists every operator with the dtypes and names of its tensors.
* :func:`edit_model` rewrites a model through the object API (used to pin quantization).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from export.int8.errors import ExportError

_TYPE_NAMES = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}


@dataclass(frozen=True)
class IOTensor:
    """One model input or output, bound by its signature name."""

    name: str  # signature key (the Keras input/output name)
    position: int  # index among the subgraph's inputs (or outputs)
    tensor: int  # tensor index in the subgraph
    dtype: str  # numpy dtype name: int8, int32, float32 ...
    shape: tuple[int, ...]  # static shape
    scale: float  # quantization scale (0.0 when not quantized)
    zero_point: int  # quantization zero point

    @property
    def quantized(self) -> bool:
        """True for an affine-quantized integer tensor."""
        return self.scale > 0.0

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Real values -> this tensor's dtype, with TFLite QUANTIZE's arithmetic.

        ``clamp(round(float32(x) / float32(scale)) + zero_point)`` with ``round`` half away
        from zero — the rounding is :func:`firmware_bridge.sources.round_half_away`, the one
        the board path's :func:`edge.quantize.quantize_frame` uses (keypoint frames
        go through ``quantize_frame`` itself, see :func:`export.host_decode.quantize_keypoints`).
        """
        from edge.quantize import round_half_away

        if not self.quantized:
            return np.asarray(x).astype(self.dtype)
        info = np.iinfo(self.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = np.asarray(x, np.float32) / np.float32(self.scale)
        q = round_half_away(scaled) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """This tensor's values -> float32 reals."""
        if not self.quantized:
            return np.asarray(q, np.float32)
        return ((np.asarray(q, np.float32) - self.zero_point) * self.scale).astype(np.float32)


@dataclass(frozen=True)
class ModelIO:
    """Inputs and outputs of a model's first signature, by name."""

    inputs: dict[str, IOTensor]  # signature input name -> tensor
    outputs: dict[str, IOTensor]  # signature output name -> tensor


@dataclass(frozen=True)
class OpRecord:
    """One operator, with what the gate needs to judge it and to name its origin."""

    index: int  # operator index in the subgraph
    op: str  # builtin name, or CUSTOM:<code>
    inputs: tuple[tuple[str, str], ...]  # (tensor name, dtype) of each non-optional input
    outputs: tuple[tuple[str, str], ...]  # (tensor name, dtype) of each output


def unpack(flat: bytes, where: str = "<model>") -> Any:
    """The object-API ``ModelT`` of ``flat``; :class:`ExportError` on junk."""
    if len(flat) < 8 or flat[4:8] != b"TFL3":
        raise ExportError(f"{where}: not a .tflite flatbuffer (identifier {flat[4:8]!r}, expected b'TFL3')")
    return fb.ModelT.InitFromPackedBuf(flat, 0)


def pack(model: Any) -> bytes:
    """Serialise a ``ModelT`` back to .tflite bytes."""
    import flatbuffers

    b = flatbuffers.Builder(1 << 16)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def edit_model(flat: bytes, edit: Callable[[Any], None]) -> bytes:
    """``flat`` re-serialised after ``edit(ModelT)`` changed it in place."""
    model = unpack(flat)
    edit(model)
    return pack(model)


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x or "")


def tensor_name(t: Any) -> str:
    """The name of a flatbuffer tensor (object API ``TensorT``) as text."""
    return _text(t.name)


def tensor_quant(t: Any) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized ``TensorT``; (0.0, 0) when it is not
    quantized or quantized per channel."""
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        return 0.0, 0
    zp = int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0
    return float(q.scale[0]), zp


def _io(sg: Any, maps: Any, order: list[int]) -> dict[str, IOTensor]:
    out = {}
    for m in maps or []:
        idx = int(m.tensorIndex)
        t = sg.tensors[idx]
        scale, zp = tensor_quant(t)
        out[_text(m.name)] = IOTensor(
            name=_text(m.name), position=order.index(idx), tensor=idx,
            dtype=_TYPE_NAMES.get(t.type, str(t.type)), scale=scale, zero_point=zp,
            shape=tuple(int(d) for d in (t.shape if t.shape is not None else ())),
        )
    return out


def model_io(flat: bytes, where: str = "<model>") -> ModelIO:
    """Signature-bound inputs and outputs of a one-subgraph, one-signature model."""
    model = unpack(flat, where)
    if not model.signatureDefs:
        raise ExportError(f"{where}: the model has no signature (expected 1 to bind I/O by name)")
    sig, sg = model.signatureDefs[0], model.subgraphs[int(model.signatureDefs[0].subgraphIndex)]
    ins, outs = [int(i) for i in sg.inputs], [int(i) for i in sg.outputs]
    return ModelIO(inputs=_io(sg, sig.inputs, ins), outputs=_io(sg, sig.outputs, outs))


def op_name(model: Any, op: Any) -> str:
    """Builtin operator name of ``op`` (``CUSTOM:<code>`` for custom operators)."""
    code = model.operatorCodes[op.opcodeIndex]
    name = _OP_NAMES.get(max(int(code.builtinCode), int(code.deprecatedBuiltinCode)), "UNKNOWN")
    return f"CUSTOM:{_text(code.customCode)}" if name == "CUSTOM" else name


def operators(flat: bytes, where: str = "<model>") -> list[OpRecord]:
    """Every operator of subgraph 0 with its tensors' names and dtypes (no support checks)."""
    model = unpack(flat, where)
    sg = model.subgraphs[0]

    def named(ids: Any) -> tuple[tuple[str, str], ...]:
        ids = [] if ids is None else [int(i) for i in ids if int(i) >= 0]
        return tuple((tensor_name(sg.tensors[i]), _TYPE_NAMES.get(sg.tensors[i].type, "?"))
                     for i in ids)

    return [OpRecord(k, op_name(model, op), named(op.inputs), named(op.outputs))
            for k, op in enumerate(sg.operators or [])]
