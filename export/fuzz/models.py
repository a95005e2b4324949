"""Structure-aware mutations of a ``.tflite``: edits of the decoded model that a byte flip rarely
produces, re-serialised into a well-formed flatbuffer.

``mutate_model(buf, rng) -> (mutant, description)`` decodes ``buf`` with the schema's object
API, applies one edit of :data:`EDITS` (absurd or negative shapes, names that are not UTF-8,
indices out of range, operator cycles, tensors written twice, bad quantization, zero or huge
strides and filters, buffers that point past the file, an operator turned into another, ...)
and packs the model again. So the reader's checks *behind* the flatbuffer layer are reached:
a mutant of :func:`export.fuzz.mutate.mutate_bytes` mostly breaks the flatbuffer itself.
Cost: one decode and one pack, about 5 ms for the zoo's small models.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb

from export.tflite_reader import SUPPORTED_OPS

Edit = Callable[[Any, np.random.Generator], str]

_BAD_UTF8: tuple[bytes, ...] = (b"\xff\xfe", b"name\x80", b"\xc3\x28", b"\xed\xa0\x80x", b"ok\xf8")
_CODES = {k: v for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_SUPPORTED_CODES = tuple(sorted(_CODES[name] for name in SUPPORTED_OPS if name in _CODES))
_HUGE_SHAPES: tuple[tuple[int, ...], ...] = (
    (1_000_000, 1_000_000), (2**31 - 1, 2**31 - 1, 2**31 - 1), (1, 2**31 - 1), (4096, 4096, 4096),
    (1, 24, 24, 2**20), (-1, 24), (1, -5, 3), (1,) * 70, (0, 24, 24, 3), (1, 0),
)
PACK_TRIES = 5
"""Draws of an edit before a case falls back to the unmutated model."""

_WORDS = (0, -1, 1, 2, 3, 7, 64, 255, -(2**31), 2**31 - 1, 1_000_000)


def _sg(m: Any) -> Any:
    return m.subgraphs[0]


def _pick(rng: np.random.Generator, items: Any) -> int:
    """A random index into ``items`` (which must not be empty)."""
    return int(rng.integers(len(items)))


def _tensor_name(m: Any, rng: np.random.Generator) -> str:
    i = _pick(rng, _sg(m).tensors)
    bad = _BAD_UTF8[_pick(rng, _BAD_UTF8)]
    _sg(m).tensors[i].name = bad
    return f"tensor {i} name = {bad!r}"


def _other_name(m: Any, rng: np.random.Generator) -> str:
    bad = _BAD_UTF8[_pick(rng, _BAD_UTF8)]
    if m.metadata and rng.random() < 0.5:
        k = _pick(rng, m.metadata)
        m.metadata[k].name = bad
        return f"metadata {k} name = {bad!r}"
    _sg(m).name = bad
    return f"subgraph name = {bad!r}"


def _custom_code(m: Any, rng: np.random.Generator) -> str:
    k = _pick(rng, m.operatorCodes)
    code = m.operatorCodes[k]
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    code.customCode = _BAD_UTF8[_pick(rng, _BAD_UTF8)] if rng.random() < 0.5 else b"MyOp"
    return f"operator code {k} = CUSTOM {code.customCode!r}"


def _huge_shape(m: Any, rng: np.random.Generator) -> str:
    i = _pick(rng, _sg(m).tensors)
    shape = _HUGE_SHAPES[_pick(rng, _HUGE_SHAPES)]
    _sg(m).tensors[i].shape = list(shape)
    return f"tensor {i} shape = {shape if len(shape) < 8 else f'rank {len(shape)}'}"


def _reshape(m: Any, rng: np.random.Generator) -> str:
    """One dimension changed, dropped or added: shapes that disagree with the operators."""
    i = _pick(rng, _sg(m).tensors)
    t = _sg(m).tensors[i]
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    pick = rng.random()
    if shape and pick < 0.6:
        d = _pick(rng, shape)
        shape[d] = int(rng.choice((0, 1, 2, 3, 5, 8, 64, 1000)))
    elif shape and pick < 0.8:
        del shape[_pick(rng, shape)]
    else:
        shape.insert(int(rng.integers(len(shape) + 1)), int(rng.choice((1, 2, 3))))
    t.shape = shape
    return f"tensor {i} shape = {tuple(shape)}"


def _swap_shapes(m: Any, rng: np.random.Generator) -> str:
    ts = _sg(m).tensors
    i, j = _pick(rng, ts), _pick(rng, ts)
    ts[i].shape, ts[j].shape = ts[j].shape, ts[i].shape
    return f"shapes of tensors {i} and {j} swapped"


def _dtype(m: Any, rng: np.random.Generator) -> str:
    i = _pick(rng, _sg(m).tensors)
    v = int(rng.choice((0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 16, 99, -3)))
    _sg(m).tensors[i].type = v
    return f"tensor {i} type = {v}"


def _index(m: Any, rng: np.random.Generator) -> str:
    """An operator's or the subgraph's tensor index out of range, or pointing elsewhere."""
    sg = _sg(m)
    n = len(sg.tensors)
    v = int(rng.choice((-2, -1, n, n + 1, 2**31 - 1, -(2**31), int(rng.integers(n)))))
    if rng.random() < 0.7 and sg.operators:
        k = _pick(rng, sg.operators)
        op = sg.operators[k]
        side = "inputs" if rng.random() < 0.6 else "outputs"
        idx = list(getattr(op, side) if getattr(op, side) is not None else [])
        if not idx:
            return "no-op"
        j = _pick(rng, idx)
        idx[j] = v
        setattr(op, side, idx)
        return f"operator {k} {side}[{j}] = {v}"
    side = "inputs" if rng.random() < 0.5 else "outputs"
    idx = list(getattr(sg, side))
    idx[_pick(rng, idx)] = v
    setattr(sg, side, idx)
    return f"subgraph {side} = {idx}"


def _arity(m: Any, rng: np.random.Generator) -> str:
    """An operator loses, gains or repeats an input or an output."""
    k = _pick(rng, _sg(m).operators)
    op = _sg(m).operators[k]
    side = "inputs" if rng.random() < 0.7 else "outputs"
    idx = [int(i) for i in (getattr(op, side) if getattr(op, side) is not None else [])]
    pick = rng.random()
    if idx and pick < 0.4:
        del idx[_pick(rng, idx)]
    elif idx and pick < 0.7:
        idx.append(idx[_pick(rng, idx)])
    else:
        idx.append(int(rng.integers(-1, len(_sg(m).tensors))))
    setattr(op, side, idx)
    return f"operator {k} {side} = {idx}"


def _cycle(m: Any, rng: np.random.Generator) -> str:
    """An operator reads the output of itself or of a later operator."""
    ops = _sg(m).operators
    a = _pick(rng, ops)
    b = int(rng.integers(a, len(ops)))
    ins = [int(i) for i in ops[a].inputs]
    ins[0] = int(ops[b].outputs[0])
    ops[a].inputs = ins
    return f"operator {a} inputs[0] = output of operator {b}"


def _double_write(m: Any, rng: np.random.Generator) -> str:
    """Two operators write one tensor, or an operator writes a constant or a graph input."""
    sg = _sg(m)
    k = _pick(rng, sg.operators)
    pick = rng.random()
    if pick < 0.4 and len(sg.operators) > 1:
        j = _pick(rng, sg.operators)
        target = int(sg.operators[j].outputs[0])
    elif pick < 0.7:
        target = int(sg.inputs[0])
    else:
        target = int(sg.operators[k].inputs[-1])
    sg.operators[k].outputs = [target]
    return f"operator {k} outputs = [{target}]"


def _reorder(m: Any, rng: np.random.Generator) -> str:
    ops = _sg(m).operators
    pick = rng.random()
    if pick < 0.4 and len(ops) > 1:
        i, j = _pick(rng, ops), _pick(rng, ops)
        ops[i], ops[j] = ops[j], ops[i]
        return f"operators {i} and {j} swapped"
    if pick < 0.7:
        k = _pick(rng, ops)
        del ops[k]
        return f"operator {k} deleted"
    k = _pick(rng, ops)
    ops.insert(k, ops[k])
    return f"operator {k} duplicated"


def _opcode(m: Any, rng: np.random.Generator) -> str:
    """An operator becomes another supported op (its options stay), or its code index breaks."""
    ops = _sg(m).operators
    k = _pick(rng, ops)
    if rng.random() < 0.3:
        v = int(rng.choice((len(m.operatorCodes), 2**31 - 1, 2**32 - 1)))
        ops[k].opcodeIndex = v
        return f"operator {k} opcode index = {v}"
    code = int(rng.choice(_SUPPORTED_CODES)) if rng.random() < 0.9 else int(rng.integers(300))
    m.operatorCodes.append(fb.OperatorCodeT())
    m.operatorCodes[-1].builtinCode = code
    m.operatorCodes[-1].deprecatedBuiltinCode = min(code, 127)
    m.operatorCodes[-1].version = 1
    ops[k].opcodeIndex = len(m.operatorCodes) - 1
    return f"operator {k} code = {code}"


def _option(m: Any, rng: np.random.Generator) -> str:
    """One builtin option field set to a boundary value (strides, filters, axes, enums)."""
    cands = [(k, op) for k, op in enumerate(_sg(m).operators)
             if op.builtinOptions is not None and vars(op.builtinOptions)]
    if not cands:
        return "no-op"
    k, op = cands[_pick(rng, cands)]
    fields = sorted(vars(op.builtinOptions))
    name = fields[_pick(rng, fields)]
    old = getattr(op.builtinOptions, name)
    if isinstance(old, bool):
        v: Any = not old
    elif isinstance(old, float):
        v = float(rng.choice((0.0, -1.0, np.nan, np.inf, 1e30)))
    elif isinstance(old, int):
        v = int(rng.choice(_WORDS)) if rng.random() < 0.8 else int(rng.integers(-128, 128))
        v = max(-128, min(127, v)) if name in ("padding", "fusedActivationFunction") else v
    else:
        return "no-op"
    setattr(op.builtinOptions, name, v)
    return f"operator {k} option {name} = {v!r}"


def _quant(m: Any, rng: np.random.Generator) -> str:
    cands = [i for i, t in enumerate(_sg(m).tensors)
             if t.quantization is not None and t.quantization.scale is not None]
    if not cands:
        return "no-op"
    i = cands[_pick(rng, cands)]
    q = _sg(m).tensors[i].quantization
    pick = rng.random()
    if pick < 0.35:
        v = float(rng.choice((np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-45, 1e38)))
        q.scale = [v] * len(q.scale)
        return f"tensor {i} scale = {v}"
    if pick < 0.55:
        v = int(rng.choice((-129, 128, 255, 2**31, -(2**40), 2**62)))
        q.zeroPoint = [v] * len(q.scale)
        return f"tensor {i} zero_point = {v}"
    if pick < 0.75:
        q.quantizedDimension = int(rng.choice((-1, 4, 99, 2**31 - 1)))
        return f"tensor {i} quantized_dimension = {q.quantizedDimension}"
    n = int(rng.choice((2, 3, 7, 1000)))
    q.scale = [0.5] * n
    q.zeroPoint = [0] * int(rng.choice((0, 1, n, n + 1)))
    return f"tensor {i} {n} scales, {len(q.zeroPoint)} zero points"


def _requant(m: Any, rng: np.random.Generator) -> str:
    """A scale or zero point moved to an extreme that is still legal: the requantization
    constants of the code generator at their limits."""
    cands = [i for i, t in enumerate(_sg(m).tensors)
             if t.quantization is not None and t.quantization.scale is not None
             and len(t.quantization.scale)]
    if not cands:
        return "no-op"
    i = cands[_pick(rng, cands)]
    q = _sg(m).tensors[i].quantization
    if rng.random() < 0.6:
        v = float(10.0 ** rng.uniform(-44, 38))
        q.scale = [v] * len(q.scale)
        return f"tensor {i} scale = {v:.3g}"
    v = int(rng.choice((-128, 127, 0, -1)))
    q.zeroPoint = [v] * len(q.scale)
    return f"tensor {i} zero point = {v}"


def _values(m: Any, rng: np.random.Generator) -> str:
    """A constant's bytes replaced by random or extreme ones (weights, biases, axes, shapes)."""
    ts = _sg(m).tensors
    cands = [i for i, t in enumerate(ts) if 0 < t.buffer < len(m.buffers)
             and m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data)]
    if not cands:
        return "no-op"
    i = cands[_pick(rng, cands)]
    b = m.buffers[ts[i].buffer]
    n = len(b.data)
    if rng.random() < 0.5:
        b.data = rng.integers(0, 256, n, dtype=np.uint8)
        return f"tensor {i} constant bytes = random"
    fill = int(rng.choice((0x00, 0x7F, 0x80, 0xFF)))
    b.data = np.full(n, fill, np.uint8)
    return f"tensor {i} constant bytes = 0x{fill:02x} x {n}"


