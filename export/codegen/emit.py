"""``emit_c(graph, plan, *, prefix)``: the whole model as ``{prefix}.c`` and ``{prefix}.h``.

Steps: (1) give every tensor a storage expression from the plan (arena offset, persistent
offset, a const array for weights, aliases resolved to their root, or the pointer the caller
passed for a caller tensor: ``{prefix}_set_input`` / ``{prefix}_set_output``); (2) render each
operator in plan order with its render function; (3) fill the two Jinja2 templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from export.codegen import ops_activation as a
from export.codegen import ops_data as d
from export.codegen import ops_elementwise as e
from export.codegen import ops_linear as lin
from export.codegen import ops_resize as r
from export.codegen.cformat import C_TYPES, c_array, environment
from export.codegen.context import OpContext, Rendered, RenderFn
from export.codegen.quant import float_literal
from export.ir import Graph, Tensor
from export.planner.plan import MemoryPlan

KERNEL_DIR = Path(__file__).resolve().parents[2] / "edge" / "kernels"
"""The C sources of the kernel library the generated code links against."""

RENDERERS: Mapping[str, RenderFn] = {
    "FULLY_CONNECTED": lin.render_fully_connected, "BATCH_MATMUL": lin.render_batch_matmul,
    "CONV_2D": lin.render_conv2d, "DEPTHWISE_CONV_2D": lin.render_depthwise_conv2d,
    "AVERAGE_POOL_2D": lin.render_avg_pool, "MAX_POOL_2D": lin.render_max_pool,
    "ADD": e.render_add, "SUB": e.render_sub, "MUL": e.render_mul,
    "SQUARED_DIFFERENCE": e.render_squared_difference, "RSQRT": e.render_rsqrt,
    "SOFTMAX": e.render_softmax, "MEAN": e.render_mean, "QUANTIZE": e.render_quantize,
    "DEQUANTIZE": e.render_dequantize, "NEG": e.render_neg,
    "RESHAPE": d.render_view, "SQUEEZE": d.render_view, "EXPAND_DIMS": d.render_view,
    "TRANSPOSE": d.render_transpose, "CONCATENATION": d.render_concatenation,
    "PACK": d.render_pack, "STRIDED_SLICE": d.render_strided_slice, "SLICE": d.render_slice,
    "PAD": d.render_pad, "PADV2": d.render_pad, "GATHER": d.render_gather,
    "DYNAMIC_UPDATE_SLICE": d.render_dynamic_update_slice,
    "RESIZE_NEAREST_NEIGHBOR": r.render_resize_nearest,
    "SPLIT": d.render_split, "UNPACK": d.render_unpack, "SUM": e.render_sum,
    "RELU": a.render_relu, "RELU6": a.render_relu6, "LEAKY_RELU": a.render_leaky_relu,
    "LOGISTIC": a.render_logistic, "TANH": a.render_tanh, "HARD_SWISH": a.render_hard_swish,
    "MAXIMUM": a.render_maximum, "MINIMUM": a.render_minimum, "ARG_MAX": a.render_arg_max,
}
"""Operator name -> render function: the ops the generated C supports."""

SUPPORTED_OPS: frozenset[str] = frozenset(RENDERERS)
PLANNER_OPS: frozenset[str] = frozenset({"DYNAMIC_UPDATE_SLICE"})
"""Operators only the planner's rewrites emit (2-D patches store their tiles with them); the
reader does not accept them from a file (no shape checks or tests against tflite-micro)."""
"""Operators the code generator (and the kernel library) supports."""


@dataclass(frozen=True)
class _Io:
    """One model input or output as the templates show it."""

    name: str  # tensor name in the model
    dtype: str  # IR dtype
    shape: tuple[int, ...]  # static shape
    nbytes: int  # payload size
    ptr: str  # C byte-pointer expression
    scale: str  # C float literal of the scale (0 when unquantized)
    zero_point: int  # zero point (0 when unquantized)
    index: int = -1  # tensor index
    cname: str = "NULL"  # the name as a C string literal
    caller: bool = False  # read from / written to the caller's buffer (ptr is then NULL)


def _identifier(prefix: str) -> str:
    from export.codegen import CodegenError

    p = prefix.rstrip("_")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
        raise CodegenError(f"prefix '{prefix}' is not a C identifier (expected [A-Za-z_][A-Za-z0-9_]*)")
    return p


def _storage(graph: Graph, plan: MemoryPlan, p: str) -> dict[int, str]:
    """Tensor index -> C byte-pointer expression of its storage."""
    out: dict[int, str] = {}
    for t in graph.tensors:
        if t.is_constant:
            out[t.index] = f"{p}_c{t.index}"
        elif t.index in plan.tensor_offsets:
            out[t.index] = f"({p}_arena + {plan.tensor_offsets[t.index]})"
        elif t.index in plan.persistent_offsets:
            out[t.index] = f"({p}_persistent + {plan.persistent_offsets[t.index]})"
    for t in plan.caller_tensors:
        out[t] = (f"{p}_caller_in[{graph.inputs.index(t)}]" if t in graph.inputs
                  else f"{p}_caller_out[{graph.outputs.index(t)}]")
    for t in plan.aliases:
        root, seen = t, {t}
        while root not in out and root in plan.aliases and plan.aliases[root] not in seen:
            root = plan.aliases[root]
            seen.add(root)
        if t not in out and root in out:
            out[t] = out[root]
    return out


def _check_storage(graph: Graph, storage: Mapping[int, str]) -> None:
    from export.codegen import CodegenError

    for op in graph.operators:
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and t not in storage:
                tn = graph.tensors[t]
                raise CodegenError(f"{graph.name}: operator {op.index} {op.op}: tensor {t} "
                                   f"'{tn.name}' has no place in the memory plan (expected an "
                                   f"arena or persistent offset, or an alias)")
            if t >= 0 and graph.tensors[t].dtype not in C_TYPES:
                tn = graph.tensors[t]
                raise CodegenError(f"{graph.name}: operator {op.index} {op.op}: tensor {t} "
                                   f"'{tn.name}' is {tn.dtype}, which the kernels do not take "
                                   f"(expected one of {', '.join(C_TYPES)})")


def _narrow_only(rendered: list[Rendered], p: str) -> set[int]:
    """Constant tensors every reader of which reads only on builds without FE_CONV_WIDE."""
    narrow = {t for one in rendered for t in one.narrow_only}
    for one in rendered:
        text = "\n".join((*one.decls, *one.body))
        narrow -= {t for t in narrow if t not in one.narrow_only
                   and re.search(rf"\b{p}_c{t}\b", text)}
    return narrow


def _guard_narrow(decl: str, narrow: bool) -> str:
    return f"#if !FE_CONV_WIDE\n{decl}\n#endif" if narrow else decl


def _constant_decl(t: Tensor, name: str) -> str:
    values = t.numpy().reshape(-1)
    if t.dtype == "float32":
        text = [float_literal(v) for v in values]
        return c_array("float", name, text, per_row=4)
    if t.dtype in ("int64",):
        return c_array("int64_t", name, [f"{int(v)}LL" for v in values], per_row=8)
    return c_array(C_TYPES[t.dtype], name, [int(v) for v in np.asarray(values)],
                   per_row=16 if t.dtype in ("int8", "uint8", "bool") else 8)


def _io(graph: Graph, idx: tuple[int, ...], storage: Mapping[int, str],
        caller: tuple[int, ...] = ()) -> list[_Io]:
    items = []
    for i in idx:
        t = graph.tensors[i]
        q = t.quant
        items.append(_Io(name=t.name, dtype=t.dtype, shape=t.shape, nbytes=t.nbytes,
                         ptr="NULL" if i in caller else f"(uint8_t *){storage[i]}",
                         scale=float_literal(q.scale[0]) if q else "0.0f",
                         zero_point=int(q.zero_point[0]) if q else 0, caller=i in caller))
    return items


def _caller_checks(graph: Graph, plan: MemoryPlan, p: str) -> list[str]:
    """Statements at the top of ``invoke``: a caller buffer not given fails its operator."""
    from export.codegen import CodegenError

    prod, cons = graph.producers(), graph.consumers()
    lines = []
    for t in plan.caller_tensors:
        if t in graph.inputs:
            k, where = min(cons[t], key=plan.order.index), f"{p}_caller_in[{graph.inputs.index(t)}]"
        elif t in prod:
            k, where = prod[t], f"{p}_caller_out[{graph.outputs.index(t)}]"
        else:
            raise CodegenError(f"{graph.name}: caller tensor {t} is neither read nor made")
        lines.append(f"if ({where} == NULL) {{ return -{k + 1}; }}")
    return lines


def _states(graph: Graph, plan: MemoryPlan, storage: Mapping[int, str]) -> list[_Io]:
    """The persistent tensors that own their storage (not views), in tensor index order."""
    idx = plan.state_tensors
    return [replace(s, index=t, cname=json.dumps(s.name, ensure_ascii=True))
            for s, t in zip(_io(graph, idx, storage), idx, strict=True)]


_DECL = re.compile(r"(#if [^\n]+\n)?static const (\w+) (\w+)(\[\d+\])? = ([^#]*)(?(1)#endif\s*)$")
_OP_NAME = re.compile(r"\b\w+_op\d+_\w+\b")


def _dedupe(decls: list[str], steps: list[dict[str, object]]
            ) -> tuple[list[str], list[dict[str, object]]]:
    """Declarations with equal type and value emitted once (the operators of a banded segment
    share their requantization tables and, where their shapes agree, their parameters); later
    names are replaced by the first in the other declarations and the operator calls. A
    declaration under an ``#if`` line (a table only some builds link) shared with one under
    another line, or under none, is kept once under the union of their conditions: the patches
    of one convolution may take different kernel variants and still read the same table."""
    rename: dict[str, str] = {}
    seen: dict[tuple[str, str, str], tuple[int, list[str] | None]] = {}  # -> (kept, guards)
    kept: list[str] = []
    verbatim: set[str] = set()

    def fix(text: str) -> str:
        return _OP_NAME.sub(lambda m: rename.get(m.group(0), m.group(0)), text) if rename else text

    for decl in decls:
        decl = fix(decl)
        m = _DECL.match(decl)
        if m is None or (m.group(1) and not _OP_NAME.fullmatch(m.group(3))):
            if decl not in verbatim:  # (e.g. a conv's widened weights, shared by its patches)
                verbatim.add(decl)
                kept.append(decl)
            continue
        key = (m.group(2), m.group(4) or "", m.group(5))
        guard = m.group(1)[len("#if "):].strip() if m.group(1) else None
        if key in seen:
            i, guards = seen[key]
            rename[m.group(3)] = _DECL.match(kept[i]).group(3)  # type: ignore[union-attr]
            if guards is not None and (guard is None or guard not in guards):
                guards = None if guard is None else [*guards, guard]
                seen[key] = (i, guards)
                kept[i] = _guarded(kept[i], guards)
            continue
        seen[key] = (len(kept), None if guard is None else [guard])
        kept.append(decl)
    out = [{**s, "body": [fix(line) for line in s["body"]]}  # type: ignore[attr-defined]
           for s in steps]
    return kept, out


def _guarded(decl: str, guards: list[str] | None) -> str:
    """``decl`` (guarded or not, a :data:`_DECL` match) under ``guards`` joined by ``||``
    (none: unguarded)."""
    m = _DECL.match(decl)
    assert m is not None
    body = decl[len(m.group(1) or ""):]
    if m.group(1):
        body = body.rstrip()
        body = body[: -len("#endif")].rstrip() if body.endswith("#endif") else body
    if not guards:
        return body
    cond = guards[0] if len(guards) == 1 else " || ".join(f"({g})" for g in guards)
    return f"#if {cond}\n{body}\n#endif"


def emit_c(graph: Graph, plan: MemoryPlan, *, prefix: str = "model") -> dict[str, str]:
    """C sources of ``graph`` laid out by ``plan``: ``{prefix}.c`` and ``{prefix}.h``."""
    from export.codegen import CodegenError

    p = _identifier(prefix)
    storage = _storage(graph, plan, p)
    _check_storage(graph, storage)
    decls: list[str] = []
    steps: list[dict[str, object]] = []
    rendered: list[Rendered] = []
    for k in plan.order:
        op = graph.operators[k]
        render = RENDERERS.get(op.op)
        if render is None:
            raise CodegenError(f"{graph.name}: operator {op.index} {op.op} has no kernel "
                               f"(supported: {', '.join(sorted(RENDERERS))})")
        scratch = f"({p}_arena + {plan.scratch[k].offset})" if k in plan.scratch else None
        r = render(OpContext(graph=graph, op=op, prefix=p, storage=storage, scratch=scratch,
                            aliased=bool(op.outputs) and bool(op.inputs)
                            and plan.aliases.get(op.outputs[0]) == op.inputs[0]))
        rendered.append(r)
        decls.extend(r.decls)
        shapes = " ".join(str(graph.tensors[t].shape) for t in op.outputs)
        steps.append({"comment": f"operator {op.index}: {op.op} -> {shapes}", "body": r.body})
    decls, steps = _dedupe(decls, steps)
    code = "\n".join([*decls, *(line for s in steps for line in s["body"])])  # type: ignore[attr-defined]
    used = sorted({t for op in graph.operators for t in op.inputs if t >= 0
                   and graph.tensors[t].is_constant
                   and re.search(rf"\b{p}_c{t}\b", code)})
    narrow = _narrow_only(rendered, p)
    constants = [_guard_narrow(_constant_decl(graph.tensors[t], f"{p}_c{t}"), t in narrow)
                 for t in used]
    states = _states(graph, plan, storage)
    variables = [{"ptr": s.ptr.replace("(uint8_t *)", ""), "nbytes": s.nbytes,
                  "zero_point": s.zero_point} for s in states]
    ctx = {"p": p, "P": p.upper(), "source": graph.name, "header": f"{p}.h",
           "arena_bytes": plan.arena_bytes, "persistent_bytes": plan.persistent_bytes,
           "arena_len": max(1, plan.arena_bytes), "persistent_len": max(1, plan.persistent_bytes),
           "alignment": plan.alignment, "constants": constants, "decls": decls, "steps": steps,
           "inputs": _io(graph, graph.inputs, storage, plan.caller_tensors),
           "outputs": _io(graph, graph.outputs, storage, plan.caller_tensors),
           "variables": variables, "caller_checks": _caller_checks(graph, plan, p),
           "caller_bytes": sum(-(-graph.tensors[t].nbytes // 16) * 16 for t in plan.caller_tensors),
           "states": states,
           "input_states": [next((k for k, s in enumerate(states) if s.index == i), -1)
                            for i in graph.inputs]}
    env = environment()
    return {f"{p}.c": env.get_template("model.c.j2").render(**ctx),
            f"{p}.h": env.get_template("model.h.j2").render(**ctx)}
