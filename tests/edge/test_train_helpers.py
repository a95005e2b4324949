"""Tiny fake datasets for the training/decoding/evaluation tests, and their own check.

Each clip is a short "performance": one note per half second, its pitch encoded in the right
hand's x position (as the synthetic piano performer does), keypoints at 22 fps.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from edge.data.clip import Clip
from edge.data.dataset import load_split, write_dataset
from edge.model.config import StudentConfig, TeacherConfig
from edge.skeleton import REST_POSE, RIGHT_HAND_OFFSET

FPS = 22.0
WINDOW = dict(window_frames=12, hop_frames=6, max_tokens=12)
TINY_TEACHER = TeacherConfig(gcn_channels=(8, 8), gcn_strides=(2, 1), d_model=16, heads=2,
                             layers=1, ffn=32, joint_groups=2, **WINDOW)
TINY_STUDENT = StudentConfig(gcn_channels=(6, 8), gcn_strides=(2, 1), d_model=16, heads=2,
                             layers=1, ffn=24, joint_groups=2, **WINDOW)


def fake_clip(seed: int, seconds: float = 4.0) -> Clip:
    """A clip whose right-hand x follows the pitch of a note every 0.5 s."""
    import pretty_midi

    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    kp = np.zeros((n, 65, 3), np.float32)
    kp[..., :2] = 0.5 + rng.normal(0, 0.01, (n, 65, 2))
    kp[..., 2] = 1.0
    for j, xy in REST_POSE.items():  # a performer's trunk and legs: the body frame's anchors
        kp[:, j, :2] = np.asarray(xy) + rng.normal(0, 0.002, (n, 2))
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for k in range(int(seconds * 2)):
        pitch = int(rng.integers(48, 72))
        start = 0.5 * k + 0.05
        inst.notes.append(pretty_midi.Note(80, pitch, start, start + 0.3))
        f0, f1 = int(start * FPS), min(n, int((start + 0.3) * FPS) + 1)
        kp[f0:f1, RIGHT_HAND_OFFSET : RIGHT_HAND_OFFSET + 20, 0] = 0.2 + 0.6 * (pitch - 48) / 24
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return Clip(keypoints=np.clip(kp, 0, 1), fps=FPS, midi=buf.getvalue(),
                meta={"name": f"fake{seed}", "piece": f"p{seed}"})


def fake_dataset(root: Path, n_train: int = 4, n_val: int = 2, n_test: int = 2) -> Path:
    """Write a tiny dataset folder and return it."""
    splits = {"train": [fake_clip(i) for i in range(n_train)],
              "val": [fake_clip(100 + i) for i in range(n_val)],
              "test": [fake_clip(200 + i) for i in range(n_test)]}
    return write_dataset(root, splits, {"fps": FPS, "instrument": "piano", "source": "fake"})


def test_fake_dataset_loads(tmp_path: Path) -> None:
    root = fake_dataset(tmp_path / "d", 2, 1, 1)
    clips = load_split(root, "train")
    assert len(clips) == 2 and clips[0].n_frames == 88 and clips[0].midi[:4] == b"MThd"
