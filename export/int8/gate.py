"""Refuse a converted model that TFLite Micro or our code generator cannot run.

The allowed operators are the intersection of TFLite Micro's builtin kernels (checked ones:
PLATFORM.md) and :data:`export.tflite_reader.SUPPORTED_OPS` (the C kernel library). The allowed
tensor dtypes are int8 (activations, weights) and int32 (token/position ids, biases, shapes): a
float32 tensor means the model is not fully integer, int64 comes from ops TFLM lacks.
The error names the operator, its index and the Keras layer that produced it (recovered from
the tensor names the converter keeps: ``student_decoder_step_1/student_dec0_self_q_1/...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from export.int8.errors import UnsupportedOpError
from export.int8.flat import OpRecord, operators
from export.tflite_reader import SUPPORTED_OPS

TFLM_OPS: frozenset[str] = frozenset({
    "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "RSQRT", "MEAN", "SUM", "FULLY_CONNECTED",
    "BATCH_MATMUL", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD",
    "PADV2", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
    "GATHER", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "STRIDED_SLICE", "SLICE",
    "CONCATENATION", "PACK", "UNPACK", "SPLIT", "QUANTIZE", "DEQUANTIZE", "MAXIMUM", "MINIMUM",
    "ARG_MAX", "NEG",
})  # fmt: skip
"""Builtin operators TFLite Micro's int8 kernels run."""

ALLOWED_OPS: frozenset[str] = TFLM_OPS & SUPPORTED_OPS
"""Operators an exported model may contain: TFLM and our code generator both run them."""

ALLOWED_DTYPES: frozenset[str] = frozenset({"int8", "int32"})
"""Tensor dtypes of a full-integer model."""

_SUFFIX = re.compile(r"_\d+$")


def layer_of(tensor_name: str, layer_names: Iterable[str] = ()) -> str:
    """The Keras layer a converted tensor came from, or the tensor name when none is found.

    Tries every ``/``-separated part of every ``;``-fused name, with Keras's ``_1`` call
    suffix removed, against ``layer_names``; without names, the second path part.
    """
    known = set(layer_names)
    parts = [p for fused in tensor_name.split(";") for p in fused.split("/")]
    for p in parts:
        for cand in (p, _SUFFIX.sub("", p)):
            if cand in known:
                return cand
    if not known and len(parts) > 2:
        return _SUFFIX.sub("", parts[1])
    return tensor_name


def _origin(op: OpRecord, layer_names: Iterable[str]) -> str:
    tensor = op.outputs[0][0] if op.outputs else "<no output>"
    return f"operator {op.index} {op.op} (output '{tensor}', layer '{layer_of(tensor, layer_names)}')"


def check_ops(flat: bytes, *, where: str, layer_names: Iterable[str] = ()) -> list[str]:
    """The model's sorted op list; raises :class:`UnsupportedOpError` on the first bad op or dtype."""
    names = list(layer_names)
    ops = operators(flat, where)
    for op in ops:
        if op.op not in ALLOWED_OPS:
            raise UnsupportedOpError(
                f"{where}: {_origin(op, names)}: operator {op.op} cannot run on TFLite Micro "
                f"and our code generator (expected one of {', '.join(sorted(ALLOWED_OPS))})"
            )
        for tname, dtype in (*op.inputs, *op.outputs):
            if dtype not in ALLOWED_DTYPES:
                raise UnsupportedOpError(
                    f"{where}: {_origin(op, names)}: tensor '{tname}' has dtype {dtype.upper()} "
                    f"(expected a full-integer model: {', '.join(sorted(ALLOWED_DTYPES))})"
                )
    return sorted({op.op for op in ops})
