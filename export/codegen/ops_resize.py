"""RESIZE_NEAREST_NEIGHBOR: the source row and column tables (TFLite Micro's arithmetic, in
float32, computed here once) and the call of ``fe_resize_nearest`` (edge/kernels/resize_nearest.c)."""

from __future__ import annotations

import math

import numpy as np

from export.codegen.cformat import c_array, c_struct
from export.codegen.context import OpContext, Rendered
from export.ir import DTYPE_BYTES


def nearest_sources(input_size: int, output_size: int, *, align_corners: bool,
                    half_pixel_centers: bool) -> list[int]:
    """The input index of every output index, as tflite-micro's ``GetNearestNeighbor``
    (reference_ops/resize_nearest_neighbor.h) computes it in float32:

    1. scale = (in - 1) / (out - 1) with align_corners and out > 1, else in / out;
    2. v = (i + 0.5 if half_pixel_centers else i) * scale;
    3. round half away from zero (align_corners) or floor, then min(in - 1);
       max(0) with half_pixel_centers.

    Every step is one IEEE single operation, so NumPy float32 gives the C result bit for bit.
    O(output_size).
    """
    f32 = np.float32
    if align_corners and output_size > 1:
        scale = f32(input_size - 1) / f32(output_size - 1)
    else:
        scale = f32(input_size) / f32(output_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    out = []
    for i in range(output_size):
        v = float((f32(i) + offset) * scale)  # >= 0, exact as a double
        k = math.floor(v)
        if align_corners and v - k >= 0.5:  # std::round: halves away from zero
            k += 1
        k = min(k, input_size - 1)
        if half_pixel_centers:
            k = max(0, k)
        out.append(k)
    return out


def render_resize_nearest(ctx: OpContext) -> Rendered:
    """RESIZE_NEAREST_NEIGHBOR of a rank-4 NHWC tensor to the constant size of input 1."""
    from export.codegen import CodegenError

    src, out = ctx.need(0), ctx.out()
    size = [int(v) for v in np.asarray(ctx.const(1)).reshape(-1)]
    if len(src.shape) != 4 or len(out.shape) != 4:
        raise CodegenError(f"{ctx.where}: expected rank-4 NHWC input and output, found "
                           f"{list(src.shape)} -> {list(out.shape)}")
    expected = (src.shape[0], *size, src.shape[3])
    if len(size) != 2 or tuple(out.shape) != expected:
        raise CodegenError(f"{ctx.where}: expected output shape {list(expected)} (size {size}), "
                           f"found {list(out.shape)}")
    if src.dtype != out.dtype or (src.dtype == "int8" and src.quant != out.quant):
        raise CodegenError(f"{ctx.where}: expected the output's type and quantization to equal "
                           f"the input's, found {src.dtype} {src.quant} vs {out.dtype} {out.quant}")
    flags = {"align_corners": bool(ctx.op.options.get("align_corners", False)),
             "half_pixel_centers": bool(ctx.op.options.get("half_pixel_centers", False))}
    ys = nearest_sources(src.shape[1], out.shape[1], **flags)
    xs = nearest_sources(src.shape[2], out.shape[2], **flags)
    fields = {"batches": src.shape[0], "input_height": src.shape[1], "input_width": src.shape[2],
              "output_height": out.shape[1], "output_width": out.shape[2],
              "depth_bytes": src.shape[3] * DTYPE_BYTES[src.dtype],
              "source_y": ctx.name("ys"), "source_x": ctx.name("xs")}
    call = (f"fe_resize_nearest(&{ctx.name('p')}, {ctx.ptr(src, const=True)}, "
            f"{ctx.ptr(out)});")
    return Rendered((c_array("int32_t", ctx.name("ys"), ys),
                     c_array("int32_t", ctx.name("xs"), xs),
                     c_struct("fe_resize_nearest_params", ctx.name("p"), fields)), (call,))
