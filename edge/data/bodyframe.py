"""The body frame: keypoints as the performer's body sees them, not as the camera does.

A key's width is under 1 % of the image (the synthetic pianist's keyboard spans 0.8 image widths
for 88 keys), while a camera's zoom, roll and offset move the whole picture by several keys. A
model handed image coordinates must undo the camera before it can read a pitch from a
fingertip's x. Here the host undoes it once, before the keypoints reach the model:

1. Anchors: the trunk and legs (:data:`ANCHORS`), which a seated musician keeps still. Each one's
   position is followed by a confidence-weighted exponential moving average over
   ``tau_s`` seconds (a missing joint, confidence 0, adds nothing; the torso's sway averages out).
2. Fit: the similarity (zoom, roll, offset) that maps the canonical body's anchors
   (:data:`CANONICAL`) onto those averages, weighted by each one's accumulated confidence, in
   closed form (2-D Umeyama: no SVD needed).
3. Every present joint goes through the fit's inverse; missing joints stay ``(0, 0)`` with
   confidence 0, as the pose detector wrote them. Fewer than two anchors seen so far, or a zoom
   no camera gives (outside :data:`ZOOM_RANGE` of the rest pose: the anchors are not a body):
   the frame passes unchanged.

It is causal (frame ``t`` uses frames ``<= t``) and the same code serves a whole clip
(:func:`to_body_frame`: training, evaluation, export) and a live stream (:class:`BodyFrame`: the
host, frame by frame, before quantizing for the wire), so the two agree exactly. The result is
in the canonical body's units, still about 0..1, so the int8 input scale of the wire and the
model keeps its resolution (about 2.4 int8 steps per key for the synthetic piano).
"""

from __future__ import annotations

import numpy as np

from edge.protocol_spec import InputFrame
from edge.skeleton import N_CHANNELS, N_JOINTS, REST_POSE

ANCHORS: tuple[int, ...] = (1, 2, 5, 8, 9, 12, 10, 13, 11, 14, 19, 20, 21, 22, 23, 24)
"""BODY_25 joints the fit follows: neck, shoulders, hips, knees, ankles and feet."""
CANONICAL: dict[int, tuple[float, float]] = {j: REST_POSE[j] for j in ANCHORS}
"""Each anchor's (x, y) in the body frame: the rest pose of :data:`edge.skeleton.REST_POSE`
(the synthetic performer is posed from the same numbers)."""
TAU_S = 4.0
"""Default time constant of the anchors' moving average (seconds)."""

ZOOM_RANGE = (0.125, 8.0)
"""Fitted zooms (observed body size ÷ rest pose) outside this range are not a camera."""

FRAMES = tuple(f.name.lower() for f in InputFrame)
"""Values of a model's ``input_frame`` ("image": coordinates as given, "body": this module's
frame), named after the HELLO's :class:`edge.protocol_spec.InputFrame` they are sent as."""


class BodyFrame:
    """Streaming: feed frames ``[65, 3]`` in order, get each back in the body frame."""

    def __init__(self, fps: float, tau_s: float = TAU_S) -> None:
        if not (fps > 0 and tau_s > 0):
            raise ValueError(f"BodyFrame needs fps > 0 and tau_s > 0, found fps={fps}, tau_s={tau_s}")
        self.decay = float(np.exp(-1.0 / (tau_s * fps)))
        self._src = np.array([CANONICAL[j] for j in ANCHORS], np.float64)  # [A, 2]
        self._num = np.zeros((len(ANCHORS), 2))  # EMA of conf * xy
        self._den = np.zeros(len(ANCHORS))  # EMA of conf

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """float32 ``[65, 3]``: ``frame`` (x, y in image units, confidence) in the body frame."""
        frame = np.asarray(frame)
        if frame.shape != (N_JOINTS, N_CHANNELS):
            raise ValueError(f"BodyFrame: a frame must be [{N_JOINTS}, {N_CHANNELS}], "
                             f"found {list(frame.shape)}")
        anchors = frame[list(ANCHORS)].astype(np.float64)
        conf = anchors[:, 2]
        self._num = self.decay * self._num + conf[:, None] * anchors[:, :2]
        self._den = self.decay * self._den + conf
        out = frame.astype(np.float32, copy=True)
        fit = self._fit()
        if fit is None:
            return out
        mu_o, rot_inv, mu_s = fit
        seen = out[:, 2] > 0
        xy = (out[seen, :2].astype(np.float64) - mu_o) @ rot_inv.T + mu_s
        out[seen, :2] = xy.astype(np.float32)
        return out

    def _fit(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(observed centroid, inverse zoom-rotation [2, 2], canonical centroid), or None."""
        w = self._den
        ok = w > 1e-6
        if ok.sum() < 2:
            return None
        w = w[ok]
        obs = self._num[ok] / w[:, None]
        src = self._src[ok]
        mu_s = (w[:, None] * src).sum(0) / w.sum()
        mu_o = (w[:, None] * obs).sum(0) / w.sum()
        s, o = src - mu_s, obs - mu_o
        n = float((w * (s * s).sum(1)).sum())
        a = float((w * (s * o).sum(1)).sum()) / n  # zoom * cos(roll)
        b = float((w * (s[:, 0] * o[:, 1] - s[:, 1] * o[:, 0])).sum()) / n  # zoom * sin(roll)
        z2 = a * a + b * b
        if not ZOOM_RANGE[0] ** 2 <= z2 <= ZOOM_RANGE[1] ** 2:
            return None
        # observed = [[a, -b], [b, a]] @ canonical (centred); its inverse is the transpose / z².
        rot_inv = np.array([[a, b], [-b, a]]) / z2
        return mu_o, rot_inv, mu_s


def to_body_frame(keypoints: np.ndarray, fps: float, tau_s: float = TAU_S) -> np.ndarray:
    """float32 ``[T, 65, 3]``: a whole clip's keypoints in the body frame (causal, frame by frame,
    exactly as :class:`BodyFrame` streams them)."""
    bf = BodyFrame(fps, tau_s)
    out = np.empty(keypoints.shape, np.float32)
    for t in range(keypoints.shape[0]):
        out[t] = bf(keypoints[t])
    return out


def model_keypoints(keypoints: np.ndarray, fps: float, input_frame: str) -> np.ndarray:
    """A clip's keypoints as a model with ``input_frame`` (``"image"`` or ``"body"``) reads them."""
    if input_frame == "image":
        return keypoints
    if input_frame == "body":
        return to_body_frame(keypoints, fps)
    raise ValueError(f"input_frame must be one of {FRAMES}, found {input_frame!r}")
