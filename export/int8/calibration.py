"""Calibration data from real activations: keypoint windows and teacher-forced decoder states.

For a batch of windows the float encoder gives the cross-attention K/V; the float decoder step
then runs position by position on the window's ground-truth input tokens (teacher forcing),
each step's new K/V rows written into the caches the next step reads — exactly the states the
device meets. Every (window, position) whose input token is not PAD becomes one sample of the
decoder step's representative dataset; the float logits are kept for the int8 agreement check.
Cost: one encoder call per batch and ``L`` step calls per batch (batches of :data:`BATCH`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge import vocab
from edge.model.build import Models
from edge.model.clock import cursors_of_inputs
from edge.model.config import ModelConfig
from edge.model.kv import empty_cache, step_inputs, write_rows

BATCH = 32
"""Windows run in lock step through the float models."""


@dataclass(frozen=True)
class TeacherForced:
    """Float encoder inputs, decoder-step inputs and logits of teacher-forced windows."""

    encoder_feeds: list[dict[str, np.ndarray]]  # {"keypoints": [1,W,65,3]} per window
    step_feeds: list[dict[str, np.ndarray]]  # batch-1 step inputs per valid (window, position)
    logits: np.ndarray  # float32 [S, 243]: float logits of each step feed
    window: np.ndarray  # int32 [S]: window index of each step feed
    position: np.ndarray  # int32 [S]: decoder position of each step feed


def _split(feeds: dict[str, np.ndarray], rows: np.ndarray) -> list[dict[str, np.ndarray]]:
    return [{k: np.ascontiguousarray(v[r : r + 1]) for k, v in feeds.items()} for r in rows]


def _run_batch(cfg: ModelConfig, models: Models, kp: np.ndarray, tokens: np.ndarray,
               first: int, out: dict[str, list[Any]]) -> None:
    cross = {k: np.asarray(v) for k, v in models.encoder(kp, training=False).items()}
    cache = empty_cache(cfg, kp.shape[0])
    cursors = cursors_of_inputs(tokens)
    for p in range(cfg.max_tokens):
        rows = np.flatnonzero(tokens[:, p] != vocab.PAD)
        if rows.size == 0:
            break
        feeds = step_inputs(cfg, tokens[:, p], p, cache, cross, cursors[:, p])
        res = {k: np.asarray(v) for k, v in models.step(feeds, training=False).items()}
        write_rows(cfg, cache, res, p)
        out["feeds"] += _split(feeds, rows)
        out["logits"].append(res["logits"][rows])
        out["window"].append(rows + first)
        out["position"].append(np.full(rows.size, p))


def teacher_forced(cfg: ModelConfig, models: Models, keypoints: np.ndarray,
                   inputs: np.ndarray) -> TeacherForced:
    """Teacher-forced float run of ``keypoints [N,W,65,3]`` with input tokens ``[N,L]``."""
    out: dict[str, list[Any]] = {"feeds": [], "logits": [], "window": [], "position": []}
    for a in range(0, len(keypoints), BATCH):
        _run_batch(cfg, models, keypoints[a : a + BATCH], inputs[a : a + BATCH], a, out)
    return TeacherForced(
        encoder_feeds=[{"keypoints": keypoints[i : i + 1].astype(np.float32)}
                       for i in range(len(keypoints))],
        step_feeds=out["feeds"],
        logits=np.concatenate(out["logits"]).astype(np.float32),
        window=np.concatenate(out["window"]).astype(np.int32),
        position=np.concatenate(out["position"]).astype(np.int32),
    )


def spread(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` indexes spread evenly over ``range(n)`` (all of them when n <= limit)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
