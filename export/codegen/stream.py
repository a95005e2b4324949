"""``emit_stream_c(graph, plan, streaming, *, prefix)``: a stream graph's C plus its stream API.

The stream graph (:func:`export.planner.stream.plan_stream`) is an ordinary graph whose rings'
states are variables, so :func:`export.codegen.emit_c` writes it unchanged (``{prefix}.c/.h``).
What the graph cannot say is the move between hops: each ring's block shifts up by its fresh
rows. ``{prefix}_stream.c/.h`` (templates ``stream.c.j2`` / ``stream.h.j2``) add it through the
model's public state API (``{prefix}_state(k)`` is the front of ring k's block): one table of
(state, fresh bytes, kept bytes) and one ``memmove`` loop, ``{prefix}_stream_reset()`` and the
per-hop ``{prefix}_stream_invoke()``. The shift runs before a hop rather than after one, so
after every invoke the model's tensors hold the rows of the window that ends with that hop.
"""

from __future__ import annotations

from export.codegen import CodegenError, emit_c
from export.codegen.cformat import environment
from export.codegen.emit import _identifier
from export.ir import Graph
from export.planner.plan import MemoryPlan
from export.planner.stream import Streaming


def _ring_rows(graph: Graph, plan: MemoryPlan, streaming: Streaming) -> list[dict[str, object]]:
    """Per ring, its template row; :class:`CodegenError` unless its block grows its state."""
    states = plan.state_tensors
    rows = []
    for r in streaming.rings:
        if plan.grown.get(r.block) != r.state or r.state not in states:
            raise CodegenError(f"{graph.name}: ring of tensor {r.tensor}: expected state "
                               f"{r.state} at the front of the persistent block {r.block} "
                               f"(grown: {dict(plan.grown)}); plan it with plan_stream")
        name = graph.tensors[r.tensor].name
        rows.append({"state": states.index(r.state), "fresh_bytes": r.fresh * r.row_bytes,
                     "keep_bytes": r.keep * r.row_bytes,
                     "comment": f"{name.replace('*/', '*_/')}: keep {r.keep}, fresh {r.fresh} "
                                f"rows of {r.row_bytes} B"})
    return rows


def emit_stream_c(graph: Graph, plan: MemoryPlan, streaming: Streaming, *,
                  prefix: str = "model") -> dict[str, str]:
    """C sources of the stream graph: ``emit_c``'s files plus ``{prefix}_stream.c/.h``."""
    p = _identifier(prefix)
    files = emit_c(graph, plan, prefix=p)
    ctx = {"p": p, "P": p.upper(), "source": graph.name, "header": f"{p}.h",
           "hop": streaming.hop, "window": streaming.window, "warmup": streaming.warmup_hops,
           "state_bytes": streaming.state_bytes, "rings": _ring_rows(graph, plan, streaming)}
    env = environment()
    files[f"{p}_stream.h"] = env.get_template("stream.h.j2").render(**ctx)
    files[f"{p}_stream.c"] = env.get_template("stream.c.j2").render(**ctx)
    return files
