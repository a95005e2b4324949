"""Render functions of the MAC-heavy operators: FULLY_CONNECTED, BATCH_MATMUL, CONV_2D,
DEPTHWISE_CONV_2D, and the pools that share their window arithmetic."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from export.codegen.cformat import c_array, c_struct
from export.codegen.context import OpContext, Rendered, padded
from export.codegen.quant import activation_range, quant_of, quantize_multiplier, scale_zp
from export.ir import Tensor
from export.planner.aliasing import contiguous_strides, matrix_layout, transposed_strides
from export.planner.overlap import PADS_OPTION, window_pad


def _channel_multipliers(inp: Tensor, w: Tensor, out: Tensor, n: int, where: str
                         ) -> tuple[list[int], list[int]]:
    """Per-output-channel (multiplier, shift): in_scale * w_scale[c] / out_scale in double."""
    s_in, _ = scale_zp(inp, where)
    s_out, _ = scale_zp(out, where)
    wq = quant_of(w, where)
    mults, shifts = [], []
    for c in range(n):
        m, s = quantize_multiplier(s_in * float(wq.scale[c if wq.per_channel else 0]) / s_out)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def _mult_tables(ctx: OpContext, mults: list[int], shifts: list[int]) -> tuple[str, str]:
    return (c_array("int32_t", ctx.name("mult"), mults, per_row=8),
            c_array("int32_t", ctx.name("shift"), shifts, per_row=16))


def _constant_bias(w: Tensor, bias: Tensor | None) -> np.ndarray | None:
    """The bias values (int64; zeros without a bias), or None when the bias is not a constant."""
    if bias is not None and not bias.is_constant:
        return None
    return bias.numpy().astype(np.int64).reshape(-1) if bias is not None \
        else np.zeros(w.shape[0], np.int64)


def _folded_values(w: Tensor, bias: Tensor | None, input_offset: int) -> np.ndarray | None:
    """bias + input_offset * (sum of each output channel's weights), or None.

    With it the kernel's inner loop is a pure int8 dot product (input offset 0): sum_k (x_k +
    io) w_k = sum_k x_k w_k + io * sum_k w_k, exact in int32. None when the weights or the bias
    are not constants, or a folded value would leave int32.
    """
    base = _constant_bias(w, bias) if w.is_constant else None
    if base is None:
        return None
    wsum = w.numpy().astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    if base.shape != wsum.shape:
        return None
    folded = base + input_offset * wsum
    return None if np.abs(folded).max(initial=0) >= 2**31 else folded


def _bias_decl(ctx: OpContext, values: np.ndarray) -> str:
    return c_array("int32_t", ctx.name("bias"), [int(v) for v in values], per_row=8)


def _rq8_flag(mults: list[int], shifts: list[int], biases: np.ndarray | None, depth: int) -> int:
    """``fe_fc_params.rq8``: 1 when every feature's requantization is exact as the DSP kernels'
    ``fe_rq8z`` (multiplier >= 0, shift -31..-1, |bias| + depth * 255 * 128 < 2^30: the sums stay
    under 2^30), -1 when one is not, 0 when the biases are not known at build time."""
    if biases is None:
        return 0
    terms = depth * 255 * 128
    ok = all(m >= 0 and -31 <= s <= -1 for m, s in zip(mults, shifts, strict=True)) and \
        float(np.abs(biases).max(initial=0)) + terms < 2**30
    return 1 if ok else -1


def render_fully_connected(ctx: OpContext) -> Rendered:
    """FULLY_CONNECTED: weights [out, in] int8, optional int32 bias, fused activation."""
    inp, w, bias, out = ctx.need(0), ctx.need(1), ctx.inp(2), ctx.out()
    out_depth, depth = w.shape
    per_channel = quant_of(w, ctx.where).per_channel
    mults, shifts = _channel_multipliers(inp, w, out, out_depth if per_channel else 1, ctx.where)
    _, zp_in = scale_zp(inp, ctx.where)
    s_out, zp_out = scale_zp(out, ctx.where)
    lo, hi = activation_range(ctx.op.options.get("fused_activation_function", "NONE"), s_out, zp_out)
    fields = {
        "batches": inp.num_elements // depth, "accum_depth": depth, "output_depth": out_depth,
        "input_offset": -zp_in, "filter_offset": -int(quant_of(w, ctx.where).zero_point[0]),
        "output_offset": zp_out, "multiplier": ctx.name("mult"), "shift": ctx.name("shift"),
        "per_channel": int(per_channel), "act_min": lo, "act_max": hi,
    }
    folded = _folded_values(w, bias, -zp_in) if fields["filter_offset"] == 0 else None
    bias_ptr = ctx.ptr(bias)
    if folded is not None:
        fields["input_offset"] = 0
        bias_ptr = ctx.name("bias")
    fields["rq8"] = _rq8_flag(mults, shifts,
                              folded if folded is not None else _constant_bias(w, bias), depth)
    decls = (*_mult_tables(ctx, mults, shifts),
             *((_bias_decl(ctx, folded),) if folded is not None else ()),
             c_struct("fe_fc_params", ctx.name("p"), fields))
    sparse = _sparse_weights(ctx, w) if fields["filter_offset"] == 0 else None
    if sparse is not None:
        call = (f"fe_fully_connected_sparse(&{ctx.name('p')}, &{ctx.name('sw')}, "
                f"{ctx.ptr(inp, const=True)}, {bias_ptr}, {ctx.ptr(out)});")
        return Rendered((*decls, *sparse), (call,))
    kernel = "fe_fully_connected_rows" if fields["batches"] > 1 else "fe_fully_connected"
    call = (f"{kernel}(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(w)}, "
            f"{bias_ptr}, {ctx.ptr(out)});")
    wide = _wide_fc(w) if fields["batches"] == 1 and folded is not None and \
        fields["rq8"] == 1 else None
    if wide is None:
        return Rendered(decls, (call,))
    name = f"{ctx.storage[w.index]}_ww"
    ww = c_array("uint32_t", name, [f"0x{int(v):08X}u" for v in wide], per_row=6)
    wide_call = (f"fe_fully_connected_wide(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, "
                 f"{name}, {bias_ptr}, {ctx.ptr(out)});")
    return Rendered((*decls, f"#if FE_CONV_WIDE\n{ww}\n#endif"),
                    ("#if FE_CONV_WIDE", wide_call, "#else", call, "#endif"),
                    narrow_only=(w.index,))


FC_WIDE_MAX_BYTES = 16384
"""Largest int8 weight matrix of a single-row FULLY_CONNECTED that DSP builds widen to int16
(``fe_fully_connected_wide``): widening saves ~12 of 30 instructions per 16 MACs (measured on
the zoo mlp, qemu-m4) for 16 extra flash bytes, since each weight is read once per invoke;
worth it for the small layers of a decoder step or a classifier head, not for a vocabulary
projection or a teacher's wide layers, whose bytes would double."""


