"""Render functions of pointwise activations and raw-value comparisons: RELU, RELU6,
LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, MAXIMUM, MINIMUM, ARG_MAX.

Constants follow TFLite Micro's Prepare functions: where it computes in float32 (LEAKY_RELU's
alpha multiplier, HARD_SWISH's scales, RELU6's quantized six), so do we.
"""

from __future__ import annotations

import math

import numpy as np

from export.codegen.cformat import c_struct
from export.codegen.context import OpContext, Rendered, bcast_fields
from export.codegen.quant import INT8_MAX, INT8_MIN, quantize_multiplier, round_half_away, scale_zp

_SIGMOID_INPUT_BITS = 4


def _int8_io(ctx: OpContext) -> None:
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    if inp.dtype != "int8" or out.dtype != "int8":
        raise CodegenError(f"{ctx.where}: {inp.dtype} -> {out.dtype} is not supported "
                           f"(expected int8 -> int8)")


def _unary(ctx: OpContext, fn: str, ctype: str, fields: dict[str, object]) -> Rendered:
    call = f"{fn}(&{ctx.name('p')}, {ctx.ptr(ctx.need(0), const=True)}, {ctx.ptr(ctx.out())});"
    return Rendered((c_struct(ctype, ctx.name("p"), fields),), (call,))


def render_relu(ctx: OpContext) -> Rendered:
    """RELU: requantize s_in -> s_out, clamp below at the output zero point."""
    _int8_io(ctx)
    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    m, sh = quantize_multiplier(s_i / s_o)
    fields = {"size": inp.num_elements, "input_zero_point": zp_i, "output_zero_point": zp_o,
              "multiplier": m, "shift": sh, "act_min": max(INT8_MIN, zp_o), "act_max": INT8_MAX}
    return _unary(ctx, "fe_relu", "fe_relu_params", fields)


def render_relu6(ctx: OpContext) -> Rendered:
    """RELU6 as TFLite Micro: a clamp of the raw input to [zp_in, quantized 6] (input's params)."""
    _int8_io(ctx)
    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    six = zp_i + round_half_away(float(np.float32(6.0) / np.float32(s_i)))
    six = min(max(six, INT8_MIN), INT8_MAX)
    call = (f"fe_clamp_s8({inp.num_elements}, {zp_i}, {six}, {ctx.ptr(inp, const=True)}, "
            f"{ctx.ptr(out)});")
    return Rendered((), (call,))


def render_leaky_relu(ctx: OpContext) -> Rendered:
    """LEAKY_RELU: identity and alpha multipliers (float32 products, as TFLite Micro)."""
    _int8_io(ctx)
    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    f32 = np.float32
    alpha = f32(ctx.op.options.get("alpha", 0.2))
    ma, sa = quantize_multiplier(float(f32(s_i) * alpha / f32(s_o)))
    mi, si = quantize_multiplier(float(f32(s_i) / f32(s_o)))
    fields = {"size": inp.num_elements, "input_zero_point": zp_i, "output_zero_point": zp_o,
              "identity_multiplier": mi, "identity_shift": si,
              "alpha_multiplier": ma, "alpha_shift": sa}
    return _unary(ctx, "fe_leaky_relu", "fe_leaky_relu_params", fields)


