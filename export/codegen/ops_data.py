"""Render functions of data-movement operators, all one strided copy (``fe_copy_nd``) or a
few: RESHAPE/SQUEEZE/EXPAND_DIMS (views), TRANSPOSE, CONCATENATION, PACK, STRIDED_SLICE,
SLICE, PAD/PADV2, DYNAMIC_UPDATE_SLICE and GATHER."""

from __future__ import annotations

import math

import numpy as np

from export.codegen.cformat import c_struct
from export.codegen.context import MAX_DIMS, OpContext, Rendered, merge_walk, strides
from export.codegen.quant import scale_zp
from export.ir import DTYPE_BYTES, IRError, Tensor
from export.planner.aliasing import transposed_strides
from export.slices import slice_bounds


def _copy_fields(dims: list[int], in_stride: list[int], out_stride: list[int], *, in_start: int,
                 out_start: int, elem_bytes: int) -> dict[str, object]:
    dims, in_stride, out_stride = merge_walk(dims, in_stride, out_stride)
    k = MAX_DIMS - len(dims)
    return {"dims": [1] * k + dims, "in_stride": [0] * k + in_stride,
            "out_stride": [0] * k + out_stride, "in_start": in_start, "out_start": out_start,
            "elem_bytes": elem_bytes}


def _copy_call(ctx: OpContext, name: str, src: Tensor, dst: Tensor) -> str:
    return f"fe_copy_nd(&{name}, {ctx.ptr(src, const=True)}, {ctx.ptr(dst)});"


def _same_quant(ctx: OpContext, a: Tensor, b: Tensor) -> None:
    from export.codegen import CodegenError

    if a.dtype == "int8" and a.quant != b.quant:
        raise CodegenError(f"{ctx.where}: tensor {a.index} '{a.name}' and output {b.index} have "
                           f"different quantization ({a.quant} vs {b.quant}); expected equal")


def render_view(ctx: OpContext) -> Rendered:
    """RESHAPE / SQUEEZE / EXPAND_DIMS: nothing when the plan aliased them, else a flat copy."""
    src, dst = ctx.need(0), ctx.out()
    if ctx.aliased:
        return Rendered((), (f"/* {ctx.op.op} {src.index} -> {dst.index}: view, no code */",))
    return Rendered((), (f"memcpy({ctx.ptr(dst)}, {ctx.ptr(src, const=True)}, {src.nbytes}u);",))


def render_transpose(ctx: OpContext) -> Rendered:
    """TRANSPOSE by a constant permutation; nothing when the plan made it a strided view (its
    BATCH_MATMUL readers take the permuted strides)."""
    src, dst = ctx.need(0), ctx.out()
    if ctx.aliased:
        return Rendered((), (f"/* TRANSPOSE {src.index} -> {dst.index}: strided view, no code */",))
    perm = [int(p) for p in np.asarray(ctx.const(1)).reshape(-1)]
    fields = _copy_fields(list(dst.shape), transposed_strides(src.shape, perm), strides(list(dst.shape)),
                          in_start=0, out_start=0, elem_bytes=DTYPE_BYTES[src.dtype])
    return Rendered((c_struct("fe_copy_params", ctx.name("p"), fields),),
                    (_copy_call(ctx, ctx.name("p"), src, dst),))


def _concat(ctx: OpContext, inputs: list[Tensor], axis: int, *, stacked: bool,
            skip_first: bool = False) -> Rendered:
    """Copy each input to its slot of the output; ``skip_first``: input 0 already lies at the
    output's front (a persistent cache the planner grows in place) and is not copied."""
    dst = ctx.out()
    axis %= len(dst.shape)
    out_st = strides(list(dst.shape))
    decls, body, pos = [], [], 0
    for k, src in enumerate(inputs):
        _same_quant(ctx, src, dst)
        shape = list(src.shape)
        if stacked:
            shape.insert(axis, 1)
        if k or not skip_first:
            name = ctx.name(f"p{k}")
            decls.append(c_struct("fe_copy_params", name, _copy_fields(
                shape, strides(shape), out_st, in_start=0, out_start=pos * out_st[axis],
                elem_bytes=DTYPE_BYTES[src.dtype])))
            body.append(_copy_call(ctx, name, src, dst))
        pos += shape[axis]
    return Rendered(tuple(decls), tuple(body))