def _wide_fc(w: Tensor) -> np.ndarray | None:
    """FULLY_CONNECTED's constant weights [out, in] as ``fe_fully_connected_wide`` words (layout
    in fe_kernels.h), or None when they are not constant, ``in`` is not a multiple of 4, or they
    are larger than :data:`FC_WIDE_MAX_BYTES`."""
    out_depth, depth = w.shape
    if not w.is_constant or depth % 4 != 0 or out_depth * depth > FC_WIDE_MAX_BYTES:
        return None
    padded = -(-out_depth // 4) * 4
    full = np.zeros((padded, depth), np.int64)
    full[:out_depth] = w.numpy().astype(np.int64)
    v = full.reshape(padded // 4, 4, depth // 4, 4).transpose(0, 2, 1, 3)  # group, quad, row, value
    lo, hi = v[..., [0, 1]], v[..., [2, 3]]  # words {v0, v2} and {v1, v3}
    words = (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)
    return words.reshape(-1).astype(np.uint32)


SPARSE_MAX_DENSITY = 0.125
"""Largest share of nonzero weights for which FULLY_CONNECTED takes compressed rows: a nonzero
costs the sparse loop about 5 instructions on a Cortex-M4/M7 (index, weight and input loads, a
multiply-add, the loop), a dense weight about 1.3 (SXTB16 + SMLAD, 2 a word); measured on the
student encoder's skeleton adjacency (1.5 % nonzero)."""


def _sparse_weights(ctx: OpContext, w: Tensor) -> tuple[str, ...] | None:
    """Declarations of ``w`` [out, in] as compressed rows (``fe_sparse_s8``: start, col, val),
    or None when the weights are not constant or not sparse enough (:data:`SPARSE_MAX_DENSITY`)
    or their indices would not fit uint16."""
    if not w.is_constant or len(w.shape) != 2:
        return None
    dense = w.numpy().astype(np.int8).reshape(w.shape)
    rows, cols = np.nonzero(dense)  # row-major: each row's nonzeros in column order
    if rows.size > SPARSE_MAX_DENSITY * dense.size or rows.size >= 2**16 or w.shape[1] > 2**16:
        return None
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=w.shape[0]))])
    return (c_array("uint16_t", ctx.name("sw_start"), [int(v) for v in start]),
            c_array("uint16_t", ctx.name("sw_col"), [int(v) for v in cols]),
            c_array("int8_t", ctx.name("sw_val"), [int(v) for v in dense[rows, cols]]),
            c_struct("fe_sparse_s8", ctx.name("sw"), {
                "start": ctx.name("sw_start"), "col": ctx.name("sw_col"),
                "val": ctx.name("sw_val")}))


