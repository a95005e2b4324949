"""Scratch memory the int8 kernels need beyond their inputs and outputs.

Owned by the code generator / kernel library; the planner calls :func:`scratch_bytes` to
reserve the space in the arena for the lifetime of the operator.
"""

from __future__ import annotations

from export.ir import Graph, Operator

DW_MIN_PLANE = 32
"""Fewest output pixels for which the Helium in-place depthwise takes the padded-plane family;
smaller planes take 16 channels at a time (``FE_MVE_DW_MIN_PLANE`` in
``edge/kernels/fe_dw_mve.h``; tests/export/test_kernels_board_dw_mve.py checks they agree)."""

DW_SMALL_LANES = 16
"""Channels the Helium small-plane depthwise holds in the scratch per output pixel."""


def scratch_bytes(graph: Graph, op: Operator, *, inplace: bool = False) -> int:
    """Bytes of arena scratch ``op``'s kernel needs while it runs (``inplace``: the planner
    lets it write its output over input 0).

    DEPTHWISE_CONV_2D in place needs the largest of one output channel, out_h x out_w bytes
    (TinyEngine's in-place depthwise: the portable and DSP kernels), one channel's padded
    input plane (:func:`depthwise_plane_bytes`: the Helium kernel, ``edge/kernels/fe_dw_mve.h``)
    and, on planes of fewer than :data:`DW_MIN_PLANE` output pixels (the Helium kernel's
    small-plane family), :data:`DW_SMALL_LANES` output channels.
    Every other kernel of ``edge/kernels`` needs none: BATCH_MATMUL walks the rhs with strides
    instead of transposing it, MEAN/SUM sum each output in a register instead of TFLM's int32
    temp buffer, PAD fills the output in place.
    """
    if inplace and op.op == "DEPTHWISE_CONV_2D":
        out = graph.tensors[op.outputs[0]]
        plane = out.shape[1] * out.shape[2]
        small = DW_SMALL_LANES * plane if plane < DW_MIN_PLANE else 0
        return max(plane, depthwise_plane_bytes(graph, op), small)
    return 0


def depthwise_plane_bytes(graph: Graph, op: Operator) -> int:
    """One channel's padded input plane as the Helium in-place depthwise lays it out
    (``fe_mve_dwt_scratch`` in ``edge/kernels/fe_dw_mve.h``, the same formula): every input row
    and column a filter window reaches, rows = (out_h - 1) stride_h + (filter_h - 1) dilation_h
    + 1 and cols likewise, plus 3 stride_w bytes that a block's lanes past the row end may read
    past the last row."""
    out = graph.tensors[op.outputs[0]]
    w = graph.tensors[op.inputs[1]]
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    rows = (out.shape[1] - 1) * sh + (w.shape[1] - 1) * dh + 1
    cols = (out.shape[2] - 1) * sw + (w.shape[2] - 1) * dw + 1
    return rows * cols + 3 * sw
