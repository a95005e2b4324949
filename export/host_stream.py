"""Run a stream graph's generated C on the host, one stream of hops per process.

``build_stream_host(graph, plan, streaming, *, prefix) -> HostModel`` compiles
:func:`export.codegen.stream.emit_stream_c`'s sources with the streaming harness
(``host_stream_main.c.j2``: ``{prefix}_stream_reset()`` once, then ``{prefix}_stream_invoke()``
per hop); ``model.run(hops)`` pipes the hops (each: the graph inputs, the new frames first)
through one process, so the state carries from hop to hop, and returns each hop's outputs.
"""

from __future__ import annotations

from export.codegen.stream import emit_stream_c
from export.host_runner import HostModel, compile_sources, tensor_specs
from export.ir import Graph
from export.planner.plan import MemoryPlan
from export.planner.stream import Streaming


def build_stream_host(graph: Graph, plan: MemoryPlan, streaming: Streaming, *,
                      prefix: str = "model") -> HostModel:
    """Generate, compile (or reuse) and describe the streaming host binary of ``graph``."""
    files = emit_stream_c(graph, plan, streaming, prefix=prefix)
    exe = compile_sources(files, prefix=prefix, harness_template="host_stream_main.c.j2")
    return HostModel(exe=exe, inputs=tensor_specs(graph, graph.inputs),
                     outputs=tensor_specs(graph, graph.outputs))
