"""Scratch memory the int8 kernels need beyond their inputs and outputs.

Owned by the code generator / kernel library; the planner calls :func:`scratch_bytes` to
reserve the space in the arena for the lifetime of the operator.
"""

from __future__ import annotations

from export.ir import Graph, Operator


def scratch_bytes(graph: Graph, op: Operator) -> int:
    """Bytes of arena scratch ``op``'s kernel needs while it runs (0 for most kernels)."""
    del graph, op
    return 0
