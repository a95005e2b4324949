"""Where an int8 model's error comes from: every tensor against the float model's, op by op.

``diagnose(float_model, flat, feeds)`` converts the Keras model to a *float* .tflite (the same
graph, no quantization), runs both it and the int8 ``flat`` on LiteRT's reference kernels with
every intermediate tensor kept, and compares the tensors the two graphs share by name
(dequantized int8 vs float): relative rms error ``rms(int8 − float) / rms(float)`` over all
feeds. The int8 model is fed the int8 version of the very float inputs, so the table shows the
models' own quantization (the input's rounding included), tensor by tensor in execution order.

The useful column is the *jump*: a tensor's error over the largest error of the tensors its
operator reads. An operator that turns 2 % into 30 % is where to look (this table found the
keypoint front end's rounding, :mod:`export.int8.front`). Cost: two interpreters and one run of
each per feed.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.int8.flat import op_name, tensor_name, tensor_quant, unpack

MIN_REFERENCE_RMS = 1e-9
"""Tensors whose float values are all (nearly) zero get no relative error."""


@dataclass(frozen=True)
class TensorError:
    """The int8 error of one tensor."""

    op: int  # index of the operator writing it (-1: a model input)
    op_name: str  # that operator's builtin name ("INPUT" for a model input)
    tensor: str  # the tensor's name (first part of a fused name)
    rel_rms: float  # rms(int8 - float) / rms(float) over the feeds
    jump: float  # rel_rms over the largest rel_rms among the operator's inputs (inf: from ~0)
    scale: float  # the int8 tensor's scale
    float_max: float  # largest |float value| seen


def _interpreter(flat: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=flat, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def _float_flat(model: Any) -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras  # noqa: F401  (the call context from_keras_model needs for Keras 3)

    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def _feed_name(detail_name: str, feeds: dict[str, np.ndarray]) -> str:
    name = detail_name.split(":")[0].removeprefix("serving_default_")
    for k in feeds:
        if name == k or name.endswith(k):
            return k
    raise KeyError(f"no feed for model input '{detail_name}' (feeds: {sorted(feeds)})")


def _run(it: Any, feeds: dict[str, np.ndarray], *, quantize: bool) -> dict[str, np.ndarray]:
    """Every float or dequantized int8 tensor of one invocation, by (first) name; int8 inputs
    are quantized with TFLite QUANTIZE's rounding (ties away from zero)."""
    from edge.quantize import round_half_away

    for d in it.get_input_details():
        x = np.asarray(feeds[_feed_name(d["name"], feeds)])
        if quantize and d["dtype"] == np.int8:
            scale, zp = d["quantization"]
            x = np.clip(round_half_away(x.astype(np.float32) / np.float32(scale)) + zp, -128, 127)
        it.set_tensor(d["index"], x.astype(d["dtype"]).reshape(d["shape"]))
    it.invoke()
    out: dict[str, np.ndarray] = {}
    for t in it.get_tensor_details():
        try:
            v = it.get_tensor(t["index"])
        except ValueError:  # a tensor without data (an optional input)
            continue
        if t["dtype"] == np.int8:
            scale, zp = t["quantization"]
            if not scale:
                continue
            v = (v.astype(np.float64) - zp) * scale
        elif t["dtype"] != np.float32:
            continue
        out[t["name"].split(";")[0]] = np.asarray(v, np.float64)
    return out


def _short_name(t: Any) -> str:
    """A tensor's name up to the first ';' (fused ops list every op they fold)."""
    return tensor_name(t).split(";")[0]


def _producers(flat: bytes) -> dict[str, str]:
    """Tensor (first) name -> the builtin name of the operator writing it."""
    model = unpack(flat)
    sg = model.subgraphs[0]
    return {_short_name(sg.tensors[int(o)]): op_name(model, op)
            for op in sg.operators or [] for o in op.outputs}


def diagnose(float_model: Any, flat: bytes, feeds: Sequence[dict[str, np.ndarray]]) -> list[TensorError]:
    """Per-tensor error of the int8 ``flat`` against ``float_model`` over ``feeds`` (module doc).

    Tensors pair up by name when their shapes and the operators writing them agree (the
    converter names tensors after the Keras ops, in both conversions)."""
    ref_flat = _float_flat(float_model)
    ref_it, q_it = _interpreter(ref_flat), _interpreter(flat)
    ref_ops, q_ops = _producers(ref_flat), _producers(flat)
    sq: dict[str, list[float]] = {}
    for f in feeds:
        ref, got = _run(ref_it, f, quantize=False), _run(q_it, f, quantize=True)
        for name, v in got.items():
            r = ref.get(name)
            if r is None or r.shape != v.shape or ref_ops.get(name) != q_ops.get(name):
                continue
            acc = sq.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += float(np.sum((v - r) ** 2))
            acc[1] += float(np.sum(r**2))
            acc[2] = max(acc[2], float(np.abs(r).max(initial=0.0)))
    model = unpack(flat)
    sg = model.subgraphs[0]

    def name_of(i: int) -> str:
        return _short_name(sg.tensors[i])

    def rel(i: int) -> float | None:
        acc = sq.get(name_of(i))
        if acc is None or acc[1] <= MIN_REFERENCE_RMS:
            return None
        return float(np.sqrt(acc[0] / acc[1]))

    rows = []
    for k, op in enumerate(sg.operators or []):
        for o in [int(t) for t in op.outputs]:
            e = rel(o)
            if e is None:
                continue
            ins = [x for x in (rel(int(i)) for i in op.inputs if int(i) >= 0) if x is not None]
            base = max(ins, default=0.0)
            scale, _ = tensor_quant(sg.tensors[o])
            rows.append(TensorError(k, op_name(model, op), name_of(o), e,
                                    e / base if base > 0 else float("inf"), scale,
                                    sq[name_of(o)][2]))
    return rows


def markdown(title: str, rows: Sequence[TensorError], top: int = 12) -> list[str]:
    """A report section: the worst jumps, then the model outputs' errors."""
    finite = [r for r in rows if np.isfinite(r.jump)]
    worst = sorted(finite, key=lambda r: -r.jump)[:top]
    lines = [f"### {title}", "",
             "Relative rms error of each int8 tensor against the float model (same inputs), and "
             "its jump over the worst input of its operator; the largest jumps first.", "",
             "| op | operator | tensor | rel. rms error | jump | scale | max abs float |",
             "|---|---|---|---|---|---|---|"]
    for r in worst:
        lines.append(f"| {r.op} | {r.op_name} | `{r.tensor[-60:]}` | {r.rel_rms:.3f} | "
                     f"{r.jump:.1f}× | {r.scale:.4g} | {r.float_max:.3g} |")
    return lines


def diagnose_pair(float_encoder: Any, float_step: Any, encoder: bytes, step: bytes,
                  encoder_feeds: Sequence[dict[str, np.ndarray]],
                  step_feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, list[dict[str, Any]]]:
    """:func:`diagnose` of both models of an exported pair, as report.json rows."""
    from dataclasses import asdict

    return {"encoder.tflite": [asdict(r) for r in diagnose(float_encoder, encoder, encoder_feeds)],
            "decoder_step.tflite": [asdict(r) for r in diagnose(float_step, step, step_feeds)]}
