"""``average_runs``: a uniform weight average ("model soup") of runs fine-tuned from one run.

Runs fine-tuned from the same starting weights stay in one basin of the loss, so the average of
their weights is a model of its own, usually at least as good as each (Wortsman et al., "Model
soups", ICML 2022). For the int8 export it has one more property, measured in issue #17: each
quantization-aware run keeps its own near-ties apart, and the average keeps apart the ones they
share while the ones only one run settled are split between them, so its int8 export agreed with
its float model more often than any single run's did (98.65 % against at most 98.15 % on
data/synth's test windows), though it lost more greedy onset F1 to int8 on the fresh seed
(``export/int8/README.md``, "Held out by seed"), so the shipped student is not a soup.

The soup is an ordinary run folder (``config.json`` names its ingredients under ``"soup"``);
``foley-edge export`` and ``evaluate`` take it unchanged. The ingredients must share the model
config (same shapes, same names) and should share their start (``init``): averaging unrelated
runs gives a broken model, so a soup of runs with different ``init`` is refused.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edge.model.config import config_to_dict
from edge.train import TrainError
from edge.train.run import CONFIG, load_run, read_run_config, save_weights, write_json

TRAINING_ONLY = ("dropout", "quant_noise")
"""Model config fields that do not change the weights' shapes or the inference graph."""


def average_runs(runs: list[str | os.PathLike[str]], out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write the run folder ``out`` holding the mean of ``runs``' weights; returns its config.

    Raises :class:`TrainError` when fewer than two runs are given, a run is missing, their model
    configs differ or they did not start from the same ``init``."""
    if len(runs) < 2:
        raise TrainError(f"soup: expected at least 2 runs to average, found {len(runs)}")
    configs = [read_run_config(r) for r in runs]
    first = config_to_dict(configs[0][0])
    for r, (cfg, _) in zip(runs[1:], configs[1:], strict=True):
        diff = sorted(k for k, v in config_to_dict(cfg).items()
                      if first.get(k) != v and k not in TRAINING_ONLY)
        if diff:
            raise TrainError(f"soup: {r}: model config differs from {runs[0]}'s in {diff}")
    inits = {str(meta.get("init")) for _, meta in configs}
    if len(inits) != 1:
        raise TrainError(f"soup: the runs started from different weights (init {sorted(inits)}); "
                         "expected fine-tunes of one run")
    loaded = [load_run(r)[1] for r in runs]
    for vs in zip(*(m.train.weights for m in loaded), strict=True):
        vs[0].assign(np.mean([np.asarray(v, np.float64) for v in vs], axis=0).astype(np.float32))
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_weights(loaded[0], tmp)
    meta = {"model": first, "init": configs[0][1].get("init"), "data": configs[0][1].get("data"),
            "soup": [str(r) for r in runs]}
    write_json(tmp / CONFIG, meta)
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return meta
