"""Foley Music's keypoint augmentations, as TensorFlow ops for ``tf.data``.

Per window (the same transform for every frame): rotation by ±``max_rotation_deg`` (10°),
scale in [0.9, 1.1] and shift by ±0.2 in the model's normalised frame (coordinates -1..1, i.e.
±0.1 in image units), all about the image centre (0.5, 0.5). No left/right flip: for piano it
would swap the registers. Missing joints (confidence 0) are left where they are.

Those ranges stand for a camera. A model that reads the body frame (:mod:`edge.data.bodyframe`)
never sees the camera, only what is left of it after the host's fit, so it trains with
:data:`BODY_AUGMENT`: about a third of a key at the keyboard's ends (the fit's error measured
on the synthetic pianist is under 0.003 image units at the fingertips), where the camera ranges
would move a key by several.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tensorflow as tf


@dataclass(frozen=True)
class Augment:
    """Ranges of the random transform."""

    max_rotation_deg: float = 10.0  # rotation in [-r, r] degrees
    min_scale: float = 0.9  # scale factor range
    max_scale: float = 1.1
    max_shift: float = 0.2  # shift in [-s, s] in the -1..1 frame (s/2 in image units)


BODY_AUGMENT = Augment(max_rotation_deg=1.0, min_scale=0.99, max_scale=1.01, max_shift=0.004)
"""The residual of the body frame's camera fit: ±1°, ±1 %, ±0.002 image units."""


def augment_for(input_frame: str) -> Augment:
    """The augmentation ranges for a model's ``input_frame`` ("image" or "body")."""
    return BODY_AUGMENT if input_frame == "body" else Augment()


def augment_window(kp: Any, aug: Augment) -> Any:
    """Randomly transform one window ``[W, 65, 3]`` (x, y in image units)."""
    angle = tf.random.uniform((), -1.0, 1.0) * (aug.max_rotation_deg * math.pi / 180.0)
    scale = tf.random.uniform((), aug.min_scale, aug.max_scale)
    shift = tf.random.uniform((2,), -aug.max_shift, aug.max_shift) * 0.5
    c, s = tf.cos(angle) * scale, tf.sin(angle) * scale
    rot = tf.stack([tf.stack([c, -s]), tf.stack([s, c])])  # [2, 2]
    xy = kp[..., :2] - 0.5
    moved = tf.einsum("wjc,dc->wjd", xy, rot) + 0.5 + shift
    present = kp[..., 2:3] > 0.0
    xy_out = tf.where(present, moved, kp[..., :2])
    return tf.concat([xy_out, kp[..., 2:3]], axis=-1)
