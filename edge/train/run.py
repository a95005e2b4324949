"""A run folder: what a training or distillation run leaves behind, and how to load it back.

::

    RUN/config.json        {"model": ModelConfig, "train": TrainSettings, "data": ..., ...}
    RUN/model.weights.h5   final weights of the training graph (shared by encoder and step)
    RUN/metrics.json       per-epoch history + final validation metrics
    RUN/curves.png         loss and token accuracy per epoch
    RUN/checkpoint/        weights, optimizer slots and state after the last finished epoch
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edge.data.clip import write_atomic
from edge.model.build import Models, build_models
from edge.model.config import ModelConfig, ModelConfigError, config_from_dict
from edge.train import TrainError

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METRICS = "metrics.json"
CURVES = "curves.png"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON atomically."""
    write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def save_weights(models: Models, out: Path) -> None:
    """Write the shared weights to ``out/model.weights.h5`` (temporary file, then rename)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "tmp-final.weights.h5"
    models.train.save_weights(str(tmp))
    tmp.replace(out / WEIGHTS)


def read_run_config(run: str | os.PathLike[str]) -> tuple[ModelConfig, dict[str, Any]]:
    """(model config, whole config dict) of a run folder."""
    path = Path(run) / CONFIG
    if not path.exists():
        raise TrainError(f"{run}: not a run folder ({CONFIG} missing)")
    try:
        data = json.loads(path.read_text())
        return config_from_dict(data["model"], str(path)), data
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise TrainError(f"{path}: malformed run config ({e!r})") from e
    except ModelConfigError as e:
        raise TrainError(str(e)) from e


def load_run(run: str | os.PathLike[str], batch_size: int | None = None) -> tuple[ModelConfig, Models]:
    """The config and the three weight-sharing models of a finished run."""
    cfg, _ = read_run_config(run)
    weights = Path(run) / WEIGHTS
    if not weights.exists():
        raise TrainError(f"{run}: no trained weights ({WEIGHTS} missing; did the run finish?)")
    models = build_models(cfg, batch_size)
    try:
        models.train.load_weights(str(weights))
    except ValueError as e:
        raise TrainError(f"{weights}: weights do not match the run's model config ({e})") from e
    return cfg, models


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Loss and token accuracy per epoch (train and validation) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, ax in (("loss", a), ("accuracy", b)):
        ax.plot(ep, [h[f"train_{key}"] for h in history], label="train")
        if history and f"val_{key}" in history[0]:
            ax.plot(ep, [h[f"val_{key}"] for h in history], label="val")
        ax.set_xlabel("epoch")
        ax.set_ylabel("token " + key if key == "accuracy" else "cross-entropy / token")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
