"""``train_teacher`` and ``distill_student``: data folder in, run folder out."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge.model.build import build_models
from edge.model.config import ModelConfig, StudentConfig, TeacherConfig, config_to_dict
from edge.train import TrainError
from edge.train.loop import TrainSettings, evaluate_windows, fit
from edge.train.run import CONFIG, CURVES, METRICS, load_run, plot_curves, save_weights, write_json
from edge.train.strategy import is_chief
from edge.train.windows import Windows, make_windows

SHIPPING_STRIDE_DIVISOR = 2


def load_windows(data: str | os.PathLike[str], split: str, cfg: ModelConfig, stride: int) -> Windows:
    """All hops of one split of a dataset folder."""
    from edge.data.dataset import clip_paths, load_split

    clips = load_split(data, split)
    names = [str(p) for p in clip_paths(data, split)]
    return make_windows(clips, cfg, stride=stride, names=names)


def _run(
    cfg: ModelConfig, data: str | os.PathLike[str], out: str | os.PathLike[str], s: TrainSettings,
    *, resume: bool, progress: bool, teacher_run: str | None = None,
    init: str | os.PathLike[str] | None = None, inherit: str | os.PathLike[str] | None = None,
    qat: Callable[[Any], Any] | None = None, qat_meta: dict[str, Any] | None = None,
    snap: bool = False,
) -> dict[str, Any]:
    """Train ``cfg`` into ``out``. ``qat``: quantization-aware training
    (:func:`edge.train.qat.qat_finetune`): the training graph gets fake-quant activations,
    ``qat(model)`` makes the loop's session, and ``snap`` replaces the final float weights by
    their int8 values."""
    out = Path(out)
    if init is not None and resume:
        raise TrainError("--init and --resume exclude each other (resume continues RUN's own "
                         "checkpoint)")
    if init is not None and inherit is not None:
        raise TrainError("--init and --inherit exclude each other (init copies every weight)")
    stride = s.stride or max(1, cfg.hop_frames // SHIPPING_STRIDE_DIVISOR)
    train = load_windows(data, "train", cfg, stride)
    try:
        val = load_windows(data, "val", cfg, cfg.hop_frames)
    except TrainError:
        val = None  # an empty validation split is allowed
    meta = {"model": config_to_dict(cfg), "train": asdict(s), "data": str(data),
            "teacher": teacher_run, "train_windows": len(train), "truncated_hops": train.truncated}
    if init is not None:
        meta["init"] = str(init)
    if inherit is not None:
        meta["inherit"] = str(inherit)
    if qat is not None:
        meta["qat"] = qat_meta or {}
    if resume and (out / CONFIG).exists():  # a resumed fine-tune still names where it started
        before = json.loads((out / CONFIG).read_text())
        meta.update({k: before[k] for k in ("init", "inherit") if k in before and k not in meta})
    if is_chief() or not (out / CONFIG).exists():
        write_json(out / CONFIG, meta)
    teacher = None
    if teacher_run is not None:
        def teacher() -> Any:
            return load_run(teacher_run)[1].train

    model_holder: dict[str, Any] = {}

    def build() -> Any:
        hook = None
        if qat is not None:
            from edge.model.qat import fake_quant as hook
        model_holder["models"] = build_models(cfg, train_activations=hook)
        if init is not None:
            copy_weights_by_name(load_run(init)[1].train, model_holder["models"].train, str(init))
        if inherit is not None and not resume:
            inherit_weights(load_run(inherit)[1].train, model_holder["models"].train)
        return model_holder["models"].train

    def session(model: Any) -> Any:
        model_holder["qat"] = qat(model)  # type: ignore[misc]
        return model_holder["qat"]

    _, history = fit(build, train, val, s, out, d_model=cfg.d_model, input_frame=cfg.input_frame,
                     teacher=teacher, resume=resume, progress=progress,
                     qat=session if qat is not None else None)
    models = model_holder["models"]
    if "qat" in model_holder:
        if snap:
            model_holder["qat"].snap()
        plain = build_models(cfg)  # the weights file of an ordinary run (no fake-quant layers)
        copy_weights_by_name(models.train, plain.train, str(out))
        models = plain
    save_weights(models, out)
    final = evaluate_windows(models.train, val) if val is not None else {}
    metrics = {"history": history, "final_val": final, **{k: meta[k] for k in ("train_windows", "truncated_hops")}}
    write_json(out / METRICS, metrics)
    plot_curves(history, out / CURVES, f"{cfg.kind} ({models.train.count_params():,} params)")
    return metrics


CLOCK_TABLE = "clock_embedding/table"  # path tail of the decoder's clock embedding weight


def copy_weights_by_name(src: Any, dst: Any, where: str) -> None:
    """Assign every weight of model ``dst`` from the weight of ``src`` with the same path.

    Robust to weightless layers added or removed (e.g. training-only noise), unlike loading a
    weights file by layer order; raises :class:`TrainError` naming the first weight missing or
    of another shape. The one shape allowed to differ is the clock embedding's row count (it
    is ``hop_frames + 1``): a run trained for another hop is remapped by
    :func:`edge.model.clock.resize_clock_table` (fine-tuning to a shorter or longer hop)."""
    from edge.model.clock import resize_clock_table

    by_path = {w.path: w for w in src.weights}
    for w in dst.weights:
        s = by_path.get(w.path)
        want = tuple(w.shape)
        if (s is not None and w.path.endswith(CLOCK_TABLE) and len(want) == 2
                and tuple(s.shape)[1:] == want[1:] and tuple(s.shape) != want):
            w.assign(resize_clock_table(s.numpy(), want[0] - 1))
            continue
        if s is None or tuple(s.shape) != want:
            found = "missing" if s is None else f"shape {tuple(s.shape)}"
            raise TrainError(f"--init {where}: weight '{w.path}' {want} not found "
                             f"there ({found}); the model configs must match (hop_frames "
                             f"may differ: the clock embedding is remapped)")
        w.assign(s.numpy())


def inherit_weights(src: Any, dst: Any) -> dict[str, int]:
    """Start ``dst`` from a larger model's weights, as HAT's sub-networks inherit a
    super-network's: every weight of ``dst`` whose path exists in ``src`` takes ``src``'s value
    when the shapes are equal, or its leading block (``src[:a, :b, ...]``) when ``dst`` is
    smaller along every axis; other weights keep their fresh initialisation. Returns the counts
    {"copied", "sliced", "fresh"}. An initialisation, not a compression: slices of concatenated
    or per-head layouts are not the smaller model's function, training adapts them."""
    by_path = {w.path: w for w in src.weights}
    counts = {"copied": 0, "sliced": 0, "fresh": 0}
    for w in dst.weights:
        s = by_path.get(w.path)
        want, have = tuple(w.shape), None if s is None else tuple(s.shape)
        if have == want:
            w.assign(s.numpy())  # type: ignore[union-attr]
            counts["copied"] += 1
        elif have is not None and len(have) == len(want) and all(
                a <= b for a, b in zip(want, have, strict=True)):
            w.assign(s.numpy()[tuple(slice(0, a) for a in want)])  # type: ignore[union-attr]
            counts["sliced"] += 1
        else:
            counts["fresh"] += 1
    return counts


