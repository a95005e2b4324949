"""MediaPipe Holistic landmarks → body65 keypoints (numpy only, runs in the main environment).

Steps per frame: BODY_25 joints from the pose landmarks (:data:`MEDIAPIPE_POSE_TO_BODY25`:
Neck and MidHip are midpoints; their confidence is the smaller of the two), hand joints 1..20
onto the hand offsets of body65, hand confidence 1 when MediaPipe found the hand, 0 when not.
Mirrored (selfie) footage is un-mirrored (x → 1 − x and left/right swapped). A hand whose wrist
lies nearer the other arm's pose wrist is reassigned to that side (MediaPipe sometimes labels a
crossed hand wrongly).
"""

from __future__ import annotations

import numpy as np

from edge import skeleton as sk

N_POSE = 33
N_HAND = 21
RAW_JOINTS = N_POSE + 2 * N_HAND  # rows of one worker record


def _pose_to_body25(pose: np.ndarray) -> np.ndarray:
    out = np.zeros((sk.N_BODY, 3), np.float32)
    for j, src in enumerate(sk.MEDIAPIPE_POSE_TO_BODY25):
        pts = pose[list(src)]
        out[j, :2] = pts[:, :2].mean(0)
        out[j, 2] = pts[:, 2].min()
    return out


def _hand_rows(hand: np.ndarray) -> np.ndarray:
    if hand[:, 2].max() <= 0:
        return np.zeros((sk.N_HAND, 3), np.float32)
    rows = hand[list(sk.MEDIAPIPE_HAND_TO_BODY65_LEFT)].copy()
    rows[:, 2] = 1.0
    return rows


def _should_swap_hands(pose: np.ndarray, left: np.ndarray, right: np.ndarray) -> bool:
    """True when each detected hand's wrist is nearer the opposite pose wrist."""
    lw, rw = pose[15, :2], pose[16, :2]
    if pose[15, 2] < 0.3 or pose[16, 2] < 0.3:
        return False
    swap_votes = 0
    votes = 0
    for hand, own, other in ((left, lw, rw), (right, rw, lw)):
        if hand[0, 2] > 0:
            votes += 1
            swap_votes += np.linalg.norm(hand[0, :2] - other) < np.linalg.norm(hand[0, :2] - own)
    return votes > 0 and swap_votes == votes


def holistic_to_body65(raw: np.ndarray, *, mirrored: bool = False) -> np.ndarray:
    """float32 [75, 3] worker record (pose 33, left hand 21, right hand 21) → [65, 3] body65."""
    raw = np.asarray(raw, np.float32).reshape(RAW_JOINTS, 3).copy()
    if mirrored:
        present = raw[:, 2] > 0
        raw[present, 0] = 1.0 - raw[present, 0]
    pose = raw[:N_POSE]
    left, right = raw[N_POSE : N_POSE + N_HAND], raw[N_POSE + N_HAND :]
    if mirrored:  # a mirrored person's labels are swapped too
        left, right = right, left
        pose = pose[_MP_POSE_MIRROR]
    if _should_swap_hands(pose, left, right):
        left, right = right, left
    out = np.zeros((sk.N_JOINTS, 3), np.float32)
    out[: sk.N_BODY] = _pose_to_body25(pose)
    out[sk.LEFT_HAND_OFFSET : sk.LEFT_HAND_OFFSET + sk.N_HAND] = _hand_rows(left)
    out[sk.RIGHT_HAND_OFFSET : sk.RIGHT_HAND_OFFSET + sk.N_HAND] = _hand_rows(right)
    return out


def _mp_pose_mirror() -> np.ndarray:
    pairs = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10)] + [(i, i + 1) for i in range(11, 33, 2)]
    m = np.arange(N_POSE)
    for a, b in pairs:
        m[a], m[b] = b, a
    return m


_MP_POSE_MIRROR = _mp_pose_mirror()
