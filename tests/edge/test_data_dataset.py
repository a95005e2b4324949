"""Dataset folders: manifest + clips round trip, atomic writes, clear errors."""

import json
from pathlib import Path

import numpy as np
import pytest

from edge.data.clip import Clip, save_clip
from edge.data.dataset import DatasetError, load_split, read_manifest, write_dataset


def _clip(name: str, piece: str, t: int = 5) -> Clip:
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    kp = rng.random((t, 65, 3)).astype(np.float32)
    return Clip(kp, 22.0, np.array([1, 2, 210], np.int16), b"MThd", {"name": name, "piece": piece})


def _write(tmp_path: Path) -> Path:
    splits = {"train": [_clip("a", "p1"), _clip("b", "p2")], "val": [_clip("c", "p3")]}
    return write_dataset(tmp_path / "ds", splits, {"fps": 22.0, "instrument": "piano", "seed": 3})


def test_write_then_load_round_trips_every_split(tmp_path: Path) -> None:
    root = _write(tmp_path)
    m = read_manifest(root)
    assert m["counts"] == {"train": 2, "val": 1, "test": 0}
    assert m["splits"]["train"]["pieces"] == ["p1", "p2"] and m["seed"] == 3
    train = load_split(root, "train")
    assert [c.meta["name"] for c in train] == ["a", "b"]
    np.testing.assert_array_equal(train[1].keypoints, _clip("b", "p2").keypoints)
    assert train[0].midi == b"MThd" and list(train[0].tokens) == [1, 2, 210]
    assert len(load_split(root, "all")) == 3 and load_split(root, "test") == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_rewrite_replaces_and_failed_write_leaves_old_dataset(tmp_path: Path) -> None:
    root = _write(tmp_path)
    bad = Clip(np.full((3, 65, 3), np.nan, np.float32), 22.0, meta={"name": "x"})
    with pytest.raises(Exception, match="NaN"):
        write_dataset(root, {"train": [bad]}, {})
    assert read_manifest(root)["counts"]["train"] == 2
    write_dataset(root, {"test": [_clip("z", "q")]}, {"seed": 9})
    assert read_manifest(root)["counts"] == {"train": 0, "val": 0, "test": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_duplicate_names_and_unknown_split_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"duplicates \['a'\]"):
        write_dataset(tmp_path / "d", {"train": [_clip("a", "p")], "val": [_clip("a", "q")]}, {})
    with pytest.raises(DatasetError, match="found \\['dev'\\]"):
        write_dataset(tmp_path / "d", {"dev": []}, {})
    assert not (tmp_path / "d").exists()


def test_missing_or_malformed_manifest_names_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="manifest.json: no manifest"):
        load_split(tmp_path, "train")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_split(tmp_path, "train")
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "splits": {"train": {}}}))
    with pytest.raises(DatasetError, match="'splits.train.clips'"):
        load_split(tmp_path, "train")
    root = _write(tmp_path / "x")
    with pytest.raises(DatasetError, match="split must be one of"):
        load_split(root, "dev")


def test_bad_or_missing_clip_file_is_named(tmp_path: Path) -> None:
    root = _write(tmp_path)
    (root / "train" / "b.npz").unlink()
    with pytest.raises(DatasetError, match=r"train/b\.npz: listed in .* but missing"):
        load_split(root, "train")
    kp = np.zeros((4, 65, 3), np.float32)
    kp[2, 7, 0] = np.nan
    np.savez(root / "val" / "c.npz", keypoints=kp, fps=np.float64(22))
    with pytest.raises(DatasetError, match=r"c\.npz: field 'keypoints' has 1 NaN"):
        load_split(root, "val")
    save_clip(_clip("c", "p3"), root / "val" / "c.npz")
    assert len(load_split(root, "val")) == 1
