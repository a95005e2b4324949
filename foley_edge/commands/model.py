"""foley-edge train | distill | evaluate: teacher, student, metrics.

::

    foley-edge train --data D --out RUN [--epochs N] [--strategy one|mirrored|multiworker]
    foley-edge train --init RUN --data D --out RUN2 --set hop_frames=4   (fine-tune to a hop)
    foley-edge distill --teacher RUN --data D --out RUN2 [--temperature T] [--kd-weight A]
    foley-edge qat --run RUN --data D --out RUN2 [--epochs N] [--lr-factor F]
    foley-edge evaluate --model RUN --data D --split test|val|train|all [--json]

``--set key=value`` (repeatable) overrides a model config field, e.g. ``--set d_model=96`` or
``--set gcn_channels=8,16,32``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from edge.errors import FoleyEdgeError


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise FoleyEdgeError(f"--set expects key=value, found {pair!r}")
        if "," in value:
            out[key] = tuple(int(v) for v in value.split(","))
        else:
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value
    return out


def _model_config(kind: str, pairs: list[str], base: dict[str, Any] | None = None) -> Any:
    from edge.model.config import CONFIG_CLASSES, ModelConfigError

    over = _overrides(pairs)
    kind = str(over.pop("kind", kind))  # --set kind=student: the student's shape, not a relabel
    if kind not in CONFIG_CLASSES:
        raise ModelConfigError(f"--set: 'kind' must be one of {sorted(CONFIG_CLASSES)}, found {kind!r}")
    cls = CONFIG_CLASSES[kind]
    kw = {**(base or {}), **over}
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(kw) - known)
    if unknown:
        raise ModelConfigError(f"--set: unknown model config keys {unknown} (known: {sorted(known)})")
    return cls(**kw)


def _settings(args: argparse.Namespace) -> Any:
    from edge.train.loop import TrainSettings

    s = TrainSettings(
        epochs=args.epochs, batch_size=args.batch_size, warmup=args.warmup,
        lr_factor=args.lr_factor, seed=args.seed, strategy=args.strategy,
        augment=not args.no_augment, stride=args.stride,
        temperature=getattr(args, "temperature", 2.0), kd_weight=getattr(args, "kd_weight", 0.7),
        input_step=args.input_step,
    )
    s.validate()
    return s


def _loop_args(p: argparse.ArgumentParser, *, epochs: int, lr_factor: float,
               lr_help: str, input_step_help: str) -> None:
    """The training loop's options shared by train, distill and qat (their defaults differ)."""
    p.add_argument("--data", required=True, help="dataset folder (manifest.json + splits)")
    p.add_argument("--out", required=True, help="run folder to create (or resume)")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=32, help="global batch")
    p.add_argument("--warmup", type=int, default=400, help="Noam warm-up steps")
    p.add_argument("--lr-factor", type=float, default=lr_factor, help=lr_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", default="one", help="one | mirrored | multiworker (TF_CONFIG)")
    p.add_argument("--no-augment", action="store_true", help="no rotation/scale/shift")
    p.add_argument("--stride", type=int, default=0, help="window stride in frames (0: half a hop)")
    p.add_argument("--input-step", type=float, default=0.0, help=input_step_help)


def _common(p: argparse.ArgumentParser) -> None:
    _loop_args(p, epochs=40, lr_factor=1.0, lr_help="Noam factor",
               input_step_help="round training keypoints to this grid, the int8 input's scale "
                               "(quantization-aware input; 0: off)")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint")
    p.add_argument("--init", metavar="RUN", default=None,
                   help="start from RUN's trained weights, matched by name (fine-tuning; the "
                        "optimizer and the learning-rate schedule start afresh)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model config field (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from edge.train.api import train_teacher
    from edge.train.run import read_run_config

    kind, base = "teacher", None
    own = Path(args.out) / "config.json"
    start = args.init if args.init is not None else (args.out if args.resume and own.exists()
                                                     else None)
    if start is not None:  # fine-tuning or resuming: that run's model, changed only by --set
        icfg, _ = read_run_config(start)
        kind, base = icfg.kind, asdict(icfg)
        base.pop("kind")
    cfg = _model_config(kind, args.set, base)
    m = train_teacher(args.data, args.out, _settings(args), cfg, resume=args.resume,
                      progress=not args.quiet, init=args.init)
    print(f"{cfg.kind} run written to {args.out}: final val {json.dumps(m['final_val'])}")
    return 0


def _distill(args: argparse.Namespace) -> int:
    from edge.train.api import distill_student
    from edge.train.run import read_run_config

    tcfg, _ = read_run_config(args.teacher)
    base = {k: getattr(tcfg, k)
            for k in ("window_frames", "hop_frames", "fps", "max_tokens", "input_frame")}
    m = distill_student(args.teacher, args.data, args.out, _settings(args),
                        _model_config("student", args.set, base), resume=args.resume,
                        progress=not args.quiet, init=args.init, inherit=args.inherit)
    print(f"student run written to {args.out}: final val {json.dumps(m['final_val'])}")
    return 0


def _qat(args: argparse.Namespace) -> int:
    from edge.train.qat import QatSettings, qat_finetune

    q = QatSettings(calib_windows=args.calib_windows, snap=not args.no_snap, margin=args.margin,
                    margin_weight=args.margin_weight, dropout=args.dropout,
                    logit_bound=args.logit_bound, bound_weight=args.bound_weight,
                    margin_anchor=args.margin_anchor, float_input=args.float_input,
                    neutral_weight=args.neutral_weight, simulate_norms=args.simulate_norms)
    m = qat_finetune(args.run, args.data, args.out, _settings(args), q, resume=args.resume,
                     progress=not args.quiet)
    print(f"QAT run written to {args.out}: final val {json.dumps(m['final_val'])}")
    return 0


def _soup(args: argparse.Namespace) -> int:
    from edge.train.soup import average_runs

    average_runs(args.runs, args.out)
    print(f"soup of {len(args.runs)} runs written to {args.out}")
    return 0


def _add_qat(sub: argparse._SubParsersAction) -> None:
    from edge.train import FLOAT_INPUTS, MARGIN_ANCHORS

    p = sub.add_parser("qat", help="fine-tune a run with its int8 export's quantization simulated")
    p.add_argument("--run", required=True, help="the finished run folder to fine-tune (also the "
                   "frozen teacher: its float model's soft targets)")
    _loop_args(p, epochs=8, lr_factor=0.1, lr_help="Noam factor (fine-tuning: small)",
               input_step_help="keypoint grid (0: the int8 input's scale from the calibration "
                               "windows)")
    p.add_argument("--temperature", type=float, default=2.0, help="softening of both logits")
    p.add_argument("--kd-weight", type=float, default=0.7, help="weight of KD (from RUN) vs CE")
    p.add_argument("--calib-windows", type=int, default=64,
                   help="training windows the activation ranges are calibrated on (as export)")
    p.add_argument("--margin", type=float, default=0.5,
                   help="logit lead the float model's top-1 should keep over the runner-up")
    p.add_argument("--margin-weight", type=float, default=0.0,
                   help="weight of that margin term, on the float and the simulated int8 logits "
                        "(0: plain QAT)")
    p.add_argument("--margin-anchor", choices=MARGIN_ANCHORS, default="self",
                   help="whose top-1 the margin keeps ahead: the model's own float top-1 as it "
                        "trains, RUN's frozen one (no drift from RUN's choices), the model's own "
                        "where it is one of RUN's two best (teacher2), the ground truth, or "
                        "teacher2 plus the model's own wherever onset F1 cannot tell its two best "
                        "apart (velocity bins, note-offs, a note-off against a time shift: "
                        "neutral), or that and elsewhere the ground truth where it is one of "
                        "RUN's two best (guided)")
    p.add_argument("--neutral-weight", type=float, default=0.0,
                   help="anchors neutral and guided: the margin's weight where onset F1 cannot "
                        "tell the model's two best tokens apart (0: --margin-weight)")
    p.add_argument("--float-input", choices=FLOAT_INPUTS, default="raw",
                   help="keypoints of the float passes (RUN's soft targets, the margin's "
                        "reference): as they are, like the export's float model (raw), or on the "
                        "int8 input's grid like the simulated int8 pass (rounded)")
    p.add_argument("--logit-bound", type=float, default=12.0,
                   help="|float logit| beyond which the bound term pulls it back (a narrower "
                        "int8 logits range, a finer step between the two best tokens)")
    p.add_argument("--bound-weight", type=float, default=0.0, help="weight of the bound term (0: off)")
    p.add_argument("--simulate-norms", action="store_true",
                   help="also round every LayerNorm's internal tensors (mean, squared "
                        "differences, variance, its RSQRT, ...) as the converter makes them int8")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout while fine-tuning")
    p.add_argument("--no-snap", action="store_true",
                   help="keep the float weights (default: write their int8 values, dequantized)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_qat)


def _evaluate(args: argparse.Namespace) -> int:
    from edge.data.clip import write_atomic
    from edge.model.decoding import DecodeSettings
    from edge.model.evaluate import evaluate_run

    s = DecodeSettings(method="sample" if args.sample else "greedy", temperature=args.temperature,
                       top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    s.validate()
    out = Path(args.out or Path(args.model) / f"eval_{args.split}")
    result = evaluate_run(args.model, args.data, args.split, s, max_clips=args.max_clips,
                          png=out.with_suffix(".png"), progress=not args.json)
    text = json.dumps(result, indent=1)
    write_atomic(out.with_suffix(".json"), (text + "\n").encode())
    if args.json:
        print(text)
    else:
        keys = ("token_accuracy", "onset_f1", "onset_only_f1", "onset_offset_f1", "pitch_class_distance",
                "motion_sensitivity", "clips")
        for k in keys:
            v = result.get(k)
            print(f"{k:>22}: {v:.4f}" if isinstance(v, float) else f"{k:>22}: {v}")
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = sub.add_parser("train", help="train the teacher Graph-Transformer (with --init RUN: "
                       "fine-tune RUN's model on the ground truth, e.g. --set hop_frames=4)")
    _common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("distill", help="distill the MCU student from a trained teacher")
    p.add_argument("--teacher", required=True, help="the teacher's run folder")
    _common(p)
    p.add_argument("--temperature", type=float, default=2.0, help="softening of both logits")
    p.add_argument("--kd-weight", type=float, default=0.7, help="weight of KD vs ground-truth CE")
    p.add_argument("--inherit", metavar="RUN", default=None,
                   help="start from a larger RUN's weights where they fit (equal shapes copied, "
                        "smaller ones take the leading block, HAT-style); the rest fresh")
    p.set_defaults(func=_distill)

    _add_qat(sub)

    p = sub.add_parser("soup", help="average the weights of runs fine-tuned from one run (a "
                       "model soup): an ordinary run folder")
    p.add_argument("--run", action="append", required=True, dest="runs",
                   help="a run folder to average (repeat: at least 2, same model and init)")
    p.add_argument("--out", required=True, help="run folder to write")
    p.set_defaults(func=_soup)

    p = sub.add_parser("evaluate", help="token accuracy, onset F1, pitch classes, motion sensitivity")
    p.add_argument("--model", required=True, help="run folder")
    p.add_argument("--data", required=True, help="dataset folder")
    p.add_argument("--split", default="test", help="test | val | train | all")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--out", help="path stem of the JSON/PNG written (default RUN/eval_SPLIT)")
    p.add_argument("--max-clips", type=int, default=0, help="evaluate only the first N clips")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_evaluate)
