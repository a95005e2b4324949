"""``export_run``: a run folder in, ``encoder.tflite`` + ``decoder_step.tflite`` + report out.

Steps: load the run (float models, free batch for calibration, batch 1 for conversion) ->
calibration windows from the training split -> teacher-forced float states -> int8
conversion of both models -> the encoder's keypoint front end pinned to exact
arithmetic (:mod:`export.int8.front`) -> gate (ops, dtypes) -> pin the step's cross inputs to the
encoder's outputs and verify every hand-over -> write the .tflite files -> checks on the test
split (val when test is empty) -> ONNX export of the float models -> report. A missed target
raises :class:`TargetError` after the report (marked FAILED) is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge import vocab
from edge.data.clip import write_atomic
from edge.model.build import Models, cache_names
from edge.model.config import ModelConfig, config_to_dict
from export.int8.calibration import TeacherForced, spread, teacher_forced
from export.int8.checks import (
    Metrics,
    Targets,
    backend_parity,
    forced_hits,
    margins,
    onset_f1,
    share,
    token_agreement,
)
from export.int8.convert import convert_int8
from export.int8.errors import ExportError, TargetError
from export.int8.flat import model_io
from export.int8.front import exact_keypoint_front
from export.int8.gate import check_ops
from export.int8.pin import pin_inputs
from export.int8.report import model_facts, write_report

PIPELINE_VERSION = "3"
"""Bumped whenever the same run exports to different bytes (caches of exports key on it).
2: the encoder's keypoint front end pinned to exact arithmetic (:mod:`export.int8.front`)."""

ENCODER_FILE = "encoder.tflite"
STEP_FILE = "decoder_step.tflite"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class ExportSettings:
    """Knobs of one export."""

    data: str | None = None  # dataset folder (default: the one the run was trained on)
    calib_windows: int = 64  # training windows the calibration uses
    calib_steps: int = 512  # decoder-step samples the calibration uses (spread evenly)
    eval_windows: int = 32  # test windows of the teacher-forced agreement check
    greedy_windows: int = 8  # test windows decoded greedily (F1, TFLM parity)
    onnx: bool = True  # also export the float models to ONNX and check them
    diagnose: bool = False  # also tabulate every tensor's int8 error (export.int8.diagnose)
    targets: Targets = field(default_factory=Targets)  # pass marks


@dataclass(frozen=True)
class Int8Pair:
    """The two converted models."""

    encoder: bytes  # encoder.tflite
    step: bytes  # decoder_step.tflite (cross inputs pinned to the encoder's outputs)


def convert_pair(cfg: ModelConfig, fixed: Models, calib: TeacherForced, steps: int) -> Int8Pair:
    """Convert, gate and pin the batch-1 models ``fixed`` on the calibration states."""
    layers = [layer.name for layer in fixed.train.layers]
    enc = exact_keypoint_front(convert_int8(fixed.encoder, calib.encoder_feeds, name=ENCODER_FILE),
                               where=ENCODER_FILE)
    check_ops(enc, where=ENCODER_FILE, layer_names=layers)
    feeds = [calib.step_feeds[i] for i in spread(len(calib.step_feeds), steps)]
    step = convert_int8(fixed.step, feeds, name=STEP_FILE)
    check_ops(step, where=STEP_FILE, layer_names=layers)
    enc_out = model_io(enc, ENCODER_FILE).outputs
    step = pin_inputs(step, {n: enc_out[n] for n in cache_names(cfg, "cross")}, where=STEP_FILE)
    return Int8Pair(enc, step)


def _windows(data: str, split: str, cfg: ModelConfig, limit: int) -> Any:
    from edge.train import TrainError
    from edge.train.api import load_windows

    try:
        w = load_windows(data, split, cfg, cfg.hop_frames)
    except TrainError:
        if split != "test":
            raise
        w = load_windows(data, "val", cfg, cfg.hop_frames)
    idx = spread(len(w), limit)
    return w.keypoints[idx], w.inputs[idx], w.targets[idx]


def _per_window_logits(tf_run: TeacherForced, n: int) -> list[np.ndarray]:
    """The float logits ``[P, V]`` of each of the ``n`` windows, in position order."""
    return [tf_run.logits[tf_run.window == w][np.argsort(tf_run.position[tf_run.window == w])]
            for w in range(n)]


def _top1(per_window: list[np.ndarray]) -> list[np.ndarray]:
    return [np.argmax(x, axis=-1) for x in per_window]


def _events(seq: np.ndarray) -> list[int]:
    out = []
    for t in seq:
        if t in (vocab.EOS, vocab.PAD):
            break
        out.append(int(t))
    return out


