"""Scratch memory the int8 kernels need beyond their inputs and outputs.

Owned by the code generator / kernel library; the planner calls :func:`scratch_bytes` to
reserve the space in the arena for the lifetime of the operator.
"""

from __future__ import annotations

from export.ir import Graph, Operator


def scratch_bytes(graph: Graph, op: Operator, *, inplace: bool = False) -> int:
    """Bytes of arena scratch ``op``'s kernel needs while it runs (``inplace``: the planner
    lets it write its output over input 0).

    DEPTHWISE_CONV_2D in place needs one output channel, out_h x out_w bytes (TinyEngine's
    in-place depthwise). Every other kernel of ``edge/kernels`` needs none: BATCH_MATMUL walks
    the rhs with strides instead of transposing it, MEAN/SUM sum each output in a register
    instead of TFLM's int32 temp buffer, PAD fills the output in place.
    """
    if inplace and op.op == "DEPTHWISE_CONV_2D":
        out = graph.tensors[op.outputs[0]]
        return out.shape[1] * out.shape[2]
    return 0
