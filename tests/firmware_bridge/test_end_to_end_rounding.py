"""The host reference rounds keypoints exactly as the board path does, ties included.

The board receives ``firmware_bridge.sources.quantize_frame`` bytes (float32 division, ties
away from zero, like TFLite's QUANTIZE); the host reference (``export.host_decode``) must feed
its encoder the same bytes. Exact ties (k + 0.5 LSB) are where numpy's ``np.round`` (ties to
even, float64) and TFLite part ways, so the cases here are built to land on them.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.skeleton import N_JOINTS
from export.host_decode import quantize_keypoints
from export.int8.flat import IOTensor
from firmware_bridge.sources import quantize_frame

W = 3  # frames in the test window


def _spec(scale: float, zero_point: int) -> IOTensor:
    return IOTensor(name="keypoints", position=0, tensor=0, dtype="int8",
                    shape=(1, W, N_JOINTS, 3), scale=scale, zero_point=zero_point)


def _window(values: list[float]) -> np.ndarray:
    """A [W,65,3] float32 window whose first entries are ``values`` (the rest 0)."""
    flat = np.zeros(W * N_JOINTS * 3, np.float32)
    flat[: len(values)] = values
    return flat.reshape(W, N_JOINTS, 3)


@pytest.mark.parametrize("zero_point", [0, -5, 17])
def test_exact_ties_round_away_from_zero_like_the_board(zero_point: int) -> None:
    scale = 0.25  # a power of two: k.5 * scale is exact in float32, so these are true ties
    halves = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5]
    q = quantize_keypoints(_spec(scale, zero_point), _window([h * scale for h in halves]))
    assert q.shape == (1, W, N_JOINTS, 3) and q.dtype == np.int8
    away = [1, 2, 3, 4, -1, -2, -3, -4]  # half away from zero, by hand
    assert q.reshape(-1)[: len(halves)].tolist() == [a + zero_point for a in away]
    even = np.round(np.array(halves)).astype(int)  # what the old np.round reference gave
    assert even.tolist() != away  # the cases do exercise the difference


def _float32_tie(scale: np.float32) -> tuple[np.float32, int]:
    """A float32 x with x / scale == k + 0.5 in float32 but < k + 0.5 in float64."""
    for k in range(1, 120):
        x = np.float32((k + 0.5) * np.float64(scale))
        for _ in range(8):
            if np.float32(x) / scale == np.float32(k + 0.5) and np.float64(x) / scale < k + 0.5:
                return x, k
            x = np.nextafter(x, np.float32(-np.inf))
    raise AssertionError("no float32-only tie found for this scale")


def test_float32_division_like_the_board() -> None:
    scale = np.float32(0.0123)
    x, k = _float32_tie(scale)
    q = quantize_keypoints(_spec(float(scale), 0), _window([x, -x]))
    assert q.reshape(-1)[:2].tolist() == [k + 1, -(k + 1)]  # float32 tie, rounded away
    assert int(np.round(np.float64(x) / np.float64(scale))) == k  # float64 would say k


def test_host_reference_equals_quantize_frame_on_random_frames() -> None:
    rng = np.random.default_rng(6)
    spec = _spec(0.0123, -3)
    window = rng.normal(0.0, 0.6, (W, N_JOINTS, 3)).astype(np.float32)
    window[0, :8, 0] = (np.arange(8) - 3.5) * np.float32(0.0123)  # some near-ties too
    want = np.stack([quantize_frame(f, spec.scale, spec.zero_point) for f in window])
    got = quantize_keypoints(spec, window)
    assert np.array_equal(got[0], want)
    assert np.array_equal(spec.quantize(window[None]), got)  # IOTensor.quantize agrees too


def test_float_input_passes_through() -> None:
    spec = IOTensor(name="keypoints", position=0, tensor=0, dtype="float32",
                    shape=(1, W, N_JOINTS, 3), scale=0.0, zero_point=0)
    window = _window([0.125, -0.3])
    got = quantize_keypoints(spec, window)
    assert got.dtype == np.float32 and np.array_equal(got[0], window)
