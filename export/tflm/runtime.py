"""C++ sources that run a model with TFLite Micro behind the generated-C model API.

``tflm_model_sources(model, prefix=..., persistent=...)`` plans the model for TFLite Micro
(:func:`export.tflm.offline_plan.tflm_plan`, the plan ``foley-edge plan --planned`` embeds:
persistent inputs past the arena, so a KV cache keeps its rows between invocations), writes that
plan into the flatbuffer, measures TFLM's arena for it with the ``tflite-micro`` wheel, and
returns (pure: writes nothing):

* ``{prefix}_model_data.h/.cc`` and ``{prefix}_op_resolver.h``: the TFLM bundle
  (:func:`export.tflm.bundle.emit_tflm_bundle`: the planned model as an aligned array, an op
  resolver with exactly the operators used, the arena size);
* ``{prefix}.h``: the same header the code generator writes (``model.h.j2``: tensor sizes,
  scales, zero points, the API), so code written against generated C compiles unchanged;
* ``{prefix}_tflm.cc``: that API implemented over one ``fe_tflm::Model``
  (``edge/firmware/tflm/fe_tflm_model.h``), plus ``{prefix}_tflm_start(profiler)`` and
  ``{prefix}_tflm_arena_used()`` for the bench.

The arena reserved is the smallest with which the wheel creates the interpreter
(:func:`export.tflm.arena.working_arena_bytes`; a 64-bit host: TFLM's bookkeeping is smaller on a
32-bit core, so it is an upper bound) plus :data:`export.tflm.bundle.ARENA_MARGIN`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from export.codegen.cformat import environment
from export.codegen.quant import float_literal
from export.ir import Graph
from export.tflm import TflmError
from export.tflm.bundle import ARENA_MARGIN, emit_tflm_bundle, identifier, render, resolver_method


@dataclass(frozen=True)
class TflmSources:
    """One model's TFLM runtime sources."""

    prefix: str  # symbol prefix of the API
    files: dict[str, str]  # file name -> text
    planned_model: bytes  # the flatbuffer with the offline plan, as compiled in
    arena_bytes: int  # TFLM arena reserved (the wheel's total + margin)
    ops: tuple[str, ...]  # builtin operators used, in resolver order
    order: tuple[int, ...]  # original operator index of each operator of the planned model


def _io_rows(graph: Graph, idx: tuple[int, ...]) -> list[dict[str, object]]:
    rows = []
    for i in idx:
        t = graph.tensors[i]
        q = t.quant
        rows.append({"name": t.name, "dtype": t.dtype, "shape": t.shape, "nbytes": t.nbytes,
                     "scale": float_literal(q.scale[0]) if q else "0.0f",
                     "zero_point": int(q.zero_point[0]) if q else 0,
                     "caller": False})  # TFLite Micro keeps every input in its arena
    return rows


def _states(graph: Graph, persistent: tuple[int, ...]) -> list[dict[str, object]]:
    states = []
    for t in sorted(set(persistent)):
        if t not in graph.inputs:
            raise TflmError(f"{graph.name}: persistent tensor {t} '{graph.tensors[t].name}' is "
                            "not a graph input: the TFLM runtime keeps only inputs across invokes")
        row = _io_rows(graph, (t,))[0]
        states.append({**row, "input": graph.inputs.index(t),
                       "cname": json.dumps(graph.tensors[t].name, ensure_ascii=True)})
    return states


def _planned(model: bytes, graph: Graph,
             persistent: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:  # fmt: skip
    """(the model with our offline plan, its operator order); the model as it is, planned by
    TFLM itself, when our planner cannot plan it (an operator it does not know) and no input
    must persist."""
    from export.planner import PlanError
    from export.tflm.offline_plan import tflm_plan, write_offline_plan

    try:
        plan = tflm_plan(graph, persistent=persistent)
        return write_offline_plan(model, graph, plan), tuple(plan.order)
    except (PlanError, TflmError):
        if persistent:
            raise
        return model, tuple(range(len(graph.operators)))


def tflm_model_sources(model: bytes, *, prefix: str, persistent: tuple[int, ...] = (),
                       arena_bytes: int | None = None) -> TflmSources:  # fmt: skip
    """TFLM runtime sources of ``model`` under ``prefix`` (see the module docstring);
    ``arena_bytes`` overrides the arena reserved (the bench reserves plenty and reads back what
    the board used)."""
    from export.tflite_reader import read_tflite
    from export.tflm.arena import working_arena_bytes
    p = identifier(prefix)
    graph = read_tflite(model, compiler_ops=False)
    ops = tuple(sorted({resolver_method(op.op) for op in graph.operators}))
    planned, order = _planned(model, graph, persistent)
    arena = working_arena_bytes(planned) if arena_bytes is None else arena_bytes
    files = emit_tflm_bundle(planned, graph, arena, p, planned=True)
    states = _states(graph, persistent)
    files[f"{p}.h"] = environment().get_template("model.h.j2").render(
        p=p, P=p.upper(), source=f"{graph.name} (TFLite Micro)", arena_bytes=arena,
        persistent_bytes=0, caller_bytes=0, inputs=_io_rows(graph, graph.inputs),
        outputs=_io_rows(graph, graph.outputs), states=states)
    files[f"{p}_tflm.cc"] = render("tflm_model.cc.j2",
        p=p, P=p.upper(), source=graph.name, n_ops=len(ops), states=states)
    return TflmSources(p, files, planned, arena + ARENA_MARGIN, ops, order)
