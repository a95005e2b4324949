"""Render functions of elementwise, reduction and (de)quantization operators: ADD, SUB, MUL,
SQUARED_DIFFERENCE, RSQRT, SOFTMAX, MEAN, QUANTIZE, DEQUANTIZE, NEG."""

from __future__ import annotations

import math

import numpy as np

from export.codegen.cformat import c_array, c_struct
from export.codegen.context import MAX_DIMS, OpContext, Rendered, bcast_fields, strides
from export.codegen.fixedpoint import softmax_exp_table
from export.codegen.quant import activation_range, float_literal, quantize_multiplier, scale_zp


def _rescaled_inputs(ctx: OpContext, left_shift: int) -> tuple[dict[str, int], float]:
    """Input offsets and multipliers of ADD/SUB/SQUARED_DIFFERENCE (2 * max input scale)."""
    a, b = ctx.need(0), ctx.need(1)
    s1, zp1 = scale_zp(a, ctx.where)
    s2, zp2 = scale_zp(b, ctx.where)
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    fields = {"left_shift": left_shift, "input1_offset": -zp1, "input2_offset": -zp2,
              "input1_multiplier": m1, "input1_shift": sh1,
              "input2_multiplier": m2, "input2_shift": sh2}
    return fields, twice_max


def _binary_call(ctx: OpContext, fn: str) -> str:
    return (f"{fn}(&{ctx.name('p')}, {ctx.ptr(ctx.need(0), const=True)}, "
            f"{ctx.ptr(ctx.need(1), const=True)}, {ctx.ptr(ctx.out())});")


def _render_add_sub(ctx: OpContext, sign: int) -> Rendered:
    out = ctx.out()
    s_o, zp_o = scale_zp(out, ctx.where)
    left_shift = 20
    rescale, twice_max = _rescaled_inputs(ctx, left_shift)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * s_o))
    lo, hi = activation_range(ctx.op.options.get("fused_activation_function", "NONE"), s_o, zp_o)
    fields = {"shape": bcast_fields(ctx.need(0), ctx.need(1), out), "sign": sign, **rescale,
              "output_offset": zp_o, "output_multiplier": mo, "output_shift": sho,
              "act_min": lo, "act_max": hi}
    return Rendered((c_struct("fe_add_params", ctx.name("p"), fields),),
                    (_binary_call(ctx, "fe_add"),))


def render_add(ctx: OpContext) -> Rendered:
    """ADD with broadcast."""
    return _render_add_sub(ctx, 1)


def render_sub(ctx: OpContext) -> Rendered:
    """SUB with broadcast."""
    return _render_add_sub(ctx, -1)