def _activation(m: Any, rng: np.random.Generator) -> str:
    """A fused activation, an int8 tensor's dtype (uint8, int16) or a variable flag changed."""
    ops = [(k, op) for k, op in enumerate(_sg(m).operators)
           if op.builtinOptions is not None and hasattr(op.builtinOptions, "fusedActivationFunction")]
    if ops and rng.random() < 0.5:
        k, op = ops[_pick(rng, ops)]
        op.builtinOptions.fusedActivationFunction = int(rng.choice((0, 1, 2, 3)))
        return f"operator {k} fused activation = {op.builtinOptions.fusedActivationFunction}"
    i = _pick(rng, _sg(m).tensors)
    t = _sg(m).tensors[i]
    if rng.random() < 0.5:
        t.type = int(rng.choice((fb.TensorType.UINT8, fb.TensorType.INT16, fb.TensorType.INT32)))
        return f"tensor {i} type = {t.type}"
    t.isVariable = not t.isVariable
    return f"tensor {i} is_variable = {t.isVariable}"


def _buffer(m: Any, rng: np.random.Generator) -> str:
    """A constant's data cut or grown, its buffer index out of range, or the data moved to an
    offset (the >2 GB layout) that lies past the end of the file."""
    ts = _sg(m).tensors
    i = _pick(rng, ts)
    t = ts[i]
    pick = rng.random()
    if pick < 0.3:
        t.buffer = int(rng.choice((len(m.buffers), len(m.buffers) + 7, 2**32 - 1)))
        return f"tensor {i} buffer = {t.buffer}"
    b = m.buffers[t.buffer] if 0 <= t.buffer < len(m.buffers) else None
    if b is None:
        return "no-op"
    if pick < 0.6:
        n = int(rng.choice((0, 1, 3, 1 << 16)))
        b.data = (np.arange(n) % 256).astype(np.uint8)
        return f"tensor {i} buffer {t.buffer} data = {n} bytes"
    b.data = None
    b.offset = int(rng.choice((2, 1 << 20, 2**63 - 1, 16)))
    b.size = int(rng.choice((1, 1 << 30, 2**63 - 1, 64)))
    return f"tensor {i} buffer {t.buffer} at offset {b.offset} size {b.size}"


