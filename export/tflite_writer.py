"""Write a graph IR (:mod:`export.ir`) back to a ``.tflite`` flatbuffer: the reader's inverse.

``write_tflite(graph, *, like) -> bytes`` serialises one :class:`Graph` with the TFLite schema
bindings of ``ai-edge-litert`` (the object API the reader unpacks with), so a graph our planner
rewrote (a stream graph, :mod:`export.planner.stream`) runs under TFLite Micro too.

Steps:

1. keep only the tensors an operator, an input or an output refers to, renumbered in order;
2. one buffer per constant (16-byte aligned, as :mod:`export.tflm.offline_plan` packs them);
3. operator codes in first-use order (their versions copied from ``like`` where it has the op);
4. builtin options from the snake_case dict the reader made: enum names back to values,
   camelCase fields of the options class. The options class of each op is taken from ``like``
   (the model the graph was read from) or, for the ops the planner's rewrites add, from
   :data:`_OPTIONS`; keys our code generator alone reads (``fe_view``, ``fe_copy``: a
   STRIDED_SLICE as a view or a copy, the same values either way) are dropped; ``fe_pad_h``
   other than 0 (a band that pads where the windowed op did not) is refused, as are variables
   (TFLM's variable tensors are not persistent across invokes: state is the caller's, as
   explicit inputs and outputs).

Signature defs and metadata of ``like`` are not carried (their tensor indices would be stale).
Complexity O(model size). Limits: one subgraph, builtin operators only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from edge.errors import FoleyEdgeError
from export.ir import Graph, Operator, Tensor
from export.tflite_reader import _CAMEL, _ENUM_FIELDS, _enum_names, _op_name
from export.tflm.offline_plan import _aligned

_OP_CODES: Mapping[str, int] = MappingProxyType(
    {k: v for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")})
_TYPES: Mapping[str, int] = MappingProxyType(
    {k.lower(): v for k, v in vars(fb.TensorType).items() if not k.startswith("_")})
_OPTIONS: Mapping[str, str] = MappingProxyType({
    "CONCATENATION": "ConcatenationOptions", "STRIDED_SLICE": "StridedSliceOptions",
    "RESHAPE": "ReshapeOptions", "SLICE": "SliceOptions"})
"""Options class of the ops the planner's rewrites may add when ``like`` has none of them."""

_PLANNER_KEYS = frozenset({"fe_view", "fe_copy"})
"""Option keys only our code generator reads; TFLite's op computes the same values without."""


class WriterError(FoleyEdgeError, ValueError):
    """A graph cannot be written as a .tflite TFLite (Micro) runs."""


