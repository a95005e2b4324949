"""Read a ``.tflite`` flatbuffer into the graph IR (:mod:`export.ir`).

``read_tflite(path_or_bytes) -> Graph`` decodes one subgraph with the TFLite schema bindings
that ship with ``ai-edge-litert`` (generated from the official ``schema.fbs``): tensors with
shape, dtype, quantization (per-tensor or per-channel) and constant data; operators with their
builtin name and options as a snake_case dict (enums as names, e.g.
``{"fused_activation_function": "NONE", "padding": "SAME", "stride_w": 1}``); subgraph inputs
and outputs; the model's metadata buffers by name.

Anything the compiler cannot handle (an operator outside :data:`SUPPORTED_OPS`, a custom op, a
dtype outside the IR, a fused activation we have no kernel for, sparse or non-affine tensors)
raises :class:`ReaderError` naming the operator index, the op and the tensor.

So does any malformed file, before anything downstream sees it or a large buffer is allocated:
a truncated or corrupt flatbuffer, names that are not UTF-8, indices and buffer offsets out of
range, absurd shapes and quantization (:mod:`export.tflite_checks`), a dataflow that is not a
single-writer graph in execution order (cycles included), operand shapes an operator cannot
have (:mod:`export.op_shapes`). ``python -m export.fuzz`` checks that no mutated model gets
past this into a traceback of the planner or the code generator.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from edge.errors import FoleyEdgeError
from export.flatbuffer_size import unpacked_units
from export.ir import DTYPE_BYTES, Graph, Operator, Quantization, Tensor
from export.op_shapes import operator_problem
from export.tflite_checks import (
    graph_problem,
    option_problem,
    quantization_problem,
    shape_problem,
)

SUPPORTED_OPS: frozenset[str] = frozenset(
    {
        "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "RSQRT", "MEAN", "SUM",
        "FULLY_CONNECTED", "BATCH_MATMUL", "CONV_2D", "DEPTHWISE_CONV_2D",
        "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "PADV2",
        "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
        "GATHER", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "STRIDED_SLICE", "SLICE",
        "CONCATENATION", "PACK", "UNPACK", "SPLIT", "QUANTIZE", "DEQUANTIZE",
        "MAXIMUM", "MINIMUM", "ARG_MAX", "NEG", "RESIZE_NEAREST_NEIGHBOR",
    }
)
"""Builtin operators the reader accepts: exactly the code generator's set (each kernel is tested
bit-exact against tflite-micro). GELU is refused here: the tflite-micro runtime we test against
has no GELU kernel, so there is no oracle to match."""

FUSED_ACTIVATIONS: frozenset[str] = frozenset({"NONE", "RELU", "RELU6", "RELU_N1_TO_1"})
"""Fused activation functions the int8 kernels apply."""

_ENUM_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "padding": fb.Padding,
        "fused_activation_function": fb.ActivationFunctionType,
        "weights_format": fb.FullyConnectedOptionsWeightsFormat,
        "mode": fb.MirrorPadMode,
        "combiner": fb.CombinerType,
        "kernel_type": fb.LSTMKernelType,
        "output_type": fb.TensorType,
        "out_type": fb.TensorType,
        "idx_out_type": fb.TensorType,
        "in_data_type": fb.TensorType,
        "out_data_type": fb.TensorType,
        "quantized_bias_type": fb.TensorType,
    }
)


UNPACK_FACTOR = 2
"""Most entries and bytes a model may unpack into per byte of file (converter output: < 0.2;
more means offsets shared over and over, see :mod:`export.flatbuffer_size`)."""


class ReaderError(FoleyEdgeError, ValueError):
    """A .tflite file is unreadable or uses something the compiler does not support."""


def _enum_names(enum_cls: type) -> dict[int, str]:
    """Map value -> name of a flatbuffers enum class."""
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


_OP_NAMES = _enum_names(fb.BuiltinOperator)
_TYPE_NAMES = _enum_names(fb.TensorType)
_ENUM_NAMES = {field: _enum_names(cls) for field, cls in _ENUM_FIELDS.items()}
_CAMEL = re.compile(r"(?<!^)([A-Z])")


def _text(value: Any, what: str, where: str) -> str:
    """A name stored in the model as text; :class:`ReaderError` when it is not UTF-8."""
    if value is None:
        return ""
    if not isinstance(value, bytes):
        return str(value)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReaderError(f"{where}: {what} is not UTF-8 text ({e.reason} at byte {e.start} "
                          f"of {value[:48]!r})") from e


def _snake(name: str) -> str:
    """``fusedActivationFunction`` -> ``fused_activation_function``, ``dilationWFactor`` ->
    ``dilation_w_factor`` (the key the kernels' render functions read)."""
    return _CAMEL.sub(r"_\1", name).lower()


def _load(src: str | Path | bytes | bytearray | memoryview) -> tuple[bytes, str]:
    """The flatbuffer bytes and a name for messages."""
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src), "<bytes>"
    path = Path(src)
    try:
        return path.read_bytes(), str(path)
    except OSError as e:
        raise ReaderError(f"{path}: cannot read the model: {e.strerror}") from e


