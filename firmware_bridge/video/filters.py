"""Clean-up of extracted keypoints: short-gap filling, One-Euro smoothing, frame-rate resampling.

All functions take and return float32 [T, J, 3] arrays (x, y, confidence); a joint with
confidence 0 is missing and its x, y are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuro:
    """One-Euro filter parameters (Casiez et al., CHI 2012): adaptive low-pass.

    Slow motion is smoothed strongly (cutoff near ``min_cutoff_hz``); fast motion — a finger
    striking a key — raises the cutoff by ``beta`` × speed, so onsets are not delayed.
    """

    min_cutoff_hz: float = 1.5  # cutoff at rest; lower = smoother, more lag at rest
    beta: float = 8.0  # cutoff gain per unit of speed (normalised image units per second)
    d_cutoff_hz: float = 1.0  # cutoff of the speed estimate itself


def _alpha(cutoff_hz: float, fps: float) -> float:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau * fps)


def one_euro(kp: np.ndarray, fps: float, params: OneEuro = OneEuro()) -> np.ndarray:
    """Smooth x, y of every joint over time; restarts after each missing stretch. O(T·J)."""
    out = kp.copy()
    t_len, n_joints = kp.shape[:2]
    a_d = _alpha(params.d_cutoff_hz, fps)
    for j in range(n_joints):
        prev: np.ndarray | None = None
        dprev = np.zeros(2)
        for t in range(t_len):
            if kp[t, j, 2] <= 0:
                prev = None
                continue
            x = kp[t, j, :2].astype(np.float64)
            if prev is None:
                prev, dprev = x, np.zeros(2)
                continue
            dx = (x - prev) * fps
            dprev = a_d * dx + (1 - a_d) * dprev
            cutoff = params.min_cutoff_hz + params.beta * float(np.linalg.norm(dprev))
            a = _alpha(cutoff, fps)
            prev = a * x + (1 - a) * prev
            out[t, j, :2] = prev
    return out


def fill_gaps(kp: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly fill missing runs of at most ``max_gap`` frames between two seen frames.

    The filled frames get the smaller confidence of the two ends; longer gaps (and gaps at the
    start or end) stay missing. O(T·J).
    """
    out = kp.copy()
    t_len, n_joints = kp.shape[:2]
    for j in range(n_joints):
        seen = np.flatnonzero(kp[:, j, 2] > 0)
        for a, b in zip(seen[:-1], seen[1:], strict=True):
            gap = b - a - 1
            if 0 < gap <= max_gap:
                w = (np.arange(1, gap + 1) / (gap + 1))[:, None]
                out[a + 1 : b, j, :2] = (1 - w) * kp[a, j, :2] + w * kp[b, j, :2]
                out[a + 1 : b, j, 2] = min(kp[a, j, 2], kp[b, j, 2])
    return out


def resample(kp: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Resample to ``dst_fps`` by linear interpolation between the two nearest source frames.

    Output frame k is at time k / dst_fps; there are floor((T - 1) · dst/src) + 1 of them. A joint
    missing in either neighbouring source frame is missing in the output (never interpolated
    towards the 0, 0 of a missing joint).
    """
    t_len = kp.shape[0]
    n_out = int(np.floor((t_len - 1) * dst_fps / src_fps + 1e-9)) + 1
    pos = np.arange(n_out) * (src_fps / dst_fps)
    i0 = np.minimum(np.floor(pos).astype(int), t_len - 1)
    i1 = np.minimum(i0 + 1, t_len - 1)
    w = (pos - i0)[:, None, None].astype(np.float32)
    a, b = kp[i0], kp[i1]
    out = (1 - w) * a + w * b
    both = (a[..., 2] > 0) & ((b[..., 2] > 0) | (w[..., 0] == 0))
    out[~both] = 0.0
    exact = w[:, 0, 0] == 0
    out[exact] = a[exact]
    return out.astype(np.float32)
