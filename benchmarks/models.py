"""The models the bench measures: stock zoo models, the student and teacher, TinyEngine's
MCUNet models, sweep points.

A :class:`BenchModel` is a path to a full-int8 ``.tflite`` plus what the planner should keep in
the persistent area (the decoder step's KV caches and encoder memory: state kept across
invocations). Student and teacher models are built from :mod:`edge.model` configs with
untrained (seeded random) weights and converted with the zoo's int8 converter: memory and
instruction counts depend on shapes and operators, not on weight values. When an exported run
(``foley-edge export --out DIR``) is given, its ``encoder.tflite`` / ``decoder_step.tflite``
are used instead. TinyEngine's three models (:func:`tinyengine_models`) are read where they
lie (``../shared/models/`` beside the repository by default), never copied. Built models are cached under ``$FOLEY_EDGE_CACHE/bench`` (or
``~/.cache/foley-edge/bench``) keyed by the config and the TensorFlow version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import BenchError, Unavailable
from edge.data.clip import write_atomic

PERSISTENT_INPUT = re.compile(r"cache|cross|memory")
"""Input tensor names planned into the persistent area (KV caches, encoder memory)."""

CALIBRATION_SAMPLES = 8
"""Representative samples for the int8 conversion of untrained student/teacher models."""

ZOO_NAMES: tuple[str, ...] = ("mlp", "cnn", "gcn", "attention", "kv_decoder_step")
"""Stock models, smallest first."""

TINYENGINE_NAMES: tuple[str, ...] = ("mcunet-vww1", "mcunet-detection", "mcunetv2-large")
"""TinyEngine's MCUNet models (``<name>.tflite`` in the shared models folder), smallest first."""

TINYENGINE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "models"
"""Default folder of TinyEngine's models: ``../shared/models`` beside the repository."""

TINYENGINE_EMULATOR_MEMORY = frozenset({"mcunet-detection", "mcunetv2-large"})
"""TinyEngine models whose bench images are linked over the memory QEMU maps: ours needs more
than the board's 320 KB SRAM (detection: 240 KB float input + arena) or 1 MB flash
(mcunetv2-large: 2.2 MB of weights), as TFLite Micro does; the peer's images always are."""


@dataclass(frozen=True)
class BenchModel:
    """One int8 model to benchmark."""

    name: str  # row label, e.g. "student encoder", "zoo cnn"
    family: str  # "zoo", "student", "teacher" or "sweep"
    path: str  # the .tflite file
    role: str  # "encoder" (once per hop), "step" (once per token) or "model" (stock)
    note: str = ""  # provenance, e.g. "untrained weights, default StudentConfig"
    persistent: tuple[str, ...] | None = None  # --persistent specs; None: PERSISTENT_INPUT names
    emulator_memory: bool = False  # link our bench images over the memory QEMU maps, not the
    #                                board's budgets (a model larger than the real board)
    hop_frames: int = 0  # encoders: new frames per windowed invoke (the decoding hop); 0: unknown


def cache_dir() -> Path:
    """Folder of the bench's built models."""
    env = os.environ.get("FOLEY_EDGE_CACHE")
    return Path(env) / "bench" if env else Path.home() / ".cache" / "foley-edge" / "bench"


def zoo_models(names: tuple[str, ...] = ZOO_NAMES) -> list[BenchModel]:
    """The stock Keras models of :mod:`export.zoo` (built and cached on first use)."""
    from export.zoo import zoo_model

    return [BenchModel(f"zoo {n}", "zoo", str(zoo_model(n)),
                       "step" if n == "kv_decoder_step" else "model", "stock Keras int8")
            for n in names]


def persistent_inputs(graph: Any, specs: tuple[str, ...] | None = None) -> tuple[int, ...]:
    """Input tensors of ``graph`` kept across invocations: those ``specs`` name (indices, exact
    names or substrings of input names, as ``plan --persistent``), else the inputs whose names
    match PERSISTENT_INPUT."""
    if specs is not None:
        from export.planner.persistent import resolve_persistent

        return resolve_persistent(graph, list(specs))
    return tuple(i for i in graph.inputs if PERSISTENT_INPUT.search(graph.tensors[i].name))


def user_models(paths: list[str], persistent: tuple[str, ...] = ()) -> list[BenchModel]:
    """Models a user names on the command line (``foley-edge bench MODEL.tflite ...``)."""
    out = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise BenchError(f"{path}: no such .tflite file")
        out.append(BenchModel(path.stem, "user", str(path.resolve()), "model", f"file {path}",
                              persistent))
    return out


