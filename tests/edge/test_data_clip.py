"""Bad clip inputs give clear errors naming the file and the field."""

from pathlib import Path

import numpy as np
import pytest

from edge.data.clip import Clip, ClipError, load_clip, save_clip


def _kp(t: int = 4) -> np.ndarray:
    kp = np.full((t, 65, 3), 0.5, np.float32)
    return kp


def test_wrong_keypoint_shape_is_named(tmp_path: Path) -> None:
    p = tmp_path / "a.npz"
    np.savez(p, keypoints=np.zeros((4, 25, 3), np.float32), fps=np.float64(22))
    with pytest.raises(ClipError, match=r"a\.npz: field 'keypoints' must have shape \[T, 65, 3\], found \[4, 25, 3\]"):
        load_clip(p)


def test_nan_keypoints_are_located(tmp_path: Path) -> None:
    kp = _kp()
    kp[2, 30, 1] = np.nan
    p = tmp_path / "b.npz"
    np.savez(p, keypoints=kp, fps=np.float64(22))
    with pytest.raises(ClipError, match=r"b\.npz: field 'keypoints' has 1 NaN/inf values \(first at frame 2, joint 30, channel 1\)"):
        load_clip(p)
    with pytest.raises(ClipError, match="NaN"):
        save_clip(Clip(kp, 22.0), tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()


def test_missing_or_bad_fps_is_named(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, keypoints=_kp())
    with pytest.raises(ClipError, match=r"d\.npz: missing field 'fps'"):
        load_clip(p)
    np.savez(p, keypoints=_kp(), fps=np.float64(0))
    with pytest.raises(ClipError, match=r"field 'fps' must be a positive number, found 0.0"):
        load_clip(p)


def test_confidence_range_and_dtype_are_checked(tmp_path: Path) -> None:
    kp = _kp()
    kp[0, 0, 2] = 1.5
    p = tmp_path / "e.npz"
    np.savez(p, keypoints=kp, fps=np.float64(22))
    with pytest.raises(ClipError, match=r"confidence \(channel 2\) must be in \[0, 1\], found 0.5..1.5"):
        load_clip(p)
    np.savez(p, keypoints=_kp().astype(np.float64), fps=np.float64(22))
    with pytest.raises(ClipError, match="must be float32, found float64"):
        load_clip(p)
