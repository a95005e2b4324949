"""Which tensors of a graph go to the persistent area: ``--persistent`` specs to tensor indices.

A spec is a tensor index (``"3"``), an exact tensor name, or a substring of graph input names
(``"cache"`` names every KV-cache input). ``foley-edge plan|codegen|bench --persistent`` and the
firmware's model sources (``cache``, ``cross``) name the persistent tensors this way.
"""

from __future__ import annotations

from collections.abc import Sequence

from export.ir import Graph
from export.planner import PlanError


def resolve_persistent(graph: Graph, specs: Sequence[str]) -> tuple[int, ...]:
    """Tensor indices named by ``specs``, in spec order: each spec is an index, else every
    tensor with exactly that name, else every graph input whose name contains it.

    A spec that names nothing is a :class:`PlanError` listing the graph's input names.
    """
    out: list[int] = []
    for spec in specs:
        if spec.isdigit():
            out.append(int(spec))
            continue
        hits = [t.index for t in graph.tensors if t.name == spec] or \
            [t for t in graph.inputs if spec in graph.tensors[t].name]
        if not hits:
            names = ", ".join(graph.tensors[t].name for t in graph.inputs)
            raise PlanError(f"--persistent {spec!r}: no tensor has this name and no graph input "
                            f"name contains it (inputs: {names})")
        out.extend(hits)
    return tuple(out)
