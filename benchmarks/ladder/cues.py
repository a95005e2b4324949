"""The analytic rung: read the synthetic pianist's own cues back from the keypoints alone.

An inverse of :mod:`edge.data.synth.piano` and :mod:`edge.data.synth.nuisance` that knows the
performer's parameters (:class:`~edge.data.synth.params.PianoParams`, the rest body) but never
the clip's MIDI. What it recovers is a lower bound on what the keypoints carry, so its scores
are the reference the models are measured against (an "upper bound" for them). Steps:

1. Camera. The legs never sway (:func:`~edge.data.synth.nuisance.sway_weights`), so their
   per-joint medians over the clip are the rest body under one similarity transform (zoom,
   roll, offset). A least-squares similarity fit (Umeyama) of the 12 leg joints to
   :func:`~edge.data.synth.body.rest_body` is inverted on every joint: back to the performer's
   frame, where key ``p`` sits at ``key_x(p)`` and a resting fingertip at ``key_y``.
2. Detector faults. Missing joints (confidence 0) become gaps, filled by linear interpolation
   per track; frames whose two hands' fingers are nearer the other hand's wrist are swapped
   back.
3. Strokes. Per fingertip (10 tracks), the dip ``d = y - key_y`` is 0 at rest and the stroke
   depth ``D`` while a key is held; a stroke is a run of frames with ``d`` above half the
   softest depth. ``D`` (the run's plateau) gives the velocity, hence the attack time; the
   onset is where the smoothstep descent reaches the key, solved from the frames caught
   mid-descent (``onset = t + attack·(1 - r)``, ``r`` the inverse smoothstep of ``d/D``), or the
   middle of the possible span when the descent fell between two frames (22 fps = 45 ms a frame,
   attacks are 30-80 ms). The note-off is read the same way from the lift.
4. Pitch. The held fingertip sits exactly over its key: the median x over the plateau, through
   the inverse of ``key_x``, rounded to the nearest semitone.

Cost: O(frames × 65). Limits: a stroke lost in a burst of a missing hand is interpolated over
(its onset blurs or vanishes); two strokes of one finger closer than the sampling can separate
merge into one; the sway of the legs is zero by construction here, not in real video.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from edge.data.synth.body import LEGS, rest_body
from edge.data.synth.params import PianoParams
from edge.data.synth.score import Notes
from edge.skeleton import L_WRIST, LEFT_HAND_OFFSET, N_HAND, R_WRIST, RIGHT_HAND_OFFSET

TIPS_LEFT: tuple[int, ...] = tuple(LEFT_HAND_OFFSET + 4 * f + 3 for f in range(5))
TIPS_RIGHT: tuple[int, ...] = tuple(RIGHT_HAND_OFFSET + 4 * f + 3 for f in range(5))
_PLATEAU = 0.9  # share of a stroke's depth above which the key counts as held
_EDGE = (0.08, 0.92)  # env values trusted for solving a descent or a lift (noise elsewhere)


@dataclass(frozen=True)
class CameraFit:
    """The clip's camera, fitted on the legs: observed = scale·R(roll)·(rest - ½) + ½ + shift."""

    scale: float  # zoom
    roll_deg: float  # camera roll in degrees
    shift: tuple[float, float]  # offset (image units)
    residual: float  # RMS distance of the fitted legs from their observed medians

    def to_performer(self, xy: np.ndarray) -> np.ndarray:
        """Observed image coordinates ``[..., 2]`` back in the performer's frame."""
        a = np.deg2rad(self.roll_deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return (xy - 0.5 - np.asarray(self.shift)) @ rot / self.scale + 0.5


def fit_camera(keypoints: np.ndarray) -> CameraFit:
    """The similarity that maps the rest body's legs onto their medians in ``keypoints``."""
    legs = list(LEGS)
    xy, seen = keypoints[:, legs, :2].astype(np.float64), keypoints[:, legs, 2] > 0
    obs = np.stack([np.median(xy[seen[:, j], j], axis=0) for j in range(len(legs))]) - 0.5
    src = rest_body(1)[0, legs] - 0.5
    mu_s, mu_o = src.mean(0), obs.mean(0)
    s0, o0 = src - mu_s, obs - mu_o
    u, sig, vt = np.linalg.svd(o0.T @ s0)
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ flip @ vt
    scale = float(np.trace(np.diag(sig) @ flip) / (s0**2).sum())
    shift = mu_o - scale * rot @ mu_s
    resid = obs - (scale * src @ rot.T + shift)
    return CameraFit(scale, float(np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))),
                     (float(shift[0]), float(shift[1])), float(np.sqrt((resid**2).sum(1).mean())))


def _fill(track: np.ndarray) -> np.ndarray:
    """``[T, 2]`` with NaN gaps filled by linear interpolation (edges held)."""
    out = track.copy()
    ok = ~np.isnan(track[:, 0])
    if not ok.any():
        return np.zeros_like(track)
    t = np.arange(track.shape[0])
    for c in range(track.shape[1]):
        out[:, c] = np.interp(t, t[ok], track[ok, c])
    return out


