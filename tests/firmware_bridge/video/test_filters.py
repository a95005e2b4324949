"""Gap filling, One-Euro smoothing, resampling and the MediaPipe → body65 mapping (no MediaPipe)."""

import numpy as np
import pytest

from edge import skeleton as sk
from firmware_bridge.video import filters
from firmware_bridge.video.mapping import N_HAND, N_POSE, RAW_JOINTS, holistic_to_body65


def _track(xs: np.ndarray, conf: np.ndarray | None = None) -> np.ndarray:
    kp = np.zeros((len(xs), 1, 3), np.float32)
    kp[:, 0, 0] = xs
    kp[:, 0, 1] = 0.5
    kp[:, 0, 2] = 1.0 if conf is None else conf
    kp[kp[:, 0, 2] == 0, 0, :2] = 0
    return kp


def test_fill_gaps_fills_short_gaps_only() -> None:
    conf = np.array([1, 0, 0, 1, 0, 0, 0, 0, 1, 0], np.float32)
    kp = _track(np.arange(10, dtype=np.float32) / 10, conf)
    out = filters.fill_gaps(kp, max_gap=2)
    np.testing.assert_allclose(out[1:3, 0, 0], [0.1, 0.2], atol=1e-6)  # linear between 0.0, 0.3
    assert (out[1:3, 0, 2] == 1).all()
    assert (out[4:8, 0, 2] == 0).all()  # 4-frame gap left missing
    assert out[9, 0, 2] == 0  # trailing gap has no right end


def test_resample_frame_count_and_values() -> None:
    kp = _track(np.linspace(0, 1, 31).astype(np.float32))  # 31 frames at 30 fps = 1.0 s
    out = filters.resample(kp, 30.0, 22.0)
    assert out.shape == (23, 1, 3)  # frames at k/22 s for k = 0..22
    np.testing.assert_allclose(out[:, 0, 0], np.arange(23) / 22, atol=1e-5)


def test_resample_never_interpolates_into_missing_joints() -> None:
    conf = np.ones(31, np.float32)
    conf[15] = 0
    out = filters.resample(_track(np.full(31, 0.7, np.float32), conf), 30.0, 22.0)
    seen = out[:, 0, 2] > 0
    assert not seen.all()
    np.testing.assert_allclose(out[seen, 0, 0], 0.7, atol=1e-6)  # no pull towards (0, 0)


def test_one_euro_smooths_jitter_but_follows_a_fast_strike() -> None:
    rng = np.random.default_rng(0)
    fps = 60.0
    xs = np.full(120, 0.5) + rng.normal(0, 0.004, 120)
    xs[60:] += 0.2  # a sudden move, like a finger striking a key
    kp = _track(xs.astype(np.float32))
    out = filters.one_euro(kp, fps)[:, 0, 0]
    assert np.std(np.diff(out[10:55])) < 0.5 * np.std(np.diff(xs[10:55]))  # jitter reduced
    assert out[63] > 0.5 + 0.8 * 0.2  # within 3 frames (50 ms) it has covered 80 % of the move


def _raw_record(*, left_hand: bool, right_hand: bool) -> np.ndarray:
    rng = np.random.default_rng(1)
    raw = np.zeros((RAW_JOINTS, 3), np.float32)
    raw[:N_POSE, :2] = rng.uniform(0.3, 0.7, (N_POSE, 2))
    raw[:N_POSE, 2] = 0.9
    raw[15, :2] = (0.7, 0.5)  # person's left wrist appears on the image right
    raw[16, :2] = (0.3, 0.5)
    for present, start, wrist in (
        (left_hand, N_POSE, (0.7, 0.5)),
        (right_hand, N_POSE + N_HAND, (0.3, 0.5)),
    ):
        if present:
            raw[start : start + N_HAND, :2] = np.asarray(wrist) + rng.normal(0, 0.02, (N_HAND, 2))
            raw[start, :2] = wrist
            raw[start : start + N_HAND, 2] = 1.0
    return raw


def test_mapping_builds_neck_midhip_and_hands() -> None:
    raw = _raw_record(left_hand=True, right_hand=False)
    kp = holistic_to_body65(raw)
    np.testing.assert_allclose(kp[sk.NECK, :2], raw[[11, 12], :2].mean(0), atol=1e-6)
    np.testing.assert_allclose(kp[8, :2], raw[[23, 24], :2].mean(0), atol=1e-6)
    np.testing.assert_allclose(kp[sk.L_WRIST, :2], raw[15, :2])
    left = kp[sk.LEFT_HAND_OFFSET : sk.LEFT_HAND_OFFSET + sk.N_HAND]
    right = kp[sk.RIGHT_HAND_OFFSET :]
    assert (left[:, 2] == 1).all()
    np.testing.assert_allclose(left[:, :2], raw[N_POSE + 1 : N_POSE + N_HAND, :2])
    assert (right == 0).all()  # a missing hand: confidence 0 and no coordinates


def test_mapping_reassigns_hands_labelled_on_the_wrong_side() -> None:
    raw = _raw_record(left_hand=True, right_hand=True)
    swapped = raw.copy()
    swapped[N_POSE : N_POSE + N_HAND] = raw[N_POSE + N_HAND :]
    swapped[N_POSE + N_HAND :] = raw[N_POSE : N_POSE + N_HAND]
    np.testing.assert_array_equal(holistic_to_body65(swapped), holistic_to_body65(raw))


def test_mapping_unmirrors_selfie_footage() -> None:
    raw = _raw_record(left_hand=True, right_hand=False)
    flipped = raw.copy()
    flipped[:, 0] = np.where(raw[:, 2] > 0, 1 - raw[:, 0], 0)
    # in a mirror the person's left hand is seen, and labelled, as a right hand
    mirrored = flipped.copy()
    mirrored[N_POSE : N_POSE + N_HAND] = flipped[N_POSE + N_HAND :]
    mirrored[N_POSE + N_HAND :] = flipped[N_POSE : N_POSE + N_HAND]
    pose_mirror = np.arange(N_POSE)
    for a in range(11, 33, 2):
        pose_mirror[a], pose_mirror[a + 1] = a + 1, a
    for a, b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)):
        pose_mirror[a], pose_mirror[b] = b, a
    mirrored[:N_POSE] = mirrored[:N_POSE][pose_mirror]
    np.testing.assert_allclose(
        holistic_to_body65(mirrored, mirrored=True), holistic_to_body65(raw), atol=1e-6
    )


def test_mapping_rejects_a_wrong_record_size() -> None:
    with pytest.raises(ValueError):
        holistic_to_body65(np.zeros(10, np.float32))
