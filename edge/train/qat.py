"""``qat_finetune``: a finished run fine-tuned with its int8 export's quantization simulated.

Steps: read RUN's model config -> calibration windows from the training split (the windows the
export calibrates on: hop stride, spread evenly) -> the int8 keypoint input's scale from them
(the simulated int8 pass reads the training windows on that grid, the float passes as they are:
:class:`QatSettings.float_input`) -> the shared training loop (:func:`edge.train.loop.fit`) on a
training graph built with fake-quant activations (:mod:`edge.model.qat`), starting from RUN's
weights and distilling from RUN itself (its float model is the frozen teacher: the fine-tune
keeps RUN's choices and makes them survive int8) -> the float weights replaced by their int8
values, dequantized, so the float model the export compares against *is* the int8 weights'
model (the converter rounds them again to the same codes) -> an ordinary run folder
(``config.json`` records ``"qat"``) that ``foley-edge export`` and ``evaluate`` take unchanged.

Plain QAT makes the int8 model accurate, not closer to the float one: the export's misses are
the float model's near-ties (``export/int8/README.md``). Two optional loss terms aim at them
(:class:`QatSettings`): a margin keeping a chosen top-1 (:data:`edge.train.MARGIN_ANCHORS`) ahead
of the runner-up, on the float and the simulated int8 logits, and a bound on the float logits
that narrows the int8 logits' range (a finer step between the two best tokens).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from edge.train import FLOAT_INPUTS, MARGIN_ANCHORS, TrainError
from edge.train.loop import TrainSettings


@dataclass(frozen=True)
class QatSettings:
    """Knobs of quantization-aware fine-tuning (saved in the run's config.json as ``qat``)."""

    calib_windows: int = 64  # training windows the activation ranges are calibrated on (export: 64)
    snap: bool = True  # write the int8 weights (dequantized) as the run's float weights
    margin: float = 0.5  # logits: the lead the float model's top-1 should keep (int8 LSB ~0.17)
    margin_weight: float = 0.0  # weight of the margin term per token (0: plain QAT)
    dropout: float = 0.0  # dropout while fine-tuning (the simulated int8 pass mirrors the device)
    logit_bound: float = 12.0  # |float logit| beyond which the bound term pulls it back
    margin_anchor: str = "self"  # whose top-1 the margin keeps ahead: MARGIN_ANCHORS
    bound_weight: float = 0.0  # weight of the bound term per token (0: off)
    neutral_weight: float = 0.0  # neutral/guided: margin weight on onset-neutral steps (0: margin_weight)
    float_input: str = "raw"  # keypoints of the float passes (RUN, margin reference): FLOAT_INPUTS
    simulate_norms: bool = False  # also round the LayerNorms' internals (edge.model.qat.simulate_norms)

    def validate(self) -> None:
        """Raise :class:`TrainError` naming the first bad field."""
        for name, ok, want in (
            ("calib_windows", self.calib_windows >= 1, ">= 1"), ("margin", self.margin > 0, "> 0"),
            ("margin_weight", self.margin_weight >= 0, ">= 0"),
            ("logit_bound", self.logit_bound > 0, "> 0"),
            ("bound_weight", self.bound_weight >= 0, ">= 0"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("margin_anchor", self.margin_anchor in MARGIN_ANCHORS, f"one of {MARGIN_ANCHORS}"),
            ("neutral_weight", self.neutral_weight >= 0, ">= 0"),
            ("float_input", self.float_input in FLOAT_INPUTS, f"one of {FLOAT_INPUTS}"),
        ):
            if not ok:
                raise TrainError(f"QAT setting '{name}' must be {want}, found {getattr(self, name)!r}")


class QatSession:
    """The QAT state of one built training graph: its int8 weights and activation ranges."""

    def __init__(self, model: Any, keypoints: np.ndarray, inputs: np.ndarray,
                 q: QatSettings | None = None) -> None:
        from edge.model.qat import fake_quant_layers, quantized_weights, simulate_norms

        q = q or QatSettings()
        self.model, self.keypoints, self.inputs = model, keypoints, inputs
        # read by the training step (edge.train.loop._step_function)
        self.margin, self.margin_weight = q.margin, q.margin_weight
        self.logit_bound, self.bound_weight = q.logit_bound, q.bound_weight
        self.margin_anchor = q.margin_anchor
        self.raw_float = q.float_input == "raw"
        self.neutral_weight = q.neutral_weight or q.margin_weight
        self.weights = quantized_weights(model)
        if q.simulate_norms:  # the hooks live on the norms; calibrate() finds them there
            simulate_norms(model)
        if not self.weights or not fake_quant_layers(model):
            raise TrainError(f"QAT: model '{model.name}' has {len(self.weights)} int8 weights and "
                             f"{len(fake_quant_layers(model))} fake-quant activations; expected "
                             "both > 0 (build it with train_activations=fake_quant)")

    def swap_in(self) -> list[Any]:
        """Put the int8 weights in place; returns the float ones (graph-safe)."""
        from edge.model.qat import swap_in

        return swap_in(self.weights)

    def swap_out(self, saved: list[Any]) -> None:
        """Put the float weights :meth:`swap_in` returned back."""
        from edge.model.qat import swap_out

        swap_out(self.weights, saved)

    def calibrate(self) -> None:
        """Activation ranges from the calibration windows, run with the int8 weights (what the
        converter calibrates)."""
        from edge.model.qat import calibrate

        saved = self.swap_in()
        try:
            calibrate(self.model, self.keypoints, self.inputs)
        finally:
            self.swap_out(saved)

    def snap(self) -> None:
        """Replace the float weights by their int8 values, for good."""
        self.swap_in()


def qat_finetune(
    run: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str],
    s: TrainSettings | None = None, q: QatSettings | None = None, *, resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune the run folder ``run`` with int8 simulated into the run folder ``out``; returns
    its metrics (see the module doc). ``s.input_step`` 0 takes the int8 input's scale."""
    from edge.train.api import _run, load_windows
    from edge.train.run import read_run_config

    q = q or QatSettings()
    q.validate()
    s = s or TrainSettings()
    cfg, _ = read_run_config(run)
    cfg = replace(cfg, dropout=q.dropout)
    calib = load_windows(data, "train", cfg, cfg.hop_frames)
    idx = np.unique(np.linspace(0, len(calib) - 1, min(q.calib_windows, len(calib))).round().astype(int))
    kp, inputs = calib.keypoints[idx], calib.inputs[idx]
    if not s.input_step:
        from edge.model.qat import input_step

        s = replace(s, input_step=input_step(kp))

    def session(model: Any) -> QatSession:
        return QatSession(model, kp, inputs, q)

    return _run(cfg, data, out, s, resume=resume, progress=progress, teacher_run=str(run),
                init=None if resume else run, qat=session, qat_meta=asdict(q), snap=q.snap)