def _sigmoid_fields(ctx: OpContext, out_scale: float, out_zp: int) -> dict[str, object]:
    """Q4.27 input rescale (frexp of s_in * 2^27, no renormalisation) and the input radius."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    if zp_o != out_zp or float(np.float32(s_o)) != out_scale:
        raise CodegenError(f"{ctx.where}: int8 output must have scale {out_scale} and zero point "
                           f"{out_zp}, found scale {s_o} zero point {zp_o}")
    q, left_shift = math.frexp(s_i * float(1 << (31 - _SIGMOID_INPUT_BITS)))
    if left_shift < 0:
        raise CodegenError(f"{ctx.where}: input scale {s_i} is below the 2^-{32 - _SIGMOID_INPUT_BITS} "
                           "the int8 kernel's input rescale can take")
    mult = round_half_away(q * (1 << 31))
    radius = math.floor(((1 << _SIGMOID_INPUT_BITS) - 1) * (1 << (31 - _SIGMOID_INPUT_BITS))
                        / (1 << left_shift))
    return {"size": inp.num_elements, "input_zero_point": zp_i, "input_range_radius": radius,
            "input_multiplier": mult, "input_left_shift": left_shift}


def render_logistic(ctx: OpContext) -> Rendered:
    """LOGISTIC: output scale 1/256, zero point -128."""
    _int8_io(ctx)
    return _unary(ctx, "fe_logistic", "fe_sigmoid_params", _sigmoid_fields(ctx, 1 / 256, -128))


def render_tanh(ctx: OpContext) -> Rendered:
    """TANH: output scale 1/128, zero point 0."""
    _int8_io(ctx)
    return _unary(ctx, "fe_tanh", "fe_sigmoid_params", _sigmoid_fields(ctx, 1 / 128, 0))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then TFLite's DownScaleInt32ToInt16Multiplier (round to Q0.15)."""
    m, shift = quantize_multiplier(real)
    if m >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1, shift
    return (m + (1 << 15)) >> 16, shift


def render_hard_swish(ctx: OpContext) -> Rendered:
    """HARD_SWISH: TFLite's int16 fixed-point method; scales combined in float32."""
    from export.codegen import CodegenError

    _int8_io(ctx)
    inp, out = ctx.need(0), ctx.out()
    s_i, zp_i = scale_zp(inp, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    f32 = np.float32
    hires = f32(1.0 / 128.0) * f32(s_i)
    om, oe = _int16_multiplier(float(hires / f32(s_o)))
    rm, re_ = _int16_multiplier(float(hires / f32(3.0 / 32768.0)))
    if oe > 0:
        raise CodegenError(f"{ctx.where}: output multiplier exponent {oe} (expected <= 0: the "
                           f"output scale must exceed the input scale / 128)")
    fields = {"size": inp.num_elements, "input_zero_point": zp_i, "output_zero_point": zp_o,
              "output_multiplier": om, "output_exponent": oe,
              "reluish_multiplier": rm, "reluish_exponent": re_}
    return _unary(ctx, "fe_hard_swish", "fe_hard_swish_params", fields)


def _render_max_min(ctx: OpContext, fn: str) -> Rendered:
    a, b, out = ctx.need(0), ctx.need(1), ctx.out()
    for t in (a, b, out):
        if t.dtype != "int8":
            from export.codegen import CodegenError

            raise CodegenError(f"{ctx.where}: tensor {t.index} '{t.name}' is {t.dtype} "
                               f"(expected int8)")
    call = (f"{fn}(&{ctx.name('p')}, {ctx.ptr(a, const=True)}, {ctx.ptr(b, const=True)}, "
            f"{ctx.ptr(out)});")
    return Rendered((c_struct("fe_bcast", ctx.name("p"), bcast_fields(a, b, out)),), (call,))


def render_maximum(ctx: OpContext) -> Rendered:
    """MAXIMUM with broadcast (raw values, as TFLite Micro)."""
    return _render_max_min(ctx, "fe_maximum")


def render_minimum(ctx: OpContext) -> Rendered:
    """MINIMUM with broadcast (raw values, as TFLite Micro)."""
    return _render_max_min(ctx, "fe_minimum")


def render_arg_max(ctx: OpContext) -> Rendered:
    """ARG_MAX over a constant axis; int32 or int64 output."""
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    if inp.dtype != "int8" or out.dtype not in ("int32", "int64"):
        raise CodegenError(f"{ctx.where}: ARG_MAX {inp.dtype} -> {out.dtype} is not supported "
                           f"(expected int8 -> int32 or int64)")
    axis = int(np.asarray(ctx.const(1)).reshape(-1)[0]) % len(inp.shape)
    fields = {"outer": math.prod(inp.shape[:axis]), "axis_size": inp.shape[axis],
              "inner": math.prod(inp.shape[axis + 1:]), "out_int64": int(out.dtype == "int64")}
    call = f"fe_arg_max(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, (void *){ctx.storage[out.index]});"
    return Rendered((c_struct("fe_arg_max_params", ctx.name("p"), fields),), (call,))