def fingertips(keypoints: np.ndarray, cam: CameraFit) -> np.ndarray:
    """float64 ``[T, 10, 2]``: both hands' fingertips (left thumb..pinky, right thumb..pinky) in
    the performer's frame, swaps undone and gaps filled."""
    kp = keypoints.astype(np.float64)
    xy = np.where(kp[..., 2:3] > 0, cam.to_performer(kp[..., :2]), np.nan)
    left = list(range(LEFT_HAND_OFFSET, LEFT_HAND_OFFSET + N_HAND))
    right = list(range(RIGHT_HAND_OFFSET, RIGHT_HAND_OFFSET + N_HAND))
    with warnings.catch_warnings():  # a frame whose whole hand is missing: mean of nothing
        warnings.simplefilter("ignore", RuntimeWarning)
        cl, cr = np.nanmean(xy[:, left, 0], 1), np.nanmean(xy[:, right, 0], 1)
    wl, wr = _fill(xy[:, L_WRIST])[:, 0], _fill(xy[:, R_WRIST])[:, 0]
    swapped = (np.abs(cl - wr) < np.abs(cl - wl)) & (np.abs(cr - wl) < np.abs(cr - wr))
    fixed = xy.copy()
    fixed[np.ix_(swapped, left + right)] = xy[np.ix_(swapped, right + left)]
    return np.stack([_fill(fixed[:, j]) for j in TIPS_LEFT + TIPS_RIGHT], 1)


def _unsmooth(e: np.ndarray) -> np.ndarray:
    """Inverse of the smoothstep ``3r² - 2r³`` on [0, 1]."""
    e = np.clip(e, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * e) / 3.0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame ranges where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def split_strokes(d: np.ndarray, a: int, b: int, dip: float = 0.7) -> list[tuple[int, int, int]]:
    """Cut the run ``[a, b)`` of one tip at its dips: ``(split frame or -1, start, stop)`` each.

    A finger that strikes again releases first, but the lift and the next descent can fall
    between two frames and leave only a shallow dip: any interior local minimum below ``dip``
    of the lower of the two peaks around it ends one stroke; the next starts after it (the
    dip frame's phase, lift or descent, is unknown, so it is reported as the split frame).
    """
    cuts = [k for k in range(a + 1, b - 1) if d[k] < d[k - 1] and d[k] <= d[k + 1]
            and d[k] < dip * min(d[a:k].max(), d[k + 1:b].max())]
    out, start, split = [], a, -1
    for k in cuts:
        out.append((split, start, k))
        start, split = k + 1, k
    out.append((split, start, b))
    return out


def _stroke(t: np.ndarray, d: np.ndarray, x: np.ndarray, run: tuple[int, int, int],
            p: PianoParams) -> tuple[float, float, int, int]:
    """(onset s, note-off s, pitch, velocity) of one stroke ``(split, a, b)`` of one tip
    (``split``: the dip frame before it when the run was cut, else -1)."""
    split, a, b = run
    top = d[a:b].max()
    depth = float(np.median(d[a:b][d[a:b] >= 0.85 * top]))
    vel = float(np.clip((depth - p.depth_min) / (p.depth_max - p.depth_min) * 127.0, 1, 127))
    attack = p.attack_slow_s + (p.attack_fast_s - p.attack_slow_s) * vel / 127.0
    e = d / depth
    held = np.flatnonzero(e[a:b] >= _PLATEAU) + a
    first, last = (int(held[0]), int(held[-1])) if held.size else (int(np.argmax(d[a:b])) + a,) * 2
    lo = a - 1 if split < 0 else a  # the frame before a fresh run is at rest, a dip frame is not
    mid = [k for k in range(max(lo, 0), first + 1) if _EDGE[0] < e[k] < _EDGE[1]]
    if mid:  # frames caught mid-descent: each solves the onset
        onset = float(np.mean([t[k] + attack * (1.0 - _unsmooth(e[k])) for k in mid]))
    else:  # the descent fell between the frame before (not yet down) and ``first`` (down)
        prev = split if split >= 0 else first - 1
        earliest = t[prev] + attack * (1.0 - _unsmooth(e[prev])) if prev >= 0 else t[first]
        onset = 0.5 * (min(earliest, t[first]) + t[first])
    lift = [k for k in range(last, min(b + 1, len(t))) if _EDGE[0] < e[k] < _EDGE[1]]
    if lift:
        off = float(np.mean([t[k] - p.release_s * _unsmooth(1.0 - e[k]) for k in lift]))
    else:
        off = float(t[last] + 0.5 * (t[min(last + 1, len(t) - 1)] - t[last]))
    keys = held if held.size else np.array([first])
    xk = float(np.median(x[keys]))
    pitch = int(np.rint(21.0 + 87.0 * (xk - p.key_x0) / (p.key_x1 - p.key_x0)))
    return onset, max(off, onset + 0.03), int(np.clip(pitch, 21, 108)), int(round(vel))


def read_cues(keypoints: np.ndarray, fps: float, p: PianoParams | None = None) -> Notes:
    """The notes a synthetic pianist's keypoints ``[T, 65, 3]`` show being played."""
    p = p or PianoParams()
    cam = fit_camera(keypoints)
    tips = fingertips(keypoints, cam)
    t = np.arange(keypoints.shape[0]) / fps
    rows = []
    for f in range(tips.shape[1]):
        d, x = tips[:, f, 1] - p.key_y, tips[:, f, 0]
        for a, b in _runs(d > 0.5 * p.depth_min):
            rows += [_stroke(t, d, x, run, p) for run in split_strokes(d, a, b)]
    if not rows:
        z = np.zeros(0)
        return Notes(z, z, z.astype(np.int64), z.astype(np.int64))
    on, off, pitch, vel = (np.array(c) for c in zip(*rows, strict=True))
    order = np.lexsort((pitch, on))
    return Notes(on[order].astype(np.float64), off[order].astype(np.float64),
                 pitch[order].astype(np.int64), vel[order].astype(np.int64))