def _operand_strides(ctx: OpContext, t: Tensor) -> list[int]:
    """Element strides of BATCH_MATMUL operand ``t``: row-major, or the permuted strides of a
    TRANSPOSE the plan made a view (same storage as its input: read in place)."""
    k = ctx.graph.producers().get(t.index)
    op = ctx.graph.operators[k] if k is not None else None
    if op is not None and op.op == "TRANSPOSE" and ctx.storage[t.index] == ctx.storage[op.inputs[0]]:
        src = ctx.graph.tensors[op.inputs[0]]
        perm = [int(p) for p in ctx.graph.tensors[op.inputs[1]].numpy().reshape(-1)]
        return transposed_strides(src.shape, perm)
    return contiguous_strides(t.shape)


def _batch_strides(shape: tuple[int, ...], st: list[int], out_batch: list[int]) -> list[int]:
    """Element strides of the 3 padded batch dims of a matrix operand (0 where broadcast)."""
    pad = 3 - (len(shape) - 2)
    dims, strides = [1] * pad + list(shape[:-2]), [0] * pad + list(st[:-2])
    return [0 if (d == 1 and o != 1) else s for d, s, o in zip(dims, strides, out_batch, strict=True)]


def render_batch_matmul(ctx: OpContext) -> Rendered:
    """BATCH_MATMUL with broadcast batch dims and adj_x / adj_y, per-tensor requantization;
    an operand may be a strided view of a folded TRANSPOSE (its row stride and batch strides
    are the permuted ones, and adj flips when the transpose made the other dimension inner)."""
    lhs, rhs, out = ctx.need(0), ctx.need(1), ctx.out()
    adj_x, adj_y = bool(ctx.op.options.get("adj_x", False)), bool(ctx.op.options.get("adj_y", False))
    s_l, zp_l = scale_zp(lhs, ctx.where)
    s_r, zp_r = scale_zp(rhs, ctx.where)
    s_o, zp_o = scale_zp(out, ctx.where)
    mult, shift = quantize_multiplier(s_l * s_r / s_o)
    out_batch = padded(out.shape[:-2], 3)
    st_l, st_r = _operand_strides(ctx, lhs), _operand_strides(ctx, rhs)
    lay_l = matrix_layout(st_l[-2], st_l[-1], adj_x)
    lay_r = matrix_layout(st_r[-2], st_r[-1], adj_y)
    if lay_l is None or lay_r is None:
        from export.codegen import CodegenError

        raise CodegenError(f"{ctx.where}: an operand's matrix has no contiguous dimension "
                           f"(strides lhs {st_l}, rhs {st_r})")
    fields = {
        "batch_dims": out_batch,
        "lhs_batch_stride": _batch_strides(lhs.shape, st_l, out_batch),
        "rhs_batch_stride": _batch_strides(rhs.shape, st_r, out_batch),
        "rows": lhs.shape[-1] if adj_x else lhs.shape[-2],
        "cols": rhs.shape[-2] if adj_y else rhs.shape[-1],
        "depth": lhs.shape[-2] if adj_x else lhs.shape[-1],
        "adj_x": int(lay_l[0]), "adj_y": int(lay_r[0]),
        "lhs_row_stride": lay_l[1], "rhs_row_stride": lay_r[1],
        "lhs_offset": -zp_l, "rhs_offset": -zp_r,
        "output_offset": zp_o, "multiplier": mult, "shift": shift,
    }
    call = (f"fe_batch_matmul(&{ctx.name('p')}, {ctx.ptr(lhs, const=True)}, "
            f"{ctx.ptr(rhs, const=True)}, {ctx.ptr(out)});")
    return Rendered((c_struct("fe_bmm_params", ctx.name("p"), fields),), (call,))


def _window_fields(ctx: OpContext, in_hw: tuple[int, int], out_hw: tuple[int, int],
                   filt_hw: tuple[int, int]) -> dict[str, int]:
    o = ctx.op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    if PADS_OPTION in o:
        _check_explicit_pads(ctx, in_hw, out_hw, filt_hw, (sh, sw), (dh, dw))
    return {"stride_h": sh, "stride_w": sw, "dilation_h": dh, "dilation_w": dw,
            "pad_h": window_pad(o, "h", in_hw[0], filt_hw[0], out_hw[0]),
            "pad_w": window_pad(o, "w", in_hw[1], filt_hw[1], out_hw[1])}