def tinyengine_models(folder: str | os.PathLike[str] | None = None
                      ) -> tuple[list[BenchModel], list[Unavailable]]:  # fmt: skip
    """TinyEngine's three MCUNet models read from ``folder`` (default :data:`TINYENGINE_DIR`),
    and an :class:`Unavailable` row for each one that is not there (a clean clone has no
    ``../shared``): never skipped silently, never copied."""
    root = Path(folder) if folder is not None else TINYENGINE_DIR
    found: list[BenchModel] = []
    missing: list[Unavailable] = []
    for name in TINYENGINE_NAMES:
        path = root / f"{name}.tflite"
        if not path.is_file():
            why = "no such folder" if not root.is_dir() else "no such file"
            missing.append(Unavailable(f"tinyengine {name}", f"{path}: {why} (TinyEngine's "
                                       "models are read from --tinyengine DIR, default "
                                       f"{TINYENGINE_DIR}; they are not part of the repository)"))
            continue
        found.append(BenchModel(f"tinyengine {name}", "tinyengine", str(path.resolve()), "model",
                                f"TinyEngine assets, file {path}; {_float_io_note(path)}",
                                emulator_memory=name in TINYENGINE_EMULATOR_MEMORY))
    return found, missing


def _float_io_note(path: Path) -> str:
    """Where the float32 input/output bytes of ``path`` are counted (both runtimes count them)."""
    from export.tflite_reader import read_tflite

    graph = read_tflite(path.read_bytes(), compiler_ops=False)
    ins = sum(graph.tensors[i].nbytes for i in graph.inputs if graph.tensors[i].dtype == "float32")
    outs = sum(graph.tensors[i].nbytes for i in graph.outputs
               if graph.tensors[i].dtype == "float32")
    return (f"float32 I/O {ins:,} B in + {outs:,} B out, counted in SRAM on both sides "
            "(ours: the caller's buffers in the bench image's .bss; TFLM: tensors in its arena)")


def exported_models(run_dir: str | os.PathLike[str], family: str = "student") -> list[BenchModel]:
    """``encoder.tflite`` and ``decoder_step.tflite`` of an export folder."""
    root = Path(run_dir)
    found = []
    for stem, role in (("encoder", "encoder"), ("decoder_step", "step")):
        hits = sorted(root.rglob(f"{stem}.tflite"))
        if not hits:
            raise BenchError(f"{root}: expected {stem}.tflite from 'foley-edge export', found none")
        hop = _export_hop_frames(hits[0].parent) if role == "encoder" else 0
        found.append(BenchModel(f"{family} {role}", family, str(hits[0]), role, f"export {root}",
                                hop_frames=hop))
    return found


def _export_hop_frames(folder: Path) -> int:
    """``hop_frames`` of the model config in ``folder/config.json`` (0 when there is none)."""
    path = folder / "config.json"
    if not path.is_file():
        return 0
    model = json.loads(path.read_text()).get("model", {})
    return int(model.get("hop_frames", 0)) if isinstance(model, dict) else 0


def _config_key(cfg: Any) -> str:
    from importlib.metadata import version

    from edge.model.config import config_to_dict

    text = json.dumps(config_to_dict(cfg), sort_keys=True) + version("tensorflow")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encoder_data(cfg: Any) -> Iterator[dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    for _ in range(CALIBRATION_SAMPLES):
        yield {"keypoints": rng.random((1, cfg.window_frames, 65, 3), np.float32)}


def _step_data(cfg: Any) -> Iterator[dict[str, np.ndarray]]:
    from edge.model.build import cache_names
    from edge.model.kv import empty_cache, step_inputs

    rng = np.random.default_rng(8)
    for k in range(CALIBRATION_SAMPLES):
        p = k * (cfg.max_tokens - 1) // max(CALIBRATION_SAMPLES - 1, 1)
        cache = empty_cache(cfg, 1)
        for v in cache.values():
            v[:, :p] = rng.normal(0, 1, v[:, :p].shape)
        cross = {n: rng.normal(0, 1, (1, cfg.n_memory, cfg.d_model)).astype(np.float32)
                 for n in cache_names(cfg, "cross")}
        yield step_inputs(cfg, rng.integers(0, 240, 1), p, cache, cross, np.array([p * 16_000]))


def _convert(cfg: Any, role: str) -> bytes:
    import keras

    from edge.model.build import build_models
    from export.zoo import convert_int8

    keras.utils.set_random_seed(1234)
    models = build_models(cfg, batch_size=1)
    if role == "encoder":
        return convert_int8(models.encoder, lambda: _encoder_data(cfg))
    step = models.step  # list inputs -> dict inputs, which the converter's signature needs
    named = keras.Model({t.name: t for t in step.inputs}, step.outputs, name=step.name)
    return convert_int8(named, lambda: _step_data(cfg))


def config_model(cfg: Any, role: str, *, name: str, family: str) -> BenchModel:
    """The int8 encoder (``role="encoder"``) or decoder step (``"step"``) of ``cfg``, cached."""
    if role not in ("encoder", "step"):
        raise BenchError(f"role must be 'encoder' or 'step', found {role!r}")
    path = cache_dir() / f"{cfg.kind}-{role}-{_config_key(cfg)}.tflite"
    if not path.exists():
        write_atomic(path, _convert(cfg, role))
    return BenchModel(name, family, str(path), role,
                      f"untrained {type(cfg).__name__}: same shapes and operators as trained",
                      hop_frames=cfg.hop_frames if role == "encoder" else 0)
