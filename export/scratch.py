"""Scratch memory the int8 kernels need beyond their inputs and outputs.

Owned by the code generator / kernel library; the planner calls :func:`scratch_bytes` to
reserve the space in the arena for the lifetime of the operator.
"""

from __future__ import annotations

from export.ir import Graph, Operator


def scratch_bytes(graph: Graph, op: Operator) -> int:
    """Bytes of arena scratch ``op``'s kernel needs while it runs.

    0 for every kernel of ``edge/kernels``: BATCH_MATMUL walks the rhs with strides instead of
    transposing it, MEAN sums each output in a register instead of TFLM's int32 temp buffer,
    PAD fills the output in place.
    """
    del graph, op
    return 0
