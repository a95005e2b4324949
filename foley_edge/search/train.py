"""A search trial that trains: distil one candidate from the teacher, score it on held-out clips.

The recipe is `foley-edge distill --inherit TEACHER`'s (:func:`edge.train.api.distill_student`: soft targets of
the teacher + ground-truth cross-entropy, the same windows and augmentation), started from the
teacher's weights where they fit (HAT's weight inheritance, :func:`edge.train.api.inherit_weights`:
short trials of fresh models all score an onset F1 near 0 and cannot be ranked), for the number
of epochs the search can afford; the score is `foley-edge evaluate`'s onset F1 with pitch (mir_eval,
50 ms onsets, greedy decoding) on the first ``clips`` clips of a split the candidate never
trained on (written beside the run as ``eval_<split>.json``, as `foley-edge evaluate --json`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edge.train.loop import TrainSettings


@dataclass(frozen=True)
class Trained:
    """One candidate after a training trial."""

    key: str  # config_key of the candidate
    run: str  # its run folder
    epochs: int  # epochs of this trial
    train_seconds: float  # wall time of the training
    split: str  # split the scores come from
    onset_f1: float  # onset F1 with pitch (mir_eval, 50 ms), mean over clips
    token_accuracy: float  # teacher-forced token accuracy on the split
    motion_sensitivity: float | None  # onset F1 own keypoints / another clip's (None: n/a)


def train_candidate(key: str, model: dict[str, Any], teacher: str, data: str, out: str,
                    settings: TrainSettings, split: str, clips: int,
                    init: str | None = None, inherit: str | None = None) -> Trained:
    """Distil the candidate ``model`` (config_to_dict) into ``out`` and score it on ``split``;
    ``init`` continues a trial's weights, ``inherit`` starts from the teacher's where they fit."""
    from edge.model.config import StudentConfig, config_from_dict
    from edge.model.evaluate import evaluate_run
    from edge.train.api import distill_student
    from edge.train.run import write_json

    cfg = config_from_dict(model, f"candidate {key}")
    assert isinstance(cfg, StudentConfig)
    start = time.monotonic()
    distill_student(teacher, data, out, settings, cfg, progress=False, init=init,
                    inherit=inherit)
    seconds = time.monotonic() - start
    m = evaluate_run(Path(out), data, split, max_clips=clips)
    write_json(Path(out) / f"eval_{split}.json", m)
    return Trained(key, out, settings.epochs, round(seconds, 1), split, float(m["onset_f1"]),
                   float(m["token_accuracy"]), m.get("motion_sensitivity"))


def brief_settings(base: TrainSettings, epochs: int) -> TrainSettings:
    """``base`` for ``epochs`` epochs (the search's short trials and the final fine-tuning)."""
    return replace(base, epochs=max(1, epochs))