def train_teacher(
    data: str | os.PathLike[str], out: str | os.PathLike[str], s: TrainSettings | None = None,
    cfg: ModelConfig | None = None, *, resume: bool = False, progress: bool = True,
    init: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train a model on the ground truth alone (no soft targets) into the run folder ``out``;
    returns its metrics. A teacher by default; with ``init`` and a student ``cfg``, the
    fine-tuning of a student, e.g. to a shorter hop (:func:`copy_weights_by_name`)."""
    return _run(cfg or TeacherConfig(), data, out, s or TrainSettings(), resume=resume,
                progress=progress, init=init)


def distill_student(
    teacher_run: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str],
    s: TrainSettings | None = None, cfg: StudentConfig | None = None, *, resume: bool = False,
    progress: bool = True, init: str | os.PathLike[str] | None = None,
    inherit: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Distill a student from the teacher run's soft targets (+ ground-truth CE) into ``out``;
    ``inherit``: start from that run's weights where they fit (:func:`inherit_weights`)."""
    tcfg, _ = load_run(teacher_run)  # fails early on a bad teacher folder
    cfg = cfg or StudentConfig(window_frames=tcfg.window_frames, hop_frames=tcfg.hop_frames,
                               fps=tcfg.fps, max_tokens=tcfg.max_tokens,
                               input_frame=tcfg.input_frame)
    if cfg.hop_frames != tcfg.hop_frames:
        raise TrainError(
            f"student 'hop_frames' must equal the teacher's {tcfg.hop_frames} (its soft targets "
            f"are the events of its own hop), found {cfg.hop_frames}; to train for another hop, "
            f"fine-tune on the ground truth: foley-edge train --init {teacher_run} --set "
            f"hop_frames={cfg.hop_frames} (the clock embedding is remapped)"
        )
    for name in ("window_frames", "fps", "max_tokens", "input_frame"):
        if getattr(cfg, name) != getattr(tcfg, name):
            raise TrainError(
                f"student '{name}' must equal the teacher's {getattr(tcfg, name)!r} (same windows "
                f"and sequences), found {getattr(cfg, name)!r}"
            )
    return _run(cfg, data, out, s or TrainSettings(), resume=resume, progress=progress,
                teacher_run=str(teacher_run), init=init, inherit=inherit)
