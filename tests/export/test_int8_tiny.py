"""A tiny trained model for the export tests: dataset by hand, a few hundred training steps.

``tiny_run(base)`` and ``tiny_export(base)`` build once per pytest session under ``base``
(``tmp_path_factory.getbasetemp()``) and reuse the folders afterwards, so every export test
module shares one trained model and one export.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from edge.model.config import TeacherConfig  # noqa: E402

CFG = TeacherConfig(
    window_frames=12, hop_frames=6, gcn_channels=(6, 8), gcn_strides=(2, 1), d_model=32,
    heads=2, layers=1, ffn=48, max_tokens=16, joint_groups=2, dropout=0.0,
)
FPS = 22.0


def _clip(rng: np.random.Generator, k: int):  # noqa: ANN202 - edge.data.clip.Clip
    """3 s of a performer striking every 3 frames; odd clips sit further right and play G4."""
    import pretty_midi

    from edge.data.clip import Clip
    from edge.midi.codec import midi_bytes
    from edge.skeleton import REST_POSE

    t, period = 66, 3
    base = rng.uniform(0.3, 0.5, (1, 65, 2)) + np.array([0.2 * (k % 2), 0.0])
    strike = np.cos(2 * np.pi * np.arange(t) / period)[:, None, None]  # down on each note
    xy = base + 0.04 * strike * np.array([0.0, 1.0]) + rng.normal(0, 0.003, (t, 65, 2))
    for j, rest in REST_POSE.items():  # a still trunk and legs: the body frame's anchors
        xy[:, j] = np.asarray(rest) + rng.normal(0, 0.002, (t, 2))
    kp = np.concatenate([xy, np.ones((t, 65, 1))], axis=-1).astype(np.float32)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    pitch = 67 if k % 2 else 60
    for f in range(0, t - 2, period):
        inst.notes.append(pretty_midi.Note(90, pitch, f / FPS, (f + 2) / FPS))
    pm.instruments.append(inst)
    return Clip(keypoints=kp, fps=FPS, midi=midi_bytes(pm), meta={"name": f"tiny{k:02d}"})


def tiny_dataset(root: Path) -> Path:
    """Eight training clips, two val, two test (3 s each at 22 fps)."""
    from edge.data.dataset import write_dataset

    if (root / "manifest.json").exists():
        return root
    rng = np.random.default_rng(7)
    clips = [_clip(rng, k) for k in range(12)]
    return write_dataset(root, {"train": clips[:8], "val": clips[8:10], "test": clips[10:]},
                         {"fps": FPS, "instrument": "piano", "source": "tests", "seed": 7})


def tiny_run(base: Path) -> Path:
    """A run folder of :data:`CFG` trained on :func:`tiny_dataset` until it is confident.

    40 epochs: with the exactly causal decoder the model can no longer copy the next token, and a
    barely trained model's near-ties flip under int8 (6 epochs: top-1 agreement 92 %, F1 0).
    """
    from edge.train.api import train_teacher
    from edge.train.loop import TrainSettings

    run = base / "tiny_run"
    if not (run / "model.weights.h5").exists():
        data = tiny_dataset(base / "tiny_data")
        s = TrainSettings(epochs=40, batch_size=8, warmup=20, augment=False, lr_factor=2.0)
        train_teacher(data, run, s, CFG, progress=False)
    return run


def tiny_export(base: Path) -> tuple[Path, Path]:
    """(run folder, export folder) of the tiny model, exported once per session by the CLI."""
    from foley_edge.cli import main

    run = tiny_run(base)
    out = base / "tiny_export"
    if not (out / "report.json").exists():
        rc = main(["export", "--model", str(run), "--out", str(out), "--calib-windows", "48",
                   "--eval-windows", "24", "--greedy-windows", "4"])
        assert rc == 0, (out / "report.md").read_text()
    return run, out


def test_tiny_dataset_has_notes_in_every_split(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tiny_dataset(tmp_path_factory.getbasetemp() / "tiny_data")
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 8, "val": 2, "test": 2}