def _check_explicit_pads(ctx: OpContext, in_hw: tuple[int, int], out_hw: tuple[int, int],
                         filt_hw: tuple[int, int], stride: tuple[int, int],
                         dilation: tuple[int, int]) -> None:
    """A folded PAD's (top, bottom, left, right) must give the output size as VALID over the
    padded input does (rows only where a band's ``fe_pad_h`` does not replace them)."""
    from export.codegen import CodegenError

    top, bottom, left, right = (int(v) for v in ctx.op.options[PADS_OPTION])
    axes = [(1, left, right)] if "fe_pad_h" in ctx.op.options else [(0, top, bottom), (1, left, right)]
    for axis, before, after in axes:
        span = (filt_hw[axis] - 1) * dilation[axis] + 1
        want = (in_hw[axis] + before + after - span) // stride[axis] + 1
        if want != out_hw[axis]:
            raise CodegenError(f"{ctx.where}: explicit pads {before}, {after} on {'HW'[axis]} "
                               f"give output size {want}, found {out_hw[axis]}")


def _taps_inside(f: dict[str, int]) -> bool:
    """True when every filter tap of every output pixel reads inside the input (no padding)."""
    def inside(out: int, stride: int, filt: int, dil: int, size: int, pad: int) -> bool:
        return pad == 0 and (out - 1) * stride + (filt - 1) * dil < size

    return (inside(f["out_h"], f["stride_h"], f["filter_h"], f["dilation_h"], f["in_h"], f["pad_h"])
            and inside(f["out_w"], f["stride_w"], f["filter_w"], f["dilation_w"], f["in_w"],
                       f["pad_w"]))


def _render_conv(ctx: OpContext, *, depthwise: bool) -> Rendered:
    from export.codegen import CodegenError

    inp, w, bias, out = ctx.need(0), ctx.need(1), ctx.inp(2), ctx.out()
    if len(inp.shape) != 4 or inp.shape[0] != 1:
        raise CodegenError(f"{ctx.where}: expected an NHWC input with batch 1, found {inp.shape}")
    _, ih, iw, ic = inp.shape
    _, oh, ow, oc = out.shape
    fh, fw = w.shape[1], w.shape[2]
    if not depthwise and w.shape[3] != ic:
        raise CodegenError(f"{ctx.where}: grouped convolution is not supported "
                           f"(filter depth {w.shape[3]}, input channels {ic})")
    mults, shifts = _channel_multipliers(inp, w, out, oc, ctx.where)
    _, zp_in = scale_zp(inp, ctx.where)
    s_out, zp_out = scale_zp(out, ctx.where)
    lo, hi = activation_range(ctx.op.options.get("fused_activation_function", "NONE"), s_out, zp_out)
    fields = {"in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
              "filter_h": fh, "filter_w": fw, **_window_fields(ctx, (ih, iw), (oh, ow), (fh, fw)),
              "depth_multiplier": oc // ic if depthwise else 1, "input_offset": -zp_in,
              "output_offset": zp_out, "multiplier": ctx.name("mult"), "shift": ctx.name("shift"),
              "act_min": lo, "act_max": hi}
    fn = "fe_depthwise_conv2d" if depthwise else "fe_conv2d"
    folded = None if depthwise or not _taps_inside(fields) else \
        _folded_values(w, bias, -zp_in)
    bias_ptr = ctx.ptr(bias)
    if folded is not None:
        fields["input_offset"] = 0
        bias_ptr = ctx.name("bias")
    tables = (*_mult_tables(ctx, mults, shifts),
              *((_bias_decl(ctx, folded),) if folded is not None else ()))
    biases = folded if folded is not None else _constant_bias(w, bias)
    records = None if depthwise else _mve_rq(w, bias, fields, mults, shifts, -zp_in, zp_out)
    mve: _Variant | None = None
    mve_decls: tuple[str, ...] = ()
    if records is not None:  # Helium builds: fe_conv_px4_mve.h reads the records instead
        mve_name, mve_decl = _mve_rq_decl(ctx, records)
        mve = ("FE_KERNELS_MVE",
               {**fields, "multiplier": "NULL", "shift": "NULL", "mve_rq": mve_name},
               (ctx.ptr(w), "NULL" if folded is not None else bias_ptr))
        mve_decls = (mve_decl,)
    wide = None if depthwise or oh * ow < CONV_WIDE_MIN_PIXELS else _wide_filter(
        w, mults, shifts, biases)
    rq = None if wide is None or biases is None else _wide_rq(w, mults, shifts, biases, zp_out)
    if wide is not None and rq is not None:
        r = _render_wide_conv(ctx, fields, tables, wide, rq, bias_ptr, mve)
        return replace(r, decls=(*mve_decls, *r.decls))
    pairs = None if depthwise or folded is None or (fh, fw) != (1, 1) else _pair_filter(
        w, mults, shifts, folded)
    if pairs is not None:
        r = _render_pair_conv(ctx, fields, tables, pairs, bias_ptr, mve)
        return replace(r, decls=(*mve_decls, *r.decls))
    if mve is not None:
        struct, body = _conv_variants(ctx, fields, (ctx.ptr(w), bias_ptr), [mve])
        return Rendered((*mve_decls, *_guard(tables, [mve]), struct), body)
    decls = (*tables, c_struct("fe_conv_params", ctx.name("p"), fields))
    if depthwise and ctx.storage[inp.index] == ctx.storage[out.index]:
        if ctx.scratch is None or oc != ic:
            raise CodegenError(f"{ctx.where}: in place needs depth multiplier 1 and a scratch of "
                               f"{oh * ow} bytes (found multiplier {oc // ic}, scratch "
                               f"{ctx.scratch})")
        call = (f"fe_depthwise_conv2d_inplace(&{ctx.name('p')}, {ctx.ptr(out)}, {ctx.ptr(w)}, "
                f"{ctx.ptr(bias)}, (int8_t *){ctx.scratch});")
        return Rendered(decls, (call,))
    call = (f"{fn}(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(w)}, {bias_ptr}, "
            f"{ctx.ptr(out)});")
    return Rendered(decls, (call,))