def _options_classes(like: Any, where: str) -> dict[str, tuple[int, type]]:
    """Op name -> (BuiltinOptions enum value, options ``T`` class) as ``like`` stores them."""
    out: dict[str, tuple[int, type]] = {}
    names = _enum_names(fb.BuiltinOptions)
    for name, cls in _OPTIONS.items():
        out[name] = (getattr(fb.BuiltinOptions, cls), getattr(fb, f"{cls}T"))
    for sg in like.subgraphs or []:
        for k, op in enumerate(sg.operators or []):
            if op.builtinOptions is not None and op.builtinOptionsType:
                cls = getattr(fb, f"{names[op.builtinOptionsType]}T")
                out[_op_name(like, k, op, where)] = (int(op.builtinOptionsType), cls)
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _option_field(key: str, value: Any) -> Any:
    if key in _ENUM_FIELDS and isinstance(value, str):
        return getattr(_ENUM_FIELDS[key], value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _builtin_options(op: Operator, classes: dict[str, tuple[int, type]],
                     where: str) -> tuple[int, Any]:
    """(BuiltinOptions type, options object) of ``op``; (0, None) for an op without options."""
    opts = {k: v for k, v in op.options.items() if k not in _PLANNER_KEYS}
    pad = opts.pop("fe_pad_h", 0)
    if pad:
        raise WriterError(f"{where}: operator {op.index} {op.op} pads {pad} row(s) above its "
                          "band (fe_pad_h) where TFLite's op would not: expected 0")
    if op.op not in classes:
        if opts:
            raise WriterError(f"{where}: operator {op.index} {op.op} has options "
                              f"{sorted(opts)} but no options class is known for it (expected "
                              "the op in the model the graph was read from)")
        return 0, None
    kind, cls = classes[op.op]
    obj = cls()
    fields = set(vars(obj))
    for key, value in opts.items():
        name = _camel(key)
        if name not in fields:
            found = next((f for f in fields if _CAMEL.sub(r"_\1", f).lower() == key), None)
            if found is None:
                raise WriterError(f"{where}: operator {op.index} {op.op}: option '{key}' is not "
                                  f"a field of {cls.__name__} (fields: {sorted(fields)})")
            name = found
        setattr(obj, name, _option_field(key, value))
    return kind, obj


def _tensor(t: Tensor, buffer: int) -> Any:
    if t.dtype not in _TYPES:
        raise WriterError(f"tensor {t.index} '{t.name}': dtype {t.dtype} has no TFLite type")
    out = fb.TensorT()
    out.shape = np.asarray(t.shape, dtype=np.int32)
    out.type = _TYPES[t.dtype]
    out.buffer = buffer
    out.name = t.name.encode()
    if t.quant is not None:
        q = fb.QuantizationParametersT()
        q.scale = np.asarray(t.quant.scale, dtype=np.float32)
        q.zeroPoint = np.asarray(t.quant.zero_point, dtype=np.int64)
        q.quantizedDimension = t.quant.axis
        out.quantization = q
    return out


def _used(graph: Graph) -> list[int]:
    seen = {t for op in graph.operators for t in (*op.inputs, *op.outputs) if t >= 0}
    return sorted(seen | set(graph.inputs) | set(graph.outputs))


def write_tflite(graph: Graph, *, like: bytes) -> bytes:
    """``graph`` as .tflite bytes (see the module docstring); ``like``: the .tflite it was read
    from (its options classes, operator versions and description)."""
    import flatbuffers

    where = graph.name
    src = fb.ModelT.InitFromPackedBuf(like, 0)
    classes = _options_classes(src, where)
    op_names = _enum_names(fb.BuiltinOperator)
    versions = {op_names.get(max(int(c.builtinCode), int(c.deprecatedBuiltinCode)), ""):
                int(c.version) for c in src.operatorCodes or []}
    for t in graph.tensors:
        if t.is_variable:
            raise WriterError(f"{where}: tensor {t.index} '{t.name}' is a variable: expected the "
                              "state as an explicit input (TFLM keeps no variable across invokes)")
    keep = _used(graph)
    new = {t: i for i, t in enumerate(keep)}
    buffers = [fb.BufferT()]
    tensors = []
    for t in keep:
        x = graph.tensors[t]
        buf = 0
        if x.data is not None:
            b = fb.BufferT()
            b.data = np.frombuffer(x.data, dtype=np.uint8).copy()
            buffers.append(b)
            buf = len(buffers) - 1
        tensors.append(_tensor(x, buf))
    codes: dict[str, int] = {}
    ops = []
    for op in graph.operators:
        if op.op not in _OP_CODES:
            raise WriterError(f"{where}: operator {op.index} {op.op} is not a builtin operator")
        if op.op not in codes:
            codes[op.op] = len(codes)
        o = fb.OperatorT()
        o.opcodeIndex = codes[op.op]
        o.inputs = np.asarray([new[t] if t >= 0 else -1 for t in op.inputs], dtype=np.int32)
        o.outputs = np.asarray([new[t] for t in op.outputs], dtype=np.int32)
        o.builtinOptionsType, o.builtinOptions = _builtin_options(op, classes, where)
        ops.append(o)
    sg = fb.SubGraphT()
    sg.tensors, sg.operators, sg.name = tensors, ops, graph.name.encode()
    sg.inputs = np.asarray([new[t] for t in graph.inputs], dtype=np.int32)
    sg.outputs = np.asarray([new[t] for t in graph.outputs], dtype=np.int32)
    m = fb.ModelT()
    m.version, m.description = 3, src.description
    m.operatorCodes = [_code(name, versions.get(name, 1)) for name in codes]
    m.subgraphs = [sg]
    m.buffers = [_aligned(b) for b in buffers]
    builder = flatbuffers.Builder(sum(len(b.data) for b in buffers[1:]) + 65536)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _code(name: str, version: int) -> Any:
    c = fb.OperatorCodeT()
    c.builtinCode = _OP_CODES[name]
    c.deprecatedBuiltinCode = min(_OP_CODES[name], 127)
    c.version = version
    return c