def render_mul(ctx: OpContext) -> Rendered:
    """MUL with broadcast: (a - zp_a)(b - zp_b) * s_a s_b / s_out."""
    a, b, out = ctx.need(0), ctx.need(1), ctx.out()
    s1, zp1 = scale_zp(a, ctx.where)
    s2, zp2 = scale_zp(b, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    m, sh = quantize_multiplier(s1 * s2 / s_o)
    lo, hi = activation_range(ctx.op.options.get("fused_activation_function", "NONE"), s_o, zp_o)
    fields = {"shape": bcast_fields(a, b, out), "input1_offset": -zp1, "input2_offset": -zp2,
              "output_offset": zp_o, "output_multiplier": m, "output_shift": sh,
              "act_min": lo, "act_max": hi}
    return Rendered((c_struct("fe_mul_params", ctx.name("p"), fields),),
                    (_binary_call(ctx, "fe_mul"),))


def render_squared_difference(ctx: OpContext) -> Rendered:
    """SQUARED_DIFFERENCE with broadcast (left shift 7)."""
    out = ctx.out()
    s_o, zp_o = scale_zp(out, ctx.where)
    left_shift = 7
    rescale, twice_max = _rescaled_inputs(ctx, left_shift)
    mo, sho = quantize_multiplier(twice_max * twice_max / ((1 << (2 * left_shift)) * s_o))
    fields = {"shape": bcast_fields(ctx.need(0), ctx.need(1), out), **rescale,
              "output_offset": zp_o, "output_multiplier": mo, "output_shift": sho}
    return Rendered((c_struct("fe_sqdiff_params", ctx.name("p"), fields),),
                    (_binary_call(ctx, "fe_squared_difference"),))


def render_rsqrt(ctx: OpContext) -> Rendered:
    """RSQRT: multiplier 1 / (sqrt(s_in) * s_out) in double, as TFLite Micro."""
    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    m, sh = quantize_multiplier(1.0 / (math.sqrt(s_i) * s_o))
    fields = {"size": inp.num_elements, "input_zero_point": zp_i, "output_zero_point": zp_o,
              "multiplier": m, "shift": sh}
    call = f"fe_rsqrt(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_struct("fe_rsqrt_params", ctx.name("p"), fields),), (call,))


def render_softmax(ctx: OpContext) -> Rendered:
    """SOFTMAX over the last axis; beta * input scale as a Q5.26 multiplier (TFLite's
    PreprocessSoftmaxScaling) and the matching diff_min (CalculateInputRadius), tabulated as
    the exp of each of the <= 256 int8 differences to the row maximum (const, in flash)."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    s_i, _ = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    if zp_o != -128 or float(np.float32(s_o)) != 1.0 / 256:
        raise CodegenError(f"{ctx.where}: int8 softmax output must have scale 1/256 and zero "
                           f"point -128, found scale {s_o} zero point {zp_o}")
    beta = float(np.float32(ctx.op.options.get("beta", 1.0)))
    diff_bits = 5
    real = min(beta * s_i * (1 << (31 - diff_bits)), (1 << 31) - 1.0)
    if not real > 1.0:  # TFLite's QuantizeMultiplierGreaterThanOne checks the same
        raise CodegenError(f"{ctx.where}: beta * input scale * 2^{31 - diff_bits} must exceed 1, "
                           f"found {real:.6g} (beta {beta}, input scale {s_i})")
    mult, left_shift = quantize_multiplier(real)
    radius = math.floor(((1 << diff_bits) - 1) * (1 << (31 - diff_bits)) / (1 << left_shift))
    depth = inp.shape[-1]
    table = softmax_exp_table(mult, left_shift, -radius, diff_bits)
    fields = {"outer": inp.num_elements // depth, "depth": depth, "exp_table": ctx.name("exp"),
              "table_size": len(table)}
    call = f"fe_softmax(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_array("int32_t", ctx.name("exp"), table, per_row=6),
                     c_struct("fe_softmax_params", ctx.name("p"), fields)), (call,))


def mean_multiplier(s_in: float, s_out: float, count: int) -> tuple[int, int]:
    """TFLite Micro's MEAN rescale: QuantizeMultiplier(s_in / s_out), then folded with
    1 / count: shift = min(floor(log2 count), 32, 31 + shift); m = (m << shift) // count."""
    m, sh = quantize_multiplier(s_in / s_out)
    k = min(count.bit_length() - 1, 32, 31 + sh)
    return (m << k) // count, sh - k


def render_mean(ctx: OpContext) -> Rendered:
    """MEAN over constant axes: exact int32 sums, integer rescale as TFLite Micro."""
    return _render_reduce(ctx, mean=True)


def render_sum(ctx: OpContext) -> Rendered:
    """SUM over constant axes: TFLite Micro's QuantizedMeanOrSum with compute_sum (the
    multiplier of s_in / s_out is not folded with 1 / count)."""
    return _render_reduce(ctx, mean=False)


def _render_reduce(ctx: OpContext, *, mean: bool) -> Rendered:
    inp, out = ctx.need(0), ctx.out()
    axes = {int(a) % len(inp.shape) for a in np.asarray(ctx.const(1)).reshape(-1)}
    st = strides(list(inp.shape))
    keep = [(d, s) for i, (d, s) in enumerate(zip(inp.shape, st, strict=True)) if i not in axes]
    red = [(d, s) for i, (d, s) in enumerate(zip(inp.shape, st, strict=True)) if i in axes]
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    count = math.prod(d for d, _ in red)
    mult, shift = mean_multiplier(s_i, s_o, count) if mean else quantize_multiplier(s_i / s_o)

    def pad(pairs: list[tuple[int, int]], k: int) -> list[int]:
        return [1 if k == 0 else 0] * (MAX_DIMS - len(pairs)) + [p[k] for p in pairs]

    fields = {"keep_dims": pad(keep, 0), "keep_stride": pad(keep, 1), "red_dims": pad(red, 0),
              "red_stride": pad(red, 1), "count": count, "input_zero_point": zp_i,
              "output_zero_point": zp_o, "multiplier": mult, "shift": shift}
    call = f"fe_mean(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_struct("fe_mean_params", ctx.name("p"), fields),), (call,))


def render_quantize(ctx: OpContext) -> Rendered:
    """QUANTIZE: int8 -> int8 requantization, or float32 -> int8."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    s_o, zp_o = scale_zp(out, ctx.where)
    if inp.dtype == "float32" and out.dtype == "int8":
        fields = {"size": inp.num_elements, "scale": float_literal(s_o), "zero_point": zp_o}
        call = f"fe_quantize_f32(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
        return Rendered((c_struct("fe_affine_params", ctx.name("p"), fields),), (call,))
    if inp.dtype != "int8" or out.dtype != "int8":
        raise CodegenError(f"{ctx.where}: QUANTIZE {inp.dtype} -> {out.dtype} is not supported "
                           f"(expected int8 -> int8 or float32 -> int8)")
    s_i, zp_i = scale_zp(inp, ctx.where)
    m, sh = quantize_multiplier(s_i / s_o)
    fields = {"size": inp.num_elements, "input_zero_point": zp_i, "output_zero_point": zp_o,
              "multiplier": m, "shift": sh}
    call = f"fe_requantize(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_struct("fe_requant_params", ctx.name("p"), fields),), (call,))


def render_dequantize(ctx: OpContext) -> Rendered:
    """DEQUANTIZE int8 -> float32 (scale * (q - zp) in double, rounded to float)."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    if inp.dtype != "int8" or out.dtype != "float32":
        raise CodegenError(f"{ctx.where}: DEQUANTIZE {inp.dtype} -> {out.dtype} is not supported "
                           f"(expected int8 -> float32)")
    s_i, zp_i = scale_zp(inp, ctx.where)
    fields = {"size": inp.num_elements, "scale": float_literal(s_i), "zero_point": zp_i}
    call = f"fe_dequantize_f32(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_struct("fe_affine_params", ctx.name("p"), fields),), (call,))


def render_neg(ctx: OpContext) -> Rendered:
    """NEG on float32."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    if inp.dtype != "float32":
        raise CodegenError(f"{ctx.where}: NEG on {inp.dtype} is not supported (expected float32)")
    call = f"fe_neg_f32({inp.num_elements}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((), (call,))

