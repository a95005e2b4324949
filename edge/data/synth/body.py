"""Posing a body65 skeleton: a rest body, finger chains from wrist to tip, elbows.

Coordinates are image units in the performer's frame (x right, y down, before the camera);
arrays are float64 ``[T, 65, 2]`` until the nuisance stage adds confidence.
"""

from __future__ import annotations

import numpy as np

from edge.skeleton import (
    L_WRIST,
    LEFT_HAND_OFFSET,
    N_JOINTS,
    R_WRIST,
    REST_POSE,
    RIGHT_HAND_OFFSET,
)

# BODY_25 indices used here
NOSE, NECK, R_SHOULDER, R_ELBOW = 0, 1, 2, 3
L_SHOULDER, L_ELBOW, MID_HIP = 5, 6, 8
HEAD = (0, 15, 16, 17, 18)  # nose, eyes, ears
LEGS = tuple(range(9, 15)) + tuple(range(19, 25))  # hips' children: knees, ankles, feet

# Fraction of the wrist→tip vector at which each of the 4 joints of a finger sits, and how far
# it bulges sideways (an arched hand), per finger (thumb first).
_CHAIN_T = np.array([0.30, 0.58, 0.80, 1.0])
_CHAIN_BULGE = np.array([0.0, 0.010, 0.008, 0.0])
_THUMB_T = np.array([0.22, 0.50, 0.76, 1.0])

def rest_body(n_frames: int) -> np.ndarray:
    """float64 [T, 65, 2]: the rest body in every frame (arms and hands at the neck)."""
    out = np.zeros((n_frames, N_JOINTS, 2))
    out[:] = np.array(REST_POSE[NECK])
    for j, xy in REST_POSE.items():
        out[:, j] = xy
    return out


def pose_finger(wrist: np.ndarray, tip: np.ndarray, *, thumb: bool, side: float) -> np.ndarray:
    """float64 [T, 4, 2]: the 4 joints of one finger chained from ``wrist`` to ``tip``.

    ``side`` (+1/-1) picks the direction the knuckles bulge, perpendicular to the finger.
    """
    d = tip - wrist  # [T, 2]
    norm = np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    perp = np.stack([-d[:, 1], d[:, 0]], 1) / norm * side
    t = _THUMB_T if thumb else _CHAIN_T
    return wrist[:, None] + t[None, :, None] * d[:, None] + _CHAIN_BULGE[None, :, None] * perp[:, None]


def pose_hand(out: np.ndarray, *, left: bool, wrist: np.ndarray, tips: np.ndarray) -> None:
    """Write a wrist [T, 2] and its five fingertips [T, 5, 2] (thumb first) into ``out``."""
    w_idx, off = (L_WRIST, LEFT_HAND_OFFSET) if left else (R_WRIST, RIGHT_HAND_OFFSET)
    out[:, w_idx] = wrist
    for f in range(5):
        side = 1.0 if left else -1.0
        out[:, off + 4 * f: off + 4 * f + 4] = pose_finger(wrist, tips[:, f], thumb=f == 0,
                                                          side=side)


def pose_elbow(shoulder: np.ndarray, wrist: np.ndarray, *, out_dir: float, drop: float,
               upper: float = 0.14) -> np.ndarray:
    """float64 [T, 2]: an elbow between ``shoulder`` and ``wrist`` with a plausible bend.

    Solves the two-link arm (upper arm and forearm both ``upper`` long) and picks the bend on
    the side ``out_dir`` (+1 right of the shoulder→wrist line, -1 left) pushed ``drop`` down.
    """
    d = wrist - shoulder
    dist = np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    half = np.minimum(dist / 2, upper)
    bend = np.sqrt(np.maximum(upper**2 - half**2, 0.0))
    perp = np.stack([-d[:, 1], d[:, 0]], 1) / dist * out_dir
    elbow = shoulder + d / 2 + perp * bend
    elbow[:, 1] += drop
    return elbow