CONV_WIDE_MAX_K = 192
"""Most values per output (filter_h * filter_w * in_c) for which CONV_2D's weights are widened
(``fe_conv_params.filter_wide``): fe_conv_gemm.h's CG_MAX_K, the widened pair buffer on its
stack (tests/export/test_model_board.py checks the two agree)."""


CONV_WIDE_MIN_K = 8
"""Fewest values per output for which the weights are widened. With the int8 weights' epilogue
(fe_rq8z) k = 8 ran 0.6 % slower widened on qemu-m7; with the widened path's precomputed
records (:func:`_wide_rq`, 4 instructions an output) mcunet-vww1's k = 8 expansions (8 -> 48
channels) ran 4.5 -> 2.4 instructions a MAC."""


CONV_WIDE_MIN_PIXELS = 16
"""Fewest output pixels for which the weights are widened. Widening doubles a layer's weight
bytes and saves about 5 of 19 instructions per 16 MACs, so it saves ~0.3 x pixels instructions
per extra flash byte: mcunet-vww1's 3x3-pixel expansions (96 -> 480 channels) would add 46 KB
for 2.6 instructions a byte, its 5x5-pixel ones 6.5, its 10x10 ones 20."""


def _wide_filter(w: Tensor, mults: list[int], shifts: list[int],
                 biases: np.ndarray | None) -> np.ndarray | None:
    """CONV_2D's constant OHWI weights as ``fe_conv_params.filter_wide`` words, or None when the
    DSP GEMM family would not take them or gain little (values per output outside
    :data:`CONV_WIDE_MIN_K`..:data:`CONV_WIDE_MAX_K`, requantization or sums outside
    ``fe_rq8z``'s range, weights or bias not constant).

    Layout: per pair of output channels (an odd last one paired with zeros) and per group of 4
    values (zeros past k), 4 words: channel c's values 0 and 2, its values 1 and 3, then channel
    c + 1's; each word two int16, the first in the low half, as SXTB16 / SXTAB16 split a word
    of four int8 into even and odd bytes. Each int16 is twice the weight: the kernel's sums
    come doubled, as its requantization (:func:`_wide_rq`) takes them."""
    if not w.is_constant or biases is None:
        return None
    oc = w.shape[0]
    k = int(np.prod(w.shape[1:]))
    if not CONV_WIDE_MIN_K <= k <= CONV_WIDE_MAX_K or biases.shape != (oc,) or \
            _rq8_flag(mults, shifts, biases, k) != 1:
        return None
    kp, ocp = -(-k // 4) * 4, oc + (oc & 1)
    full = np.zeros((ocp, kp), np.int64)
    full[:oc, :k] = 2 * w.numpy().astype(np.int64).reshape(oc, k)
    v = full.reshape(ocp // 2, 2, kp // 4, 4).transpose(0, 2, 1, 3)  # pair, group, channel, value
    lo, hi = v[..., [0, 1]], v[..., [2, 3]]  # words {v0, v2} and {v1, v3}
    words = (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)
    return words.reshape(-1).astype(np.uint32)


def _round_term(shift: int, zp_out: int) -> int:
    """2^(r-1) + zp_out 2^r, r = -shift: the rounding of TFLite's final right shift by r with
    the output zero point shifted in, as both requantization records add it before that shift
    (:func:`_wide_rq`, :func:`_mve_rq`)."""
    r = -shift
    return (1 << (r - 1)) + zp_out * (1 << r)


def _wide_rq(w: Tensor, mults: list[int], shifts: list[int], biases: np.ndarray,
             zp_out: int) -> np.ndarray | None:
    """``fe_conv_params.wide_rq`` for :func:`_wide_filter`'s weights: per output channel (an odd
    count padded with a zero row) {2 bias, multiplier, 2^(r-1) + zp_out 2^r, r = -shift}, or
    None when SMMLAR's sum could leave int32 for some channel.

    The kernel computes SMMLAR(2 s, m, round) = SRDHM(s, m) + round with |SRDHM(s, m)| <= |s| m /
    2^31 + 1 and |s| <= |bias| + 255 sum |w| (|x + input offset| <= 255); that plus |round| and
    the 1 the rounding subtracts must stay below 2^31. (A first layer's small input scale gives
    shifts near -24, where zp_out 2^r alone is near 2^31: its sums are small.)"""
    oc = w.shape[0]
    wsum = np.abs(w.numpy().astype(np.int64).reshape(oc, -1)).sum(axis=1)
    rows = []
    for c in range(oc):
        r = -shifts[c]
        rnd = _round_term(shifts[c], zp_out)
        qmax = (abs(int(biases[c])) + 255 * int(wsum[c])) * mults[c] // 2**31 + 1
        if abs(rnd) + qmax + 1 >= 2**31:
            return None
        rows.append([2 * int(biases[c]), mults[c], rnd, r])
    if oc & 1:
        rows.append([0, 0, 0, 1])
    return np.array(rows, np.int64)


_Variant = tuple[str, dict[str, object], tuple[str, str]]
"""A CONV_2D's build variant: the preprocessor condition of the builds (FE_CONV_WIDE,
FE_KERNELS_MVE), its parameter fields and its (filter, bias) arguments."""


def _conv_variants(ctx: OpContext, fields: dict[str, object], args: tuple[str, str],
                   variants: list[_Variant]) -> tuple[str, tuple[str, ...]]:
    """The parameter struct and the fe_conv2d call of a CONV_2D whose builds under each
    variant's condition read its fields and arguments (re-laid weights, precomputed
    requantization), ``fields`` and ``args`` elsewhere."""
    inp, out = ctx.need(0), ctx.out()
    name = ctx.name("p")

    def call(filt: str, bias: str) -> str:
        return (f"fe_conv2d(&{name}, {ctx.ptr(inp, const=True)}, {filt}, {bias}, "
                f"{ctx.ptr(out)});")
    struct: list[str] = []
    body: list[str] = []
    for i, (cond, f, a) in enumerate(variants):
        line = f"#{'if' if i == 0 else 'elif'} {cond}"
        struct += [line, c_struct("fe_conv_params", name, f)]
        body += [line, call(*a)]
    struct += ["#else", c_struct("fe_conv_params", name, fields), "#endif"]
    body += ["#else", call(*args), "#endif"]
    return "\n".join(struct), tuple(body)


def _guard(tables: tuple[str, ...], variants: list[_Variant]) -> tuple[str, ...]:
    """``tables`` (multipliers, shifts, a folded bias) declared only on the builds outside every
    variant's condition (the variants read none of them)."""
    cond = " && ".join(f"!{c}" for c, _, _ in variants)
    return tuple(f"#if {cond}\n{t}\n#endif" for t in tables)


def _render_wide_conv(ctx: OpContext, fields: dict[str, object], tables: tuple[str, ...],
                      wide: np.ndarray, rq: np.ndarray, bias_ptr: str,
                      mve: _Variant | None) -> Rendered:
    """CONV_2D whose DSP builds (FE_CONV_WIDE) link only the widened weights and their
    requantization records, the others only the int8 weights, the multiplier and shift tables
    and the bias (folded or the tensor's) that the records replace."""
    w, bias = ctx.need(1), ctx.inp(2)
    name = f"{ctx.storage[w.index]}_ww"  # one per weights tensor: patches of a conv share it
    ww = c_array("uint32_t", name, [f"0x{int(v):08X}u" for v in wide], per_row=6)
    # named by content: patches of a conv share it unless their biases differ (input offset
    # folded or not)
    rq_name = f"{ctx.storage[w.index]}_rq{zlib.crc32(rq.tobytes()):08x}"
    rq_decl = c_array("fe_conv_rq", rq_name, [[int(v) for v in row] for row in rq], per_row=2)
    dsp = {**fields, "multiplier": "NULL", "shift": "NULL", "filter_wide": name,
           "wide_rq": rq_name}
    variants: list[_Variant] = [("FE_CONV_WIDE", dsp, ("NULL", "NULL")),
                                *((mve,) if mve is not None else ())]
    struct, body = _conv_variants(ctx, fields, (ctx.ptr(w), bias_ptr), variants)
    decls = (*_guard(tables, variants),
             f"#if FE_CONV_WIDE\n{ww}\n#endif", f"#if FE_CONV_WIDE\n{rq_decl}\n#endif", struct)
    narrow = (w.index, bias.index) if bias is not None and bias.is_constant else (w.index,)
    return Rendered(decls, body, narrow_only=narrow)


def _pair_filter(w: Tensor, mults: list[int], shifts: list[int],
                 biases: np.ndarray) -> np.ndarray | None:
    """A pointwise CONV_2D's constant OHWI weights as ``fe_conv_params.filter_pairs`` words, or
    None where the DSP kernels read the int8 rows as they are: in_c up to
    :data:`CONV_WIDE_MAX_K` (the widened pair buffer takes those) or not a multiple of 4 (a
    group would read past a pixel), requantization or sums outside ``fe_rq8z``'s range.

    Layout: per pair of output channels (an odd last one paired with zeros) and per group of 4
    values, 2 words: channel c's 4 values, then channel c + 1's (bytes little-endian), so one
    LDRD fetches both rows' group. The same bytes as the int8 weights (plus one row for an odd
    count)."""
    oc, k = w.shape[0], int(np.prod(w.shape[1:]))
    if not w.is_constant or k <= CONV_WIDE_MAX_K or k % 4 or biases.shape != (oc,) or \
            _rq8_flag(mults, shifts, biases, k) != 1:
        return None
    ocp = oc + (oc & 1)
    full = np.zeros((ocp, k), np.int8)
    full[:oc] = w.numpy().astype(np.int8).reshape(oc, k)
    v = full.reshape(ocp // 2, 2, k // 4, 4).transpose(0, 2, 1, 3)  # pair, group, channel, value
    return np.ascontiguousarray(v).reshape(-1).view("<u4")


def _render_pair_conv(ctx: OpContext, fields: dict[str, object], tables: tuple[str, ...],
                      pairs: np.ndarray, bias_ptr: str, mve: _Variant | None
                      ) -> Rendered:  # fmt: skip
    """Pointwise CONV_2D whose DSP builds (FE_CONV_WIDE) link only the weights re-laid by
    channel pairs (:func:`_pair_filter`), the others only the int8 OHWI weights."""
    w = ctx.need(1)
    name = f"{ctx.storage[w.index]}_wp"  # one per weights tensor: patches of a conv share it
    wp = c_array("uint32_t", name, [f"0x{int(v):08X}u" for v in pairs], per_row=6)
    struct, body = _conv_variants(ctx, fields, (ctx.ptr(w), bias_ptr),
                                  [("FE_CONV_WIDE", {**fields, "filter_pairs": name},
                                    ("NULL", bias_ptr)), *((mve,) if mve is not None else ())])
    # the DSP builds read the tables too
    tables = _guard(tables, [mve]) if mve is not None else tables
    return Rendered((*tables, f"#if FE_CONV_WIDE\n{wp}\n#endif", struct), body,
                    narrow_only=(w.index,))


MVE_PX4_MAX_K = 64
"""Most input channels of a pointwise CONV_2D given to fe_conv_px4_mve.h (FE_MVE_PX4_MAX_K, its
stack rows). Longer rows stay on fe_gemm_mve.h's pixel pairs against three channels (11
instructions per 96 MACs): on qemu-m55, mcunet-vww1's 1x1 convolutions over 96-480 channels
ran 0.20-0.34 instructions a MAC there and 0.29-0.37 in blocks of four pixels (3x3 planes
leave a block of one pixel), those over 40-64 channels 0.56-0.58 there and 0.41-0.49 here."""

MVE_GATHER_K = 48
"""Most values per output of a gathered window there (fe_conv_mve.h's FE_MVE_GK)."""


def _mve_px4_shape(f: dict[str, int]) -> bool:
    """True when fe_conv_px4_mve.h takes a CONV_2D of window ``f``: pointwise (1x1, no padding)
    over at most :data:`MVE_PX4_MAX_K` channels, or a window fe_mve_conv_gather_ok accepts (at
    most :data:`MVE_GATHER_K` values, filter offsets below 127, each group of 16 values within
    255 bytes of its first)."""
    if f["filter_h"] == f["filter_w"] == 1 and f["pad_h"] == f["pad_w"] == 0 and \
            (f["out_h"] - 1) * f["stride_h"] < f["in_h"] and \
            (f["out_w"] - 1) * f["stride_w"] < f["in_w"]:
        return f["in_c"] <= MVE_PX4_MAX_K
    c, row = f["in_c"], f["filter_w"] * f["in_c"]
    k = f["filter_h"] * row
    if k > MVE_GATHER_K or (f["filter_h"] - 1) * f["dilation_h"] >= 127 or \
            (f["filter_w"] - 1) * f["dilation_w"] >= 127:
        return False

    def lane(j: int) -> int:  # byte offset of im2col value j from the window origin
        fy, fx = j // row, (j % row) // c
        return (fy * f["dilation_h"] * f["in_w"] + fx * f["dilation_w"]) * c + j % c
    return all(lane(min(j + 15, k - 1)) - lane(j) <= 255 for j in range(0, k, 16))


def _mve_rq(w: Tensor, bias: Tensor | None, f: dict[str, int], mults: list[int],
            shifts: list[int], input_offset: int, zp_out: int) -> np.ndarray | None:
    """``fe_conv_params.mve_rq`` records of a CONV_2D (rows {bias + input_offset * sum(w),
    multiplier, 2^(r-1) + zp_out 2^r, 24 - r}, r = -shift), or None where fe_conv_px4_mve.h
    would not take it: a shape it does not (:func:`_mve_px4_shape`), an activation range other
    than int8's, a shift outside -24..-1 (the saturating left shift by 24 - r is the clamp),
    weights or bias not constant, a folded bias outside int32."""
    if (f["act_min"], f["act_max"]) != (-128, 127) or not _mve_px4_shape(f) or \
            not all(-24 <= s <= -1 for s in shifts):
        return None
    folded = _folded_values(w, bias, input_offset)
    if folded is None:
        return None
    rows = [[int(b), m, _round_term(s, zp_out), 24 + s]
            for b, m, s in zip(folded, mults, shifts, strict=True)]
    return np.array(rows, np.int64)


def _mve_rq_decl(ctx: OpContext, rq: np.ndarray) -> tuple[str, str]:
    """Name and declaration (FE_KERNELS_MVE builds only) of :func:`_mve_rq`'s records, named by
    content so that patches of a conv share them."""
    w = ctx.need(1)
    name = f"{ctx.storage[w.index]}_mrq{zlib.crc32(rq.tobytes()):08x}"
    decl = c_array("fe_conv_rq_mve", name, [[int(v) for v in row] for row in rq], per_row=2)
    return name, f"#if FE_KERNELS_MVE\n{decl}\n#endif"


def render_conv2d(ctx: OpContext) -> Rendered:
    """CONV_2D (incl. 1xk temporal), per-channel requantization."""
    return _render_conv(ctx, depthwise=False)


def render_depthwise_conv2d(ctx: OpContext) -> Rendered:
    """DEPTHWISE_CONV_2D with any depth multiplier."""
    return _render_conv(ctx, depthwise=True)


def _render_pool(ctx: OpContext, fn: str) -> Rendered:
    from export.codegen import CodegenError

    inp, out = ctx.need(0), ctx.out()
    if quant_of(inp, ctx.where) != quant_of(out, ctx.where):
        raise CodegenError(f"{ctx.where}: input and output quantization differ "
                           f"({inp.quant} vs {out.quant}); int8 pooling needs them equal")
    b, ih, iw, c = inp.shape
    _, oh, ow, _ = out.shape
    o = ctx.op.options
    fh, fw = int(o["filter_height"]), int(o["filter_width"])
    win = _window_fields(ctx, (ih, iw), (oh, ow), (fh, fw))
    s_out, zp_out = scale_zp(out, ctx.where)
    lo, hi = activation_range(o.get("fused_activation_function", "NONE"), s_out, zp_out)
    fields = {"batches": b, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
              "filter_h": fh, "filter_w": fw, "stride_h": win["stride_h"],
              "stride_w": win["stride_w"], "pad_h": win["pad_h"], "pad_w": win["pad_w"],
              "act_min": lo, "act_max": hi}
    call = f"{fn}(&{ctx.name('p')}, {ctx.ptr(inp, const=True)}, {ctx.ptr(out)});"
    return Rendered((c_struct("fe_pool_params", ctx.name("p"), fields),), (call,))


def render_avg_pool(ctx: OpContext) -> Rendered:
    """AVERAGE_POOL_2D (rounded integer average over the valid window)."""
    return _render_pool(ctx, "fe_avg_pool")


def render_max_pool(ctx: OpContext) -> Rendered:
    """MAX_POOL_2D."""
    return _render_pool(ctx, "fe_max_pool")
