"""The ``body65`` skeleton of Foley Music: OpenPose BODY_25 plus two 20-joint hands.

Joints 0-24 are OpenPose BODY_25. Joints 25-44 are the left hand's keypoints 1-20 (the hand's
root, keypoint 0, is merged into LWrist = 7); joints 45-64 are the right hand's keypoints 1-20
attached to RWrist = 4. Each hand has 5 fingers of 4 joints chained from the wrist.

This module is the single source of truth for joint names, edges, mirror indices and the
ST-GCN "spatial" partition adjacency (self / centripetal / centrifugal, centre = Neck).
"""

from __future__ import annotations

from functools import cache

import numpy as np

BODY25_NAMES: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
    "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)  # fmt: skip
REST_POSE: dict[int, tuple[float, float]] = {
    0: (0.50, 0.16), 1: (0.50, 0.25), 2: (0.40, 0.28), 5: (0.60, 0.28), 8: (0.50, 0.60),
    9: (0.45, 0.60), 12: (0.55, 0.60), 10: (0.41, 0.70), 13: (0.59, 0.70), 11: (0.42, 0.88),
    14: (0.58, 0.88), 15: (0.48, 0.145), 16: (0.52, 0.145), 17: (0.46, 0.155),
    18: (0.54, 0.155), 19: (0.59, 0.91), 20: (0.61, 0.90), 21: (0.575, 0.895),
    22: (0.41, 0.91), 23: (0.39, 0.90), 24: (0.425, 0.895),
}  # fmt: skip
"""Rest pose of a performer seen from the front, centred, in image-like units: BODY_25 joint →
(x, y). The synthetic performer is posed from it (:mod:`edge.data.synth.body`; arms and hands
by the instrument) and its trunk and legs anchor the body frame (:mod:`edge.data.bodyframe`).
The performer's right side (RShoulder) is on the image's left."""

FINGERS: tuple[str, ...] = ("Thumb", "Index", "Middle", "Ring", "Pinky")
N_BODY = 25
N_HAND = 20
N_JOINTS = N_BODY + 2 * N_HAND  # 65
N_CHANNELS = 3  # per joint: x, y, confidence
NECK = 1
R_WRIST = 4
L_WRIST = 7
LEFT_HAND_OFFSET = N_BODY  # 25
RIGHT_HAND_OFFSET = N_BODY + N_HAND  # 45
CENTER = NECK

BODY25_EDGES: tuple[tuple[int, int], ...] = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
    (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19),
    (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)  # fmt: skip


def _hand_edges(offset: int, wrist: int) -> list[tuple[int, int]]:
    edges = []
    for f in range(5):
        prev = wrist
        for k in range(4):
            j = offset + 4 * f + k
            edges.append((prev, j))
            prev = j
    return edges


HAND_EDGES_LEFT: tuple[tuple[int, int], ...] = tuple(_hand_edges(LEFT_HAND_OFFSET, L_WRIST))
HAND_EDGES_RIGHT: tuple[tuple[int, int], ...] = tuple(_hand_edges(RIGHT_HAND_OFFSET, R_WRIST))
EDGES: tuple[tuple[int, int], ...] = BODY25_EDGES + HAND_EDGES_LEFT + HAND_EDGES_RIGHT


def _names() -> tuple[str, ...]:
    names = list(BODY25_NAMES)
    for side in ("L", "R"):
        for f in FINGERS:
            names += [f"{side}{f}{k + 1}" for k in range(4)]
    return tuple(names)


JOINT_NAMES: tuple[str, ...] = _names()

LEFT_FINGERTIPS: tuple[int, ...] = tuple(LEFT_HAND_OFFSET + 4 * f + 3 for f in range(5))
RIGHT_FINGERTIPS: tuple[int, ...] = tuple(RIGHT_HAND_OFFSET + 4 * f + 3 for f in range(5))


def _mirror() -> tuple[int, ...]:
    by_name = {n: i for i, n in enumerate(JOINT_NAMES)}
    out = []
    for n in JOINT_NAMES:
        if n[0] in "LR" and n not in ("Nose",) and n[1:] and n[1].isupper():
            other = ("R" if n[0] == "L" else "L") + n[1:]
            out.append(by_name.get(other, by_name[n]))
        else:
            out.append(by_name[n])
    return tuple(out)


MIRROR: tuple[int, ...] = _mirror()
"""``MIRROR[j]`` is the joint that ``j`` becomes under a left/right flip."""


@cache
def hop_distance() -> np.ndarray:
    """int [65, 65]: graph hop distance between joints (BFS; the graph is connected)."""
    adj = np.zeros((N_JOINTS, N_JOINTS), bool)
    for a, b in EDGES:
        adj[a, b] = adj[b, a] = True
    dist = np.full((N_JOINTS, N_JOINTS), -1, np.int64)
    for s in range(N_JOINTS):
        dist[s, s] = 0
        frontier = [s]
        while frontier:
            nxt = []
            for u in frontier:
                for v in np.flatnonzero(adj[u]):
                    if dist[s, v] < 0:
                        dist[s, v] = dist[s, u] + 1
                        nxt.append(int(v))
            frontier = nxt
    return dist


def partition_adjacency() -> np.ndarray:
    """float32 [3, 65, 65]: ST-GCN spatial partition, each column-normalised (A · D⁻¹).

    Subset 0 holds self loops; subset 1 the centripetal neighbours (closer to the centre,
    the Neck, than the root joint); subset 2 the centrifugal ones. ``sum(A, 0)`` is the
    normalised adjacency with self loops, so every column of the sum adds to 1. A graph
    convolution is ``y[:, w] = sum_k sum_v x[:, v] * A[k, v, w] * W_k``.
    """
    hop = hop_distance()
    a = np.zeros((N_JOINTS, N_JOINTS), np.float64)
    for i, j in EDGES:
        a[i, j] = a[j, i] = 1.0
    a += np.eye(N_JOINTS)
    deg = a.sum(0)
    norm = a / deg[None, :]  # column-normalised: A D^-1
    out = np.zeros((3, N_JOINTS, N_JOINTS), np.float64)
    to_center = hop[:, CENTER]
    for root in range(N_JOINTS):  # column = receiving joint
        for nb in np.flatnonzero(a[:, root]):
            if nb == root:
                k = 0
            elif to_center[nb] < to_center[root]:
                k = 1
            else:
                k = 2
            out[k, nb, root] = norm[nb, root]
    return out.astype(np.float32)


MEDIAPIPE_POSE_TO_BODY25: tuple[tuple[int, ...], ...] = (
    (0,), (11, 12), (12,), (14,), (16,), (11,), (13,), (15,), (23, 24), (24,), (26,), (28,),
    (23,), (25,), (27,), (5,), (2,), (8,), (7,), (31,), (31,), (29,), (32,), (32,), (30,),
)  # fmt: skip
"""For each BODY_25 joint, the MediaPipe pose landmarks (33) whose mean it is: Neck is the
mid-shoulder, MidHip the mid-hip; MediaPipe has one toe point (foot index), used for both
BigToe and SmallToe. MediaPipe's "left" is the person's left, as in OpenPose."""

MEDIAPIPE_HAND_TO_BODY65_LEFT: tuple[int, ...] = tuple(range(1, 21))
"""MediaPipe hand landmarks 1..20 (thumb..pinky, base to tip) fill body65 joints 25..44 for the
left hand (45..64 for the right) in the same order; landmark 0, the wrist, merges into LWrist."""
