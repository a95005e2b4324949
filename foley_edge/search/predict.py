"""A fast cost predictor fitted to measured candidates, to rank the ones not measured yet.

Each measured quantity gets a least-squares fit on the shape features of
:mod:`foley_edge.search.space` (instructions per encoder window on MACs and activation values,
per decoder step likewise, flash on weight bytes, SRAM on the analytic SRAM estimate), with an
intercept. With fewer measurements than coefficients it falls back to one scale factor (the mean
ratio measured / feature). The predictor only ranks: every finalist is measured for real, and
only measured costs decide whether a candidate fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks.board import FOLEY_TOKENS_PER_S
from edge.model.config import StudentConfig
from firmware_bridge.boards.registry import Board
from foley_edge.search.cost import Cost
from foley_edge.search.space import Features, features

_TARGETS: dict[str, tuple[str, ...]] = {
    "encoder_instructions": ("encoder_macs", "encoder_values"),
    "step_instructions": ("step_macs", "step_values"),
    "flash_bytes": ("weight_bytes",),
    "sram_bytes": ("sram_estimate",),
}
"""Measured field -> the features its fit reads."""


@dataclass(frozen=True)
class Prediction:
    """Predicted cost of one candidate."""

    encoder_instructions: int  # one encoder window
    step_instructions: int  # one decoder step
    flash_bytes: int  # whole firmware
    sram_bytes: int  # static SRAM + stack reserve
    realtime_factor: float  # at the board's real clock


@dataclass(frozen=True)
class Predictor:
    """Linear fits, one per measured quantity (coefficients per feature, intercept last)."""

    coefficients: dict[str, tuple[float, ...]]  # measured field -> weights (+ intercept)
    points: int  # measurements the fits used

    def predict(self, cfg: StudentConfig, board: Board) -> Prediction:
        """The :class:`Prediction` of ``cfg`` on ``board``."""
        f = features(cfg)
        out = {name: int(round(max(0.0, _apply(self.coefficients[name], f, cols))))
               for name, cols in _TARGETS.items()}
        per_s = FOLEY_TOKENS_PER_S * cfg.hop_seconds
        rtf = (out["encoder_instructions"] + per_s * out["step_instructions"]) \
            / cfg.hop_seconds / board.target_hz
        return Prediction(**out, realtime_factor=round(rtf, 4))


def _apply(coef: tuple[float, ...], f: Features, cols: tuple[str, ...]) -> float:
    x = [float(getattr(f, c)) for c in cols]
    if len(coef) == 1:  # ratio fallback: scale of the first feature
        return coef[0] * x[0]
    return float(np.dot(coef[:-1], x) + coef[-1])


def _fit(xs: np.ndarray, ys: np.ndarray) -> tuple[float, ...]:
    if len(ys) < xs.shape[1] + 2:  # too few points for a fit with an intercept
        ratio = ys / np.maximum(xs[:, 0], 1.0)
        return (float(np.mean(ratio)),)
    design = np.hstack([xs, np.ones((len(ys), 1))])
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    return tuple(float(c) for c in coef)


def fit_predictor(measured: Sequence[Cost]) -> Predictor:
    """Fit every quantity on ``measured`` (at least one cost)."""
    if not measured:
        raise ValueError("fit_predictor needs at least one measured cost, found none")
    feats = [features(c.config()) for c in measured]
    coefs = {}
    for name, cols in _TARGETS.items():
        xs = np.array([[float(getattr(f, c)) for c in cols] for f in feats])
        ys = np.array([float(getattr(c, name)) for c in measured])
        coefs[name] = _fit(xs, ys)
    return Predictor(coefs, len(measured))
