"""``report.json`` + ``report.md`` of an export: what each model holds and what the checks found.

Model facts come from :func:`export.tflite_reader.read_tflite` (op list, tensor count, constant
bytes, I/O quantization) with the signature names from :func:`export.int8.flat.model_io`.
Both files are written atomically; a failed export still writes them, marked FAILED.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from edge.data.clip import write_atomic
from export.int8.checks import DECISIVE_GAP, TOP1_FAILURE
from export.int8.flat import model_io
from export.tflite_reader import read_tflite


def model_facts(flat: bytes, name: str) -> dict[str, Any]:
    """Op counts, tensor count, weight bytes and I/O quantization of one .tflite."""
    graph = read_tflite(flat)
    io = model_io(flat, name)

    def entry(spec: Any) -> dict[str, Any]:
        return {"dtype": spec.dtype, "shape": list(spec.shape), "scale": spec.scale,
                "zero_point": spec.zero_point, "position": spec.position}

    return {
        "bytes": len(flat),
        "ops": dict(sorted(Counter(op.op for op in graph.operators).items())),
        "operators": len(graph.operators),
        "tensors": len(graph.tensors),
        "weight_bytes": sum(len(t.data) for t in graph.tensors if t.data is not None),
        "inputs": {n: entry(s) for n, s in io.inputs.items()},
        "outputs": {n: entry(s) for n, s in io.outputs.items()},
    }


def _io_rows(facts: dict[str, Any]) -> list[str]:
    rows = []
    for kind in ("inputs", "outputs"):
        for n, e in facts[kind].items():
            q = f"{e['scale']:.6g} / {e['zero_point']}" if e["scale"] else "—"
            rows.append(f"| {kind[:-1]} | `{n}` | {e['dtype']} | {e['shape']} | {q} |")
    return rows


ROUNDING_NOTE = (
    "LiteRT's reference kernels round each requantization once; TFLite Micro (and our generated C, "
    "which follows it bit for bit) round twice (SaturatingRoundingDoublingHighMul, then "
    "RoundingDivideByPOT), so values within ~0.002 of a half step come out 1 LSB apart (e.g. "
    "5.4935 steps: LiteRT 5, TFLM 6). Those differences grow through the layers, a near-tie "
    "between the two best tokens then flips, and greedy decoding goes its own way from there. "
    "The device matches `tflm` token for token."
)
"""Why LiteRT and TFLite Micro disagree at all (shown when their greedy tokens differ)."""


def margins_note(m: dict[str, Any], logits_lsb: float | None) -> str:
    """Where the teacher-forced disagreements sit, in the checks' own numbers."""
    lsb = f" ({logits_lsb:.3g})" if logits_lsb else ""
    return (
        f"{m['near_tie_share']:.1%} of the steps are near-ties: the float model's two best tokens "
        f"lie within one LSB{lsb} of the int8 logits. Rounding only the float logits to that "
        f"format (everything before them exact) already leaves {m['top1_logits_only']:.1%} "
        f"agreement. On the {m['decisive_share']:.1%} of steps where the float model is decisive "
        f"(top-2 gap >= {DECISIVE_GAP:g} logit) the int8 pair agrees on {m['top1_decisive']:.1%}: "
        "the misses are where the float model itself hesitates between two tokens."
    )


def _logits_lsb(report: dict[str, Any]) -> float | None:
    for facts in report.get("models", {}).values():
        out = facts.get("outputs", {}).get("logits")
        if out and out.get("scale"):
            return float(out["scale"])
    return None


def render_markdown(report: dict[str, Any]) -> str:
    """The human-readable report."""
    source = report.get("run") or report.get("source_onnx", "")
    lines = [f"# Export report — {report['status']}", "", f"Source: `{source}`", ""]
    for f in report.get("failures", []):
        lines.append(f"- **FAILED**: {f}")
    m = report.get("metrics", {})
    if "near_tie_share" in m and any(f.startswith(TOP1_FAILURE) for f in report.get("failures", [])):
        lines += ["", f"int8 vs float top-1: {margins_note(m, _logits_lsb(report))}"]
    if m.get("tflm_token_agreement", 1.0) < 1.0:
        lines += ["", f"TFLM vs LiteRT (information, not a target): {ROUNDING_NOTE}"]
    if report.get("metrics"):
        lines += ["", "## Checks", "", "| check | value | target |", "|---|---|---|"]
        t = report.get("targets", {})
        for key, value in report["metrics"].items():
            mark = t.get(key, "")
            lines.append(f"| {key} | {value:.4g} | {mark} |" if isinstance(value, float)
                         else f"| {key} | {value} | {mark} |")
    for name, facts in report.get("models", {}).items():
        lines += ["", f"## {name}", "",
                  f"{facts['bytes']:,} bytes, {facts['operators']} operators, {facts['tensors']} "
                  f"tensors, {facts['weight_bytes']:,} weight bytes.", "",
                  "Ops: " + ", ".join(f"{k} ×{v}" for k, v in facts["ops"].items()), "",
                  "| | name | dtype | shape | scale / zero point |", "|---|---|---|---|---|",
                  *_io_rows(facts)]
    if report.get("diagnosis"):
        from export.int8.diagnose import TensorError, markdown

        lines += ["", "## Where the int8 error comes from", ""]
        for name, rows in report["diagnosis"].items():
            lines += [*markdown(name, [TensorError(**r) for r in rows]), ""]
    for name, info in report.get("onnx", {}).items():
        lines += ["", f"## ONNX {name}", "", f"max |onnxruntime - Keras| = {info['max_abs_diff']:.3g}"
                  f" (target ≤ {info['target']:g}), opset {info['opset']}"]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict[str, Any]) -> None:
    """Write ``out/report.json`` and ``out/report.md`` (each atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "report.json", (json.dumps(report, indent=1, sort_keys=True) + "\n").encode())
    write_atomic(out / "report.md", render_markdown(report).encode())