def render_concatenation(ctx: OpContext) -> Rendered:
    """CONCATENATION (inputs must share the output's quantization, as the converter emits)."""
    inputs = [ctx.need(i) for i in range(len(ctx.op.inputs))]
    return _concat(ctx, inputs, int(ctx.op.options.get("axis", 0)), stacked=False,
                   skip_first=ctx.storage[inputs[0].index] == ctx.storage[ctx.out().index])


def render_pack(ctx: OpContext) -> Rendered:
    """PACK: concatenation along a new axis."""
    inputs = [ctx.need(i) for i in range(len(ctx.op.inputs))]
    return _concat(ctx, inputs, int(ctx.op.options.get("axis", 0)), stacked=True)


def _slice_render(ctx: OpContext, begin: list[int], step: list[int], shape_in: list[int],
                  end: list[int] | None = None) -> Rendered:
    """One strided copy of the selection; ``end`` (STRIDED_SLICE) gives the selected extent of
    every input dimension (shrunk ones included), else the output's shape does."""
    src, dst = ctx.need(0), ctx.out()
    st = strides(shape_in)
    dims = (list(dst.shape) if end is None
            else [len(range(b, e, s)) for b, e, s in zip(begin, end, step, strict=True)])
    if math.prod(dims) != dst.num_elements:
        from export.codegen import CodegenError

        raise CodegenError(f"{ctx.where}: slice of {math.prod(dims)} elements does not match the "
                           f"output shape {dst.shape}")
    fields = _copy_fields(dims, [s * k for s, k in zip(st, step, strict=True)], strides(dims),
                          in_start=sum(b * s for b, s in zip(begin, st, strict=True)),
                          out_start=0, elem_bytes=DTYPE_BYTES[src.dtype])
    return Rendered((c_struct("fe_copy_params", ctx.name("p"), fields),),
                    (_copy_call(ctx, ctx.name("p"), src, dst),))


def _strided_bounds(ctx: OpContext) -> tuple[list[int], list[int], list[int]]:
    """(begin, end, step) per input dim after masks (no ellipsis / new-axis masks)."""
    from export.codegen import CodegenError

    try:
        return slice_bounds(ctx.graph, ctx.op)
    except IRError as exc:
        raise CodegenError(str(exc)) from exc


def render_strided_slice(ctx: OpContext) -> Rendered:
    """STRIDED_SLICE with begin/end/shrink masks and positive or negative steps; nothing when
    the plan made it a view (its output is one contiguous run of the input, read in place)."""
    if ctx.aliased:
        return Rendered((), (f"/* {ctx.op.op} {ctx.need(0).index} -> {ctx.out().index}: "
                             "view at an offset, no code */",))
    begin, end, step = _strided_bounds(ctx)
    return _slice_render(ctx, begin, step, list(ctx.need(0).shape), end)


def render_slice(ctx: OpContext) -> Rendered:
    """SLICE with constant begin (size taken from the output shape); a view like
    STRIDED_SLICE's when the plan made it one."""
    if ctx.aliased:
        return render_strided_slice(ctx)
    begin = [int(v) for v in ctx.const(1).reshape(-1)]
    shape = list(ctx.need(0).shape)
    return _slice_render(ctx, begin, [1] * len(shape), shape)


def render_pad(ctx: OpContext) -> Rendered:
    """PAD / PADV2: fill with the pad value (output zero point unless given), copy the interior."""
    src, dst = ctx.need(0), ctx.out()
    _same_quant(ctx, src, dst)
    pads = np.asarray(ctx.const(1)).reshape(-1, 2)
    value = scale_zp(dst, ctx.where)[1]
    if ctx.op.op == "PADV2" and ctx.inp(2) is not None:
        value = int(ctx.const(2).reshape(-1)[0])
    out_st = strides(list(dst.shape))
    fields = _copy_fields(list(src.shape), strides(list(src.shape)), out_st, in_start=0,
                          out_start=sum(int(p) * s for p, s in zip(pads[:, 0], out_st, strict=True)),
                          elem_bytes=1)
    body = (f"fe_fill_s8({ctx.ptr(dst)}, {dst.num_elements}, (int8_t){value});",
            _copy_call(ctx, ctx.name("p"), src, dst))
    return Rendered((c_struct("fe_copy_params", ctx.name("p"), fields),), body)


