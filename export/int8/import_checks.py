"""Checks of an imported (ONNX) model after int8 conversion: int8 vs onnxruntime, LiteRT vs TFLM.

Per output, over the calibration samples: top-1 agreement along the last axis (a target for
token-logit outputs, width 243), the signal-to-noise ratio of the dequantized int8 output
against onnxruntime's float one (reported), and the max |LiteRT - TFLM| in LSB with the share
of identical top-1 (target: 100 %). Outputs are bound by name; onnx2tf may rename them, so
names it changed fall back to the signature order, which it keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge import vocab
from export.int8.checks import Targets
from export.int8.errors import TargetError
from export.int8.report import write_report
from export.session import open_session


def _bind(ort_names: list[str], tfl_names: list[str]) -> dict[str, str]:
    if set(ort_names) == set(tfl_names):
        return {n: n for n in ort_names}
    return dict(zip(ort_names, tfl_names, strict=True))


def _snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref - got) ** 2))
    return float("inf") if noise == 0 else 10.0 * np.log10(max(float(np.sum(ref**2)), 1e-30) / noise)


def measure(flat: bytes, sess: Any, samples: list[dict[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Per-output metrics of ``flat`` (int8) against the onnxruntime session ``sess``."""
    lite, micro = open_session(flat, "litert"), open_session(flat, "tflm")
    names = [o.name for o in sess.get_outputs()]
    bind = _bind(names, list(lite.io.outputs))
    acc: dict[str, dict[str, list[Any]]] = {n: {"ref": [], "q": [], "lsb": [], "same": []} for n in names}
    for feeds in samples:
        ref = dict(zip(names, sess.run(None, feeds), strict=True))
        q_in = {n: s.quantize(feeds[n]) for n, s in lite.io.inputs.items()}
        a, b = lite.run(q_in), micro.run(q_in)
        for n in names:
            t = bind[n]
            acc[n]["ref"].append(np.asarray(ref[n], np.float32).reshape(a[t].shape))
            acc[n]["q"].append(lite.io.outputs[t].dequantize(a[t]))
            acc[n]["lsb"].append(int(np.abs(a[t].astype(np.int32) - b[t]).max()))
            acc[n]["same"].append(float(np.mean(np.argmax(a[t], -1) == np.argmax(b[t], -1))))
    out = {}
    for n, v in acc.items():
        ref, q = np.stack(v["ref"]), np.stack(v["q"])
        out[n] = {"top1_agreement": float(np.mean(np.argmax(ref, -1) == np.argmax(q, -1))),
                  "snr_db": _snr_db(ref, q), "tflm_max_lsb": max(v["lsb"]),
                  "tflm_top1_identical": float(np.mean(v["same"])), "width": int(ref.shape[-1])}
    return out


def check_imported(out: Path, report: dict[str, Any], flat: bytes, sess: Any,
                   samples: list[dict[str, np.ndarray]], targets: Targets | None = None) -> dict[str, Any]:
    """Measure, write ``out/report.{json,md}``, raise :class:`TargetError` on a missed target."""
    t = targets or Targets()
    per = measure(flat, sess, samples)
    failures = []
    for n, m in per.items():
        if m["width"] == vocab.VOCAB_SIZE and m["top1_agreement"] < t.min_top1_agreement:
            failures.append(f"output '{n}': int8 vs onnxruntime top-1 agreement expected >= "
                            f"{t.min_top1_agreement:.2%}, found {m['top1_agreement']:.2%}")
    report = {**report, "outputs": per, "failures": failures,
              "status": "FAILED" if failures else "PASSED",
              "metrics": {f"{n}.{k}": v for n, m in per.items() for k, v in m.items()}}
    write_report(out, report)
    if failures:
        raise TargetError(f"import to {out} FAILED (see {out / 'report.md'}): " + "; ".join(failures))
    return report
