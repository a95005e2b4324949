"""``--strategy one|mirrored|multiworker``: TensorFlow's own distribution engines.

``multiworker`` is ``tf.distribute.MultiWorkerMirroredStrategy``: it reads ``TF_CONFIG``
(``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}``) and
all-reduces gradients across the machines; every worker runs the same command. Every worker
writes its own run folder (weights are identical after each step); give workers that share a
file system different ``--out`` folders and keep the chief's (task index 0).
"""

from __future__ import annotations

import json
import os
from typing import Any

from edge.train import TrainError

STRATEGIES: tuple[str, ...] = ("one", "mirrored", "multiworker")


def check_tf_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The parsed ``TF_CONFIG``; :class:`TrainError` if it is missing or malformed."""
    raw = (env if env is not None else os.environ).get("TF_CONFIG")
    if not raw:
        raise TrainError("--strategy multiworker needs TF_CONFIG in the environment, found none")
    try:
        cfg = json.loads(raw)
        workers = cfg["cluster"]["worker"]
        index = int(cfg["task"]["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise TrainError(
            'TF_CONFIG must look like {"cluster": {"worker": ["host:port", ...]}, '
            f'"task": {{"type": "worker", "index": 0}}}}, found {raw!r} ({e})'
        ) from e
    if not 0 <= index < len(workers):
        raise TrainError(f"TF_CONFIG task index must be in 0..{len(workers) - 1}, found {index}")
    return cfg


def make_strategy(name: str) -> Any:
    """The ``tf.distribute.Strategy`` called ``name``."""
    import tensorflow as tf

    if name == "one":
        return tf.distribute.OneDeviceStrategy("/cpu:0" if not tf.config.list_physical_devices("GPU") else "/gpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TrainError(f"--strategy must be one of {', '.join(STRATEGIES)}, found {name!r}")


def is_chief() -> bool:
    """True unless this process is a non-zero worker of a multi-worker cluster."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    try:
        return int(json.loads(raw)["task"]["index"]) == 0
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return True