def run_checks(cfg: ModelConfig, pair: Int8Pair, free: Models, fixed: Models,
               test: tuple[np.ndarray, np.ndarray, np.ndarray], s: ExportSettings) -> Metrics:
    """All self-checks of ``pair`` on test windows ``(keypoints, inputs, targets)``."""
    from export.host_decode import check_pair, generate_hop
    from export.session import KerasSession, open_session

    kp, inputs, targets = test
    pairs = {b: (open_session(pair.encoder, b), open_session(pair.step, b))
             for b in ("litert", "tflm", "c")}
    check_pair(cfg, *pairs["litert"])
    ref = _per_window_logits(teacher_forced(cfg, free, kp, inputs), len(kp))
    hits = forced_hits(cfg, *pairs["litert"], kp, inputs, _top1(ref))
    m = margins(np.concatenate(ref), hits, pairs["litert"][1].io.outputs["logits"])
    spec = pairs["litert"][0].io.inputs["keypoints"]
    kp_int8 = (spec.quantize(kp).astype(np.float32) - spec.zero_point) * np.float32(spec.scale)
    same = forced_hits(cfg, *pairs["litert"], kp, inputs,
                       _top1(_per_window_logits(teacher_forced(cfg, free, kp_int8, inputs), len(kp))))
    g = spread(len(kp), s.greedy_windows)
    fenc, fstep = KerasSession(fixed.encoder), KerasSession(fixed.step)
    float_tokens = [generate_hop(cfg, fenc, fstep, kp[i]) for i in g]
    parity = backend_parity(cfg, pairs, kp[g])
    device = token_agreement(cfg, pairs["c"], pairs["tflm"], kp[g])
    int8_tokens = [tuple(t for t in toks if t != vocab.EOS) for toks in parity.tokens]
    truth = [_events(targets[i]) for i in g]
    return Metrics(
        top1_agreement=share(hits), forced_steps=int(hits.size),
        top1_same_input=share(same), top1_logits_only=m.logits_only, near_tie_share=m.near_tie_share,
        decisive_share=m.decisive_share, top1_decisive=m.top1_decisive,
        f1_float=onset_f1(truth, float_tokens), f1_int8=onset_f1(truth, int8_tokens),
        f1_int8_vs_float=onset_f1(float_tokens, int8_tokens),
        tflm_top1_identical=parity.top1_identical, tflm_token_agreement=parity.token_agreement,
        tflm_max_lsb_logits=parity.max_lsb_logits, tflm_max_lsb_encoder=parity.max_lsb_encoder,
        greedy_windows=len(g), c_token_agreement=device,
    )


def _diagnose(cfg: ModelConfig, pair: Int8Pair, free: Models, fixed: Models,
              test: tuple[np.ndarray, np.ndarray, np.ndarray], s: ExportSettings) -> dict[str, Any]:
    """Per-tensor int8 errors of both models on test windows (greedy-window count of them)."""
    from export.int8.diagnose import diagnose_pair

    kp, inputs, _ = test
    idx = spread(len(kp), s.greedy_windows)
    tf_run = teacher_forced(cfg, free, kp[idx], inputs[idx])
    steps = [tf_run.step_feeds[i] for i in spread(len(tf_run.step_feeds), 4 * s.calib_windows)]
    return diagnose_pair(fixed.encoder, fixed.step, pair.encoder, pair.step,
                         tf_run.encoder_feeds, steps)


def _load(run: str | os.PathLike[str]) -> tuple[ModelConfig, Models, Models, dict[str, Any]]:
    from edge.train import TrainError
    from edge.train.run import load_run, read_run_config

    try:
        cfg, free = load_run(run)
        _, fixed = load_run(run, batch_size=1)
        return cfg, free, fixed, read_run_config(run)[1]
    except TrainError as e:
        raise ExportError(f"--model {run}: {e}") from e


def export_run(run: str | os.PathLike[str], out: str | os.PathLike[str],
               s: ExportSettings | None = None) -> dict[str, Any]:
    """Export the run folder ``run`` into ``out``; returns the report (see module doc)."""
    s = s or ExportSettings()
    out = Path(out)
    cfg, free, fixed, meta = _load(run)
    data = s.data or meta.get("data")
    if not data or not Path(data).is_dir():
        raise ExportError(f"--model {run}: calibration data folder {data!r} not found "
                          "(expected the run's dataset; pass --data DIR)")
    kp, inputs, _ = _windows(str(data), "train", cfg, s.calib_windows)
    pair = convert_pair(cfg, fixed, teacher_forced(cfg, free, kp, inputs), s.calib_steps)
    write_atomic(out / ENCODER_FILE, pair.encoder)
    write_atomic(out / STEP_FILE, pair.step)
    write_atomic(out / CONFIG_FILE, (json.dumps({"model": config_to_dict(cfg)}, indent=1) + "\n").encode())
    report: dict[str, Any] = {
        "run": str(run), "kind": cfg.kind, "data": str(data),
        "models": {ENCODER_FILE: model_facts(pair.encoder, ENCODER_FILE),
                   STEP_FILE: model_facts(pair.step, STEP_FILE)},
        "targets": {"top1_agreement": f">= {s.targets.min_top1_agreement}",
                    "c_token_agreement": f">= {s.targets.min_device_agreement}",
                    "f1_int8": f"f1_float - {s.targets.max_f1_drop}"},
        "handover": "cross and cache inputs share their sender's quantization (byte copy)",
    }
    return finish(out, report, cfg, pair, free, fixed, s, str(data))


def finish(out: Path, report: dict[str, Any], cfg: ModelConfig, pair: Int8Pair, free: Models,
           fixed: Models, s: ExportSettings, data: str) -> dict[str, Any]:
    """Run the checks (and the ONNX export), write the report; raise on missed targets."""
    failures: list[str] = []
    try:
        test = _windows(data, "test", cfg, s.eval_windows)
        metrics = run_checks(cfg, pair, free, fixed, test, s)
        report["metrics"] = asdict(metrics)
        if s.diagnose:
            report["diagnosis"] = _diagnose(cfg, pair, free, fixed, test, s)
        failures += metrics.failures(s.targets)
        if s.onnx:
            from export.onnx_io import export_onnx_pair

            report["onnx"] = export_onnx_pair(fixed, out)
            failures += [f"ONNX {n}: max abs diff vs Keras {v['max_abs_diff']:.3g} > {v['target']:g}"
                         for n, v in report["onnx"].items() if not v["ok"]]
    except ExportError as e:
        failures.append(str(e))
    report["failures"] = failures
    report["status"] = "FAILED" if failures else "PASSED"
    write_report(out, report)
    if failures:
        raise TargetError(f"export to {out} FAILED (see {out / 'report.md'}): " + "; ".join(failures))
    return report
