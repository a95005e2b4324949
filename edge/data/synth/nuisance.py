"""Real-world nuisance: what a camera and a pose detector do to a clean performance.

Applied in this order to a posed performance ``[T, 65, 2]`` (performer frame):

1. body sway — a slow sinusoid moving each joint by a per-joint weight (a pianist's fingers
   stay on the keys while the torso sways; a violinist sways with the instrument);
2. camera — one similarity transform per clip (zoom, roll, offset) about the image centre;
3. jitter — independent Gaussian noise per joint and frame (smaller on hands);
4. confidence — a per-joint detector confidence, lower on hands and occluded legs;
5. hand swaps — short bursts in which the detector labels the left hand right and vice versa;
6. drop-outs — single missing joints and short bursts of a missing hand: confidence 0 and
   x = y = 0, as OpenPose writes them.
"""

from __future__ import annotations

import numpy as np

from edge.data.synth.body import HEAD, LEGS
from edge.data.synth.params import NuisanceParams
from edge.skeleton import L_WRIST, LEFT_HAND_OFFSET, N_HAND, N_JOINTS, R_WRIST, RIGHT_HAND_OFFSET

LEFT_HAND = (L_WRIST, *range(LEFT_HAND_OFFSET, LEFT_HAND_OFFSET + N_HAND))
RIGHT_HAND = (R_WRIST, *range(RIGHT_HAND_OFFSET, RIGHT_HAND_OFFSET + N_HAND))
HAND_JOINTS = LEFT_HAND[1:] + RIGHT_HAND[1:]


def sway_weights(instrument: str) -> np.ndarray:
    """float64 [65]: how much each joint follows the body's sway for ``instrument``."""
    if instrument == "violin":
        return np.ones(N_JOINTS)
    w = np.zeros(N_JOINTS)
    w[list(HEAD)] = 1.0
    w[[1, 2, 5]] = 0.8  # neck, shoulders
    w[[3, 6]] = 0.4  # elbows
    w[[8, 9, 12]] = 0.2  # hips
    return w


def add_sway(xy: np.ndarray, weights: np.ndarray, fps: float, rng: np.random.Generator,
             p: NuisanceParams) -> np.ndarray:
    """Sway every joint by ``weights`` × a slow 2-D sinusoid."""
    t = np.arange(xy.shape[0]) / fps
    f = rng.uniform(*p.sway_hz, size=2)
    ph = rng.uniform(0, 2 * np.pi, size=2)
    s = p.sway_amp * np.stack([np.sin(2 * np.pi * f[0] * t + ph[0]),
                               0.5 * np.sin(2 * np.pi * f[1] * t + ph[1])], 1)
    return xy + weights[None, :, None] * s[:, None, :]


def camera(xy: np.ndarray, rng: np.random.Generator, p: NuisanceParams) -> np.ndarray:
    """One zoom/roll/offset per clip, about the image centre (0.5, 0.5)."""
    scale = float(np.exp(rng.normal(0.0, p.scale_sd)))
    a = np.deg2rad(rng.normal(0.0, p.rotation_deg_sd))
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shift = rng.normal(0.0, p.translate_sd, size=2)
    return (xy - 0.5) @ rot.T + 0.5 + shift


def _bursts(n_frames: int, rate_hz: float, fps: float, rng: np.random.Generator,
            p: NuisanceParams) -> list[tuple[int, int]]:
    """Random [start, stop) frame ranges, ``rate_hz`` of them per second on average."""
    n = int(rng.poisson(rate_hz * n_frames / fps))
    starts = rng.integers(0, max(1, n_frames), size=n)
    lens = rng.integers(p.burst_frames[0], p.burst_frames[1] + 1, size=n)
    return [(int(s), int(min(n_frames, s + k))) for s, k in zip(starts, lens, strict=True)]


def detect(xy: np.ndarray, instrument: str, fps: float, rng: np.random.Generator,
           p: NuisanceParams) -> np.ndarray:
    """float32 [T, 65, 3]: what a pose detector reports for the clean pose ``xy`` [T, 65, 2]."""
    n_frames = xy.shape[0]
    xy = camera(add_sway(xy, sway_weights(instrument), fps, rng, p), rng, p)
    sd = np.full(N_JOINTS, p.jitter_sd)
    sd[list(HAND_JOINTS)] = p.hand_jitter_sd
    xy = xy + rng.normal(0.0, 1.0, xy.shape) * sd[None, :, None]
    conf = rng.uniform(0.75, 0.98, (n_frames, N_JOINTS))
    conf[:, list(HAND_JOINTS)] = rng.uniform(0.45, 0.95, (n_frames, len(HAND_JOINTS)))
    conf[:, list(LEGS)] = rng.uniform(0.15, 0.6, (n_frames, len(LEGS)))
    out = np.concatenate([xy, conf[..., None]], -1)
    left, right = list(LEFT_HAND[1:]), list(RIGHT_HAND[1:])
    for a, b in _bursts(n_frames, p.swap_rate_hz, fps, rng, p):
        out[a:b, left + right] = out[a:b, right + left]
    drop = rng.random((n_frames, N_JOINTS)) < p.drop_prob
    for a, b in _bursts(n_frames, p.hand_drop_rate_hz, fps, rng, p):
        drop[a:b, list(LEFT_HAND if rng.random() < 0.5 else RIGHT_HAND)] = True
    out[drop] = 0.0
    return out.astype(np.float32)
