"""The model a build uses when none is named: the shipped student's export, made on the fly.

Decision (documented here and in ``foley-edge build --help``): the shipped student
(``edge/model/shipped/student/``, a run folder) is exported on first use into a cache folder
keyed by the SHA-256 of the export pipeline's version, ``config.json`` and ``model.weights.h5``
(``out/cache/student-<12 hex>/``); later builds reuse it.

It is calibrated and checked on performances the shipped models never learnt from, made on this
machine (no data and no network needed): :func:`held_out_dataset`, the synthetic performer's
rendering of :data:`HELD_OUT_PIECES` music21-corpus pieces with seed :data:`HELD_OUT_SEED`,
drawn around every piece in ``edge/model/shipped/used_pieces.json`` — the same set as
``foley-edge data synth --out data/synth-s1 --pieces 50 --seed 1 --exclude
edge/model/shipped/used_pieces.json``. Calibration reads its training split, the checks
(:data:`CHECK_WINDOWS` teacher-forced and :data:`CHECK_GREEDY` greedy windows) its test split:
the export's targets measured on held-out pieces it was not calibrated on, the way issue #17
states them, not on a few seconds of one clip.

An export that misses its quality targets (``export.int8.checks.Targets``) on that data is
kept (the demo must run on a fresh machine), and the model's description says it missed them.

Until the shipped student exists, :func:`default_export` falls back to the longest real chain
without training: an UNTRAINED student (``StudentConfig()``, seeded weights) exported through
the same int8 pipeline and calibrated on the demo clip — its quality targets are waived, and
the returned description says so loudly. Its cache folder is keyed by the SHA-256 of
``StudentConfig()``'s fields and the seed (``out/cache/untrained-student-<12 hex>/``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edge.assets import DEMO_CLIP

# Importing this module stays light (model_sources, and TensorFlow under it, are imported where
# used): the command line reads DEMO_CLIP and DEFAULT_CACHE to register its options.
DEFAULT_CACHE = Path("out") / "cache"
"""Exports and firmware builds, keyed by content (relative to the working directory)."""
UNTRAINED_SEED = 0
HELD_OUT_PIECES = 50
HELD_OUT_SEED = 1
"""The default export's check data: this many corpus pieces, performed with this seed (the
shipped models learnt from seed-0 performances), none of them a piece they learnt from."""
CHECK_WINDOWS = 96
CHECK_GREEDY = 48
"""Test windows of the default export's teacher-forced and greedy checks (the README's)."""


@dataclass(frozen=True)
class DefaultModel:
    """The export folder a default build uses and what it is."""

    export_dir: Path  # encoder.tflite + decoder_step.tflite + config.json
    description: str  # one line for the user: which model this is
    trained: bool  # False for the untrained stand-in
    run: Path | None = None  # the shipped run folder (None for the stand-in)

    @property
    def label(self) -> str:
        """A few words for titles: which model this is."""
        if not self.trained:
            return "UNTRAINED student stand-in"
        return f"shipped {self.run.name}" if self.run is not None else "shipped student"


def _digest(paths: list[Path]) -> str:
    from export.int8.pipeline import PIPELINE_VERSION

    h = hashlib.sha256(PIPELINE_VERSION.encode())
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


@contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """Hold ``cache``'s lock (``cache/.lock``, an advisory ``flock``) while inside.

    Two processes building the same default model (two ``make demo``s, a test run beside a
    ``play``) would otherwise both export into ``<name>.tmp`` and delete each other's half; the
    second now waits, then finds the finished folder.
    """
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def demo_dataset(root: Path) -> Path:
    """The demo clip as a one-clip dataset (train/val/test) for calibration."""
    from edge.data.clip import load_clip
    from edge.data.dataset import write_dataset

    if not (root / "manifest.json").exists():
        clip = load_clip(DEMO_CLIP)
        named = {s: [replace(clip, meta={**clip.meta, "name": f"demo_clip_{s}"})]
                 for s in ("train", "val", "test")}  # one name per split: names are unique
        write_dataset(root, named,
                      {"fps": clip.fps, "instrument": "piano", "source": "demo", "seed": 0})
    return root


def held_out_dataset(root: Path) -> Path:
    """``root``: the default export's check data (module doc), performed on first use (about
    10 s on a 2-core machine, the corpus → MIDI conversion included) and written to
    ``root.tmp`` then renamed."""
    from edge.data.synth.build import build_synth_dataset, excluded_pieces, pieces_from_corpus
    from edge.data.synth.params import PerformerParams
    from edge.model.shipped import USED_PIECES

    if (root / "manifest.json").exists():
        return root
    pieces = pieces_from_corpus(HELD_OUT_PIECES, seed=HELD_OUT_SEED, composers=None,
                                cache_dir=None, progress=False,
                                exclude=excluded_pieces(USED_PIECES))
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    build_synth_dataset(tmp, pieces, instrument="piano", seed=HELD_OUT_SEED,
                        params=PerformerParams(), source="music21-corpus", progress=False)
    shutil.rmtree(root, ignore_errors=True)
    tmp.replace(root)
    return root


def held_out_root(cache: Path) -> Path:
    """Where :func:`held_out_dataset` lives in ``cache``: named by the pieces it leaves out."""
    from edge.model.shipped import USED_PIECES

    h = hashlib.sha256(f"{HELD_OUT_PIECES} {HELD_OUT_SEED}\n".encode() + USED_PIECES.read_bytes())
    return cache / f"held-out-{h.hexdigest()[:12]}"


def export_pair(run: Path, out: Path, data: Path, *, waive_targets: bool) -> None:
    """Export the run folder ``run`` into ``out`` (int8 pair; calibrated on ``data``'s training
    split, checked on its test split), written to ``out.tmp`` and renamed; ``waive_targets``
    keeps a pair that missed a target and checks a few windows only (the untrained stand-in)."""
    from export.int8.checks import Targets
    from export.int8.errors import TargetError
    from export.int8.pipeline import ExportSettings, export_run
    from firmware_bridge.boards.model_sources import is_export_folder

    if waive_targets:
        settings = ExportSettings(data=str(data), onnx=False, calib_windows=32, eval_windows=8,
                                  greedy_windows=2, targets=Targets(min_top1_agreement=0.0,
                                                                    max_f1_drop=1.0,
                                                                    min_device_agreement=0.0))
    else:
        settings = ExportSettings(data=str(data), onnx=False, eval_windows=CHECK_WINDOWS,
                                  greedy_windows=CHECK_GREEDY)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted export
    try:
        export_run(run, tmp, settings)
    except TargetError:
        if not is_export_folder(tmp):
            raise
        # the int8 pair exists but missed a quality target on this calibration data: keep it,
        # report.json says FAILED and the model's description says so (export_status)
    shutil.rmtree(out, ignore_errors=True)  # an incomplete folder (is_export_folder was False)
    tmp.replace(out)


def export_status(export: Path) -> str:
    """'' for an export that passed its checks, else a loud note naming its failures."""
    import json

    try:
        report = json.loads((export / "report.json").read_text())
    except (OSError, ValueError):
        return " (no export report found)"
    if report.get("status") == "PASSED":
        return ""
    fails = "; ".join(report.get("failures", [])) or "unknown"
    return f" — int8 export MISSED its targets ({fails}; see {export / 'report.md'})"


def untrained_key(cfg: Any = None) -> str:
    """12 hex of SHA-256 over ``cfg``'s fields (default ``StudentConfig()``), the seed and the
    export pipeline's version: the identity of an untrained stand-in."""
    import json

    from edge.model.config import StudentConfig, config_to_dict
    from export.int8.pipeline import PIPELINE_VERSION

    text = json.dumps({"model": config_to_dict(cfg or StudentConfig()), "seed": UNTRAINED_SEED,
                       "pipeline": PIPELINE_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def untrained_run(root: Path, cfg: Any = None) -> Path:
    """A run folder of seeded, untrained weights of ``cfg`` (default ``StudentConfig()``) under
    ``root``, named by :func:`untrained_key`; made on first use (no training step)."""
    import keras

    from edge.model.build import build_models
    from edge.model.config import StudentConfig, config_to_dict
    from edge.train.run import CONFIG, save_weights, write_json

    cfg = cfg or StudentConfig()
    run = root / f"untrained-student-run-{untrained_key(cfg)}"
    if not (run / "model.weights.h5").exists():
        keras.utils.set_random_seed(UNTRAINED_SEED)
        tmp = run.with_name(run.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        save_weights(build_models(cfg), tmp)
        write_json(tmp / CONFIG, {"model": config_to_dict(cfg), "untrained": True})
        shutil.rmtree(run, ignore_errors=True)
        tmp.replace(run)
    return run


def _export_once(cache: Path, out: Path, export: Callable[[], None]) -> None:
    """Run ``export`` (which writes the export folder ``out``) unless ``out`` is one already,
    under ``cache``'s lock and checking again after the wait (another process may have
    finished it meanwhile)."""
    from firmware_bridge.boards.model_sources import is_export_folder

    if is_export_folder(out):
        return
    with cache_lock(cache):
        if not is_export_folder(out):
            export()


def default_export(cache: str | os.PathLike[str] = DEFAULT_CACHE,
                   student: str = "student") -> DefaultModel:
    """The export folder of the shipped ``student`` (a board class's, see
    :attr:`firmware_bridge.boards.registry.Board.student`), exporting it into ``cache`` on first
    use; the untrained stand-in when that student is not in this checkout."""
    from edge.model.shipped import ShippedModelError, shipped_run

    cache = Path(cache).resolve()
    try:
        run = shipped_run(student)
    except ShippedModelError:
        run = None
    if run is not None:
        from edge.model.shipped import USED_PIECES

        out = cache / f"{student}-{_digest([run / 'config.json', run / 'model.weights.h5', USED_PIECES])}"

        def export_shipped() -> None:
            export_pair(run, out, held_out_dataset(held_out_root(cache)), waive_targets=False)

        _export_once(cache, out, export_shipped)
        return DefaultModel(out, f"shipped {student} ({run}), int8 export {out}"
                            f"{export_status(out)}", True, run)
    out = cache / f"untrained-student-{untrained_key()}"
    _export_once(cache, out, lambda: export_pair(untrained_run(cache), out,
                                                 demo_dataset(cache / "demo-data"),
                                                 waive_targets=True))
    return DefaultModel(out, "UNTRAINED student stand-in (seeded StudentConfig weights; the "
                        f"shipped {student} is not in this checkout yet), int8 export {out}", False)


def with_hop(export: str | os.PathLike[str], hop: int,
             cache: str | os.PathLike[str] = DEFAULT_CACHE) -> Path:
    """The export folder ``export`` decoding every ``hop`` frames instead of its own hop
    (``--hop``): a copy under ``cache`` (``<name>-hop<H>``) whose config.json says
    ``hop_frames = hop``, the two models unchanged.

    Only a shorter hop is allowed: the decoder's clock (:mod:`edge.model.clock`) then reaches
    bins ``0..hop``, a prefix of the table it was trained with (``hop_frames + 1`` rows), and the
    encoder does not depend on the hop. A model trained for a longer hop decodes a short one
    worse (its events were learnt a hop at a time); this exists to measure the board side —
    streaming, latency — before a short-hop model is trained. Raises :class:`BoardError`.
    """
    import json

    from edge.model.config import load_config
    from firmware_bridge.boards.model_sources import EXPORT_FILES, is_export_folder
    from firmware_bridge.errors import BoardError

    src = Path(export).resolve()
    if not is_export_folder(src):
        raise BoardError(f"--hop {hop}: {src} is not an export folder (expected "
                         f"{', '.join(EXPORT_FILES)})")
    cfg = load_config(src / "config.json")
    if not 1 <= hop <= cfg.hop_frames:
        raise BoardError(f"--hop {hop}: expected 1..{cfg.hop_frames} (the model's own hop: its "
                         "decoder's clock has no bins past it)")
    if hop == cfg.hop_frames:
        return src
    out = Path(cache).resolve() / f"{src.name}-hop{hop}"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("encoder.tflite", "decoder_step.tflite", "report.json", "report.md"):
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)
    data = json.loads((src / "config.json").read_text())
    model = data.get("model", data)
    model["hop_frames"] = hop
    (out / "config.json").write_text(json.dumps(data, indent=1) + "\n")
    return out