def render_dynamic_update_slice(ctx: OpContext) -> Rendered:
    """DYNAMIC_UPDATE_SLICE with constant start indices (clamped as TFLite does): the update
    copied into its box of the output; the operand copied first unless the plan runs the op in
    place (a patch's tile stored into the cut, :mod:`export.planner.patches`)."""
    src, update, dst = ctx.need(0), ctx.need(1), ctx.out()
    _same_quant(ctx, src, dst)
    _same_quant(ctx, update, dst)
    start = [int(v) for v in np.asarray(ctx.const(2)).reshape(-1)]
    if len(start) != len(dst.shape) or len(update.shape) != len(dst.shape):
        from export.codegen import CodegenError

        raise CodegenError(f"{ctx.where}: start indices {start} and update shape {update.shape} "
                           f"must match the output's rank {len(dst.shape)}")
    start = [min(max(s, 0), n - u) for s, n, u in zip(start, dst.shape, update.shape, strict=True)]
    out_st = strides(list(dst.shape))
    fields = _copy_fields(list(update.shape), strides(list(update.shape)), out_st, in_start=0,
                          out_start=sum(s * k for s, k in zip(start, out_st, strict=True)),
                          elem_bytes=DTYPE_BYTES[dst.dtype])
    body = [_copy_call(ctx, ctx.name("p"), update, dst)]
    if ctx.storage[src.index] != ctx.storage[dst.index]:
        body.insert(0, f"memmove({ctx.ptr(dst)}, {ctx.ptr(src, const=True)}, {src.nbytes}u);")
    return Rendered((c_struct("fe_copy_params", ctx.name("p"), fields),), tuple(body))


def render_gather(ctx: OpContext) -> Rendered:
    """GATHER along ``axis`` (batch_dims 0) with int32 indices; a bad index fails invoke."""
    from export.codegen import CodegenError

    params, idx, out = ctx.need(0), ctx.need(1), ctx.out()
    if int(ctx.op.options.get("batch_dims", 0)) != 0 or idx.dtype != "int32":
        raise CodegenError(f"{ctx.where}: only batch_dims 0 with int32 indices is supported "
                           f"(found batch_dims {ctx.op.options.get('batch_dims')}, {idx.dtype})")
    axis = int(ctx.op.options.get("axis", 0)) % len(params.shape)
    fields = {"outer": math.prod(params.shape[:axis]), "axis_size": params.shape[axis],
              "inner_bytes": math.prod(params.shape[axis + 1:]) * DTYPE_BYTES[params.dtype],
              "n_indices": idx.num_elements}
    call = (f"if (fe_gather(&{ctx.name('p')}, {ctx.ptr(params, const=True)}, "
            f"{ctx.ptr(idx, const=True)}, {ctx.ptr(out)}) != 0) {{ return -{ctx.op.index + 1}; }}")
    return Rendered((c_struct("fe_gather_params", ctx.name("p"), fields),), (call,))




def _pieces(ctx: OpContext, src: Tensor, axis: int, *, squeezed: bool) -> Rendered:
    """One strided copy per output: consecutive slices of ``src`` along ``axis``."""
    st = strides(list(src.shape))
    decls, body, pos = [], [], 0
    for k in range(len(ctx.op.outputs)):
        dst = ctx.out(k)
        _same_quant(ctx, src, dst)
        dims = list(dst.shape)
        if squeezed:
            dims.insert(axis, 1)
        name = ctx.name(f"p{k}")
        decls.append(c_struct("fe_copy_params", name, _copy_fields(
            dims, st, strides(dims), in_start=pos * st[axis], out_start=0,
            elem_bytes=DTYPE_BYTES[src.dtype])))
        body.append(_copy_call(ctx, name, src, dst))
        pos += dims[axis]
    return Rendered(tuple(decls), tuple(body))


def render_split(ctx: OpContext) -> Rendered:
    """SPLIT (input 0: constant axis, input 1: the tensor) into equal pieces."""
    src = ctx.need(1)
    axis = int(np.asarray(ctx.const(0)).reshape(-1)[0]) % len(src.shape)
    return _pieces(ctx, src, axis, squeezed=False)


def render_unpack(ctx: OpContext) -> Rendered:
    """UNPACK: slices along ``axis`` with that axis removed."""
    src = ctx.need(0)
    axis = int(ctx.op.options.get("axis", 0)) % len(src.shape)
    return _pieces(ctx, src, axis, squeezed=True)
