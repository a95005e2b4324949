"""`data import-foley` reads a small fixture in Foley Music's released layout."""

import csv
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from edge import vocab
from edge.data.dataset import load_split, read_manifest
from edge.data.foley_import import FoleyImportError, import_foley, to_body65
from edge.skeleton import L_WRIST, LEFT_HAND_OFFSET, R_WRIST, RIGHT_HAND_OFFSET
from foley_edge.cli import main

FPS = 22.0


def _midi(path: Path, pitches: list[int], step: float = 0.5) -> None:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(100, p, i * step, i * step + 0.4))
    pm.instruments.append(inst)
    pm.write(str(path))


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture()
def youtube_dir(tmp_path: Path) -> Path:
    """AtinPiano-style: hands pose [T, 2, 42, 1] centred coords, .midi and .mid, split CSVs."""
    root = tmp_path / "atin"
    (root / "pose").mkdir(parents=True)
    (root / "midi").mkdir()
    (root / "splits").mkdir()
    t = 220  # 10 s
    rng = np.random.default_rng(0)
    for vid in ("vidA", "vidB"):
        pose = rng.uniform(-0.4, 0.4, (t, 2, 42, 1)).astype(np.float32)
        pose[5, :, 3, 0] = 0.0  # a missing joint (left hand keypoint 3)
        np.save(root / "pose" / f"{vid}.npy", pose)
    _midi(root / "midi" / "vidA.midi", [60, 62, 64, 65, 67, 69, 71, 72] * 2)
    _midi(root / "midi" / "vidB.mid", [48, 50, 52] * 5)
    hdr = ["vid", "start_time", "duration"]
    _csv(root / "splits" / "train.csv", hdr, [["vidA", 0.0, 4.0], ["vidA", 4.0, 4.0]])
    _csv(root / "splits" / "val.csv", hdr, [["vidB", 1.0, 5.0], ["missing", 0.0, 3.0]])
    return root


def test_youtube_layout_imports_windows_with_their_notes(youtube_dir: Path,
                                                         tmp_path: Path) -> None:
    s = import_foley(youtube_dir, tmp_path / "ds", fps=FPS, instrument="piano", progress=False)
    assert s.layout == "youtube" and s.counts == {"train": 2, "val": 1, "test": 0}
    assert len(s.skipped) == 1 and "missing.npy" in s.skipped[0][1]
    train = load_split(s.root, "train")
    assert [c.n_frames for c in train] == [88, 88]
    pose = np.load(youtube_dir / "pose" / "vidA.npy")
    second = train[1].keypoints  # frames 88.. of vidA, centred coords shifted by +0.5
    np.testing.assert_allclose(second[0, L_WRIST, :2], pose[88, :, 0, 0] + 0.5, atol=1e-6)
    np.testing.assert_allclose(second[0, RIGHT_HAND_OFFSET + 19, :2], pose[88, :, 41, 0] + 0.5,
                               atol=1e-6)
    assert (second[:, :25][:, [i for i in range(25) if i not in (L_WRIST, R_WRIST)], 2] == 0).all()
    assert train[0].keypoints[5, LEFT_HAND_OFFSET + 2, 2] == 0  # the (0, 0) joint is missing
    # notes: vidA has one note per 0.5 s; window 4..8 s holds onsets 4.0 .. 7.5 (8 notes)
    on = train[1].tokens[train[1].tokens < vocab.NOTE_OFF_OFFSET] + vocab.PITCH_MIN
    assert list(on) == [60, 62, 64, 65, 67, 69, 71, 72]
    assert train[1].midi[:4] == b"MThd" and train[1].meta["start_s"] == pytest.approx(4.0)
    val = load_split(s.root, "val")[0]
    assert val.n_frames == 110 and set(val.tokens[val.tokens < 88] + 21) == {48, 50, 52}
    assert read_manifest(s.root)["source"] == "foley-music:youtube"


def test_urmp_layout_with_body65_pose(tmp_path: Path) -> None:
    root = tmp_path / "urmp"
    root.mkdir()
    pose = np.random.default_rng(1).uniform(0.1, 0.9, (120, 3, 65, 2)).astype(np.float32)
    np.save(root / "PoseSep_1_vn_03_Dance.npy", pose)
    _midi(root / "ScoSep_1_vn_03_Dance.mid", [67, 69, 71, 72, 74])
    hdr = ["track_index", "instrument", "vid", "piece", "start_time", "duration"]
    _csv(root / "test.csv", hdr, [[1, "vn", 3, "Dance", 0.0, 5.0]])
    s = import_foley(root, tmp_path / "ds", fps=FPS, progress=False)
    clip = load_split(s.root, "test")[0]
    assert s.layout == "urmp" and clip.meta["instrument"] == "vn"
    np.testing.assert_allclose(clip.keypoints, pose[:110, :, :, 0].transpose(0, 2, 1))
    assert len(clip.tokens) > 0


def test_bad_pose_and_pixels_are_reported(tmp_path: Path) -> None:
    with pytest.raises(FoleyImportError, match=r"x\.npy: expected body65 \(C=3, V=65\) or hands \(C=2, V=42\) pose, found C=3, V=25"):
        to_body65(np.zeros((4, 3, 25, 1)), "x.npy")
    root = tmp_path / "px"
    (root / "pose").mkdir(parents=True)
    np.save(root / "pose" / "v.npy", np.full((50, 2, 42, 1), 640.0, np.float32))
    _midi(root / "v.mid", [60])
    _csv(root / "train.csv", ["vid", "start_time", "duration"], [["v", 0.0, 2.0]])
    assert main(["data", "import-foley", str(root), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert not (tmp_path / "o").exists()
    assert main(["data", "import-foley", str(root), "--out", str(tmp_path / "o"), "--quiet",
                 "--frame-size", "1280x720"]) == 0
    kp = load_split(tmp_path / "o", "train")[0].keypoints
    assert kp[0, L_WRIST, 0] == pytest.approx(0.5) and kp[0, L_WRIST, 1] == pytest.approx(640 / 720)