def _structure(m: Any, rng: np.random.Generator) -> str:
    pick = rng.random()
    if pick < 0.25:
        m.subgraphs = []
        return "no subgraphs"
    if pick < 0.5:
        _sg(m).tensors = _sg(m).tensors[: int(rng.integers(len(_sg(m).tensors)))]
        return f"tensors cut to {len(_sg(m).tensors)}"
    if pick < 0.75:
        _sg(m).operators = []
        return "no operators"
    i = _pick(rng, _sg(m).tensors)
    _sg(m).tensors[i].isVariable = not _sg(m).tensors[i].isVariable
    return f"tensor {i} is_variable = {_sg(m).tensors[i].isVariable}"


EDITS: tuple[tuple[Edit, float], ...] = (
    (_tensor_name, 0.05), (_other_name, 0.03), (_custom_code, 0.03), (_huge_shape, 0.08),
    (_reshape, 0.14), (_swap_shapes, 0.05), (_dtype, 0.05), (_index, 0.07), (_arity, 0.07),
    (_cycle, 0.05), (_double_write, 0.04), (_reorder, 0.05), (_opcode, 0.07), (_option, 0.11),
    (_quant, 0.07), (_buffer, 0.06), (_structure, 0.03), (_requant, 0.07), (_values, 0.06),
    (_activation, 0.06),
)
"""Model edits and how often each is drawn."""


def mutate_model(buf: bytes, rng: np.random.Generator, *, edits: int = 1) -> tuple[bytes, str]:
    """``buf`` (a well-formed .tflite) with ``edits`` random edits of :data:`EDITS` (drawn by
    weight), packed again, and what they were. An edit whose value the schema field cannot hold (a 2**31 in
    an int8 enum) is drawn again, up to :data:`PACK_TRIES` times."""
    fns = [e for e, _ in EDITS]
    weights = np.array([w for _, w in EDITS])
    for _ in range(PACK_TRIES):
        model = fb.ModelT.InitFromPackedBuf(buf, 0)
        done = []
        for _ in range(edits):
            if not model.subgraphs or not _sg(model).tensors or not _sg(model).operators:
                break
            done.append(fns[int(rng.choice(len(fns), p=weights / weights.sum()))](model, rng))
        builder = flatbuffers.Builder(len(buf) + 1024)
        try:
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        except (struct.error, OverflowError, TypeError):  # TypeError: flatbuffers' range check
            continue
        return bytes(builder.Output()), "; ".join(done) or "no edit"
    return buf, "no edit (no packable value drawn)"