def _unpack(buf: bytes, where: str) -> Any:
    """The object-API model (``ModelT``) of a flatbuffer, with a clear error on junk."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        found = buf[4:8] if len(buf) >= 8 else f"{len(buf)} bytes"
        raise ReaderError(f"{where}: not a .tflite flatbuffer: expected identifier b'TFL3', found {found!r}")
    limit = UNPACK_FACTOR * len(buf) + 4096
    try:
        units = unpacked_units(buf, limit)
        if units <= limit:
            return fb.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as e:  # noqa: BLE001 - flatbuffers raises assorted errors on corrupt input
        kind = "struct.error" if isinstance(e, struct.error) else type(e).__name__
        raise ReaderError(f"{where}: corrupt .tflite flatbuffer ({len(buf)} bytes; an offset or "
                          f"length points outside it or at the wrong type): {kind}: {e}") from e
    raise ReaderError(f"{where}: the flatbuffer's offsets refer to the same tables over and "
                      f"over: it would unpack into more than {limit} entries and bytes from "
                      f"{len(buf)} bytes (at most {UNPACK_FACTOR}x the file's size)")


def _option_value(key: str, value: Any) -> Any:
    """One option value as plain Python: enums as names, vectors as tuples."""
    if key in _ENUM_NAMES and isinstance(value, int):
        return _ENUM_NAMES[key].get(value, str(value))
    if isinstance(value, np.ndarray | list | tuple):
        return tuple(v.item() if isinstance(v, np.generic) else v for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _options(obj: Any) -> Mapping[str, Any]:
    """Builtin options object -> read-only snake_case dict."""
    if obj is None:
        return MappingProxyType({})
    return MappingProxyType({_snake(k): _option_value(_snake(k), v) for k, v in vars(obj).items()})


def _op_name(model: Any, k: int, op: Any, where: str) -> str:
    """The builtin operator name of operator ``k`` (``CUSTOM:<code>`` for custom ops)."""
    codes = model.operatorCodes or []
    if not 0 <= op.opcodeIndex < len(codes):
        raise ReaderError(f"{where}: operator {k}: opcode index {op.opcodeIndex} is outside "
                          f"range 0 to {len(codes) - 1}")
    code = codes[op.opcodeIndex]
    value = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    name = _OP_NAMES.get(value, f"UNKNOWN_{value}")
    if name == "CUSTOM":
        return f"CUSTOM:{_text(code.customCode, f'operator {k} custom code', where)}"
    return name


def _quantization(q: Any) -> Quantization | None:
    """IR quantization of a tensor, or None when it has no scale."""
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    scale = tuple(float(s) for s in q.scale)
    zps = q.zeroPoint if q.zeroPoint is not None and len(q.zeroPoint) else [0] * len(scale)
    return Quantization(scale=scale, zero_point=tuple(int(z) for z in zps), axis=int(q.quantizedDimension))


def _buffer_bytes(model: Any, raw: bytes, index: int, whose: str,
                  cache: dict[int, bytes | None]) -> bytes | None:
    """The payload of buffer ``index`` (inline or at an offset past the flatbuffer), or None
    for buffer 0 (by convention empty) and empty buffers; ``whose`` starts error messages.
    ``cache`` holds the buffers read so far: tensors that share a buffer share its bytes."""
    if index not in cache:
        cache[index] = _payload(model, raw, index, whose)
    return cache[index]


def _payload(model: Any, raw: bytes, index: int, whose: str) -> bytes | None:
    n = len(model.buffers or [])
    if index != 0 and not 0 <= index < n:
        raise ReaderError(f"{whose}: buffer index {index} is outside range 0 to {n - 1}")
    if index == 0:
        return None
    b = model.buffers[index]
    if b.data is not None and len(b.data) > 0:
        return np.asarray(b.data, dtype=np.uint8).tobytes()
    if b.offset > 1 and b.size > 0:
        if b.offset + b.size > len(raw):
            raise ReaderError(f"{whose}: buffer {index} holds {b.size} bytes at offset "
                              f"{b.offset}, past the end of the file ({len(raw)} bytes)")
        return raw[b.offset : b.offset + b.size]
    return None


def _tensor(model: Any, raw: bytes, i: int, t: Any, where: str,
            buffers: dict[int, bytes | None]) -> Tensor:
    """One IR tensor; raises :class:`ReaderError` for what the IR cannot carry."""
    name = _text(t.name, f"tensor {i} name", where) or f"t{i}"
    dtype = _TYPE_NAMES.get(t.type, str(t.type)).lower()
    if dtype not in DTYPE_BYTES:
        raise ReaderError(
            f"{where}: tensor {i} '{name}': unsupported dtype {dtype.upper()} "
            f"(expected one of {', '.join(sorted(DTYPE_BYTES))})"
        )
    if t.sparsity is not None:
        raise ReaderError(f"{where}: tensor {i} '{name}': sparse tensors are not supported")
    q = t.quantization
    if q is not None and q.detailsType != 0:
        raise ReaderError(f"{where}: tensor {i} '{name}': non-affine quantization is not supported")
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    head = f"{where}: tensor {i} '{name}'"
    problem = shape_problem(shape, DTYPE_BYTES[dtype])
    if problem:
        raise ReaderError(f"{head}: {problem}")
    data = _buffer_bytes(model, raw, int(t.buffer), head, buffers)
    quant = _quantization(q)
    problem = quant and quantization_problem(quant, shape, dtype)
    if problem:
        raise ReaderError(f"{head}: {problem}")
    out = Tensor(index=i, name=name, shape=shape, dtype=dtype, quant=quant,
                 data=data, is_variable=bool(t.isVariable))
    if data is not None and len(data) != out.nbytes:
        raise ReaderError(
            f"{head}: constant data has {len(data)} bytes, "
            f"expected {out.nbytes} for shape {shape} {dtype}"
        )
    return out


def _check_operator(op: Operator, tensors: tuple[Tensor, ...], where: str, *,
                    compiler: bool) -> None:  # fmt: skip
    """Raise :class:`ReaderError` when ``op`` is malformed or (``compiler``) outside what the
    compiler supports."""
    head = f"{where}: operator {op.index} {op.op}"
    for t in (*op.inputs, *op.outputs):
        if not -1 <= t < len(tensors):
            raise ReaderError(f"{head}: tensor index {t} is outside range 0 to {len(tensors) - 1}")
    problem = option_problem(op.options)
    if problem:
        raise ReaderError(f"{head}: {problem}")
    if not compiler:
        return
    if op.op not in SUPPORTED_OPS:
        shown = ", ".join(f"{t} '{tensors[t].name}'" for t in op.outputs[:1])
        raise ReaderError(f"{head} (output tensor {shown}): unsupported operator "
                          f"(supported: {', '.join(sorted(SUPPORTED_OPS))})")
    act = op.options.get("fused_activation_function", "NONE")
    if act not in FUSED_ACTIVATIONS:
        raise ReaderError(f"{head}: unsupported fused_activation_function {act} "
                          f"(expected one of {', '.join(sorted(FUSED_ACTIVATIONS))})")
    fmt = op.options.get("weights_format", "DEFAULT")
    if fmt != "DEFAULT":
        raise ReaderError(f"{head}: unsupported weights_format {fmt} (expected DEFAULT)")


def read_tflite(src: str | Path | bytes | bytearray | memoryview, *, subgraph: int = 0,
                compiler_ops: bool = True) -> Graph:  # fmt: skip
    """Read subgraph ``subgraph`` of a .tflite (a path or the file's bytes) into a :class:`Graph`.

    ``compiler_ops=False`` accepts operators our compiler has no kernel for (for TFLite Micro,
    which may run them); the file is still checked for consistency."""
    raw, where = _load(src)
    model = _unpack(raw, where)
    n_sub = len(model.subgraphs or [])
    if not n_sub:
        raise ReaderError(f"{where}: the model has no subgraph")
    if not 0 <= subgraph < n_sub:
        raise ReaderError(f"{where}: subgraph {subgraph} is outside range 0 to {n_sub - 1}")
    sg = model.subgraphs[subgraph]
    buffers: dict[int, bytes | None] = {}
    tensors = tuple(_tensor(model, raw, i, t, where, buffers) for i, t in enumerate(sg.tensors or []))
    operators = []
    for k, op in enumerate(sg.operators or []):
        ir_op = Operator(
            index=k,
            op=_op_name(model, k, op, where),
            inputs=tuple(int(i) for i in (op.inputs if op.inputs is not None else ())),
            outputs=tuple(int(i) for i in (op.outputs if op.outputs is not None else ())),
            options=_options(op.builtinOptions),
        )
        _check_operator(ir_op, tensors, where, compiler=compiler_ops)
        operators.append(ir_op)
    metadata = {}
    for k, m in enumerate(model.metadata or []):
        key = _text(m.name, f"metadata {k} name", where)
        metadata[key] = _buffer_bytes(model, raw, int(m.buffer), f"{where}: metadata '{key}'",
                                      buffers) or b""
    name = _text(sg.name, f"subgraph {subgraph} name", where)
    graph = Graph(
        name=name or (Path(where).stem if where != "<bytes>" else "model"),
        tensors=tensors,
        operators=tuple(operators),
        inputs=tuple(int(i) for i in (sg.inputs if sg.inputs is not None else ())),
        outputs=tuple(int(i) for i in (sg.outputs if sg.outputs is not None else ())),
        metadata=MappingProxyType(metadata),
    )
    _check_graph(graph, where, compiler=compiler_ops)
    return graph


def _check_graph(graph: Graph, where: str, *, compiler: bool) -> None:
    """Raise :class:`ReaderError` when the dataflow or an operator's operands are malformed."""
    problem = graph_problem(graph)
    if problem:
        raise ReaderError(f"{where}: {problem}")
    for op in graph.operators:
        problem = operator_problem(graph, op, compiler=compiler)
        if problem:
            raise ReaderError(f"{where}: operator {op.index} {op.op}: {problem}")
