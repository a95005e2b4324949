"""The ST-GCN-style motion encoder: keypoint window ``[B,W,65,3]`` -> memory ``[B,M,d]``.

Motion features first (``motion_gain > 0``): a key stroke moves a fingertip by only 1-4 % of the
image, small beside the body's extent, so the encoder is handed each joint's frame-to-frame
velocity ``clip(gain * Δxy * conf_t * conf_t-1, -1, 1)`` next to its position ``x, y``. Gating by
both frames' confidences silences joints the detector lost; the clip bounds a hand swap, so
the concatenation's one int8 scale still resolves positions finely. The window loses its
first frame (it has no predecessor).

Block ``i`` (channels ``C_i``, stride ``s_i``): spatial graph convolution (aggregation over the
body65 partition adjacency with learnable edge importance, then a Dense over K·C_in), ReLU, a
*valid* temporal convolution ``(k, 1)`` with stride ``s_i`` (CONV_2D), the residual (the input's
frames aligned with each output's last frame, projected by a Dense when widths differ), ReLU.
Valid convolutions make the encoder causal and streamable: output ``t`` sees only frames up to
its own. Then a learned pooling of the 65 joints into ``joint_groups`` groups (a Dense over the
joint axis), a Dense to ``d_model``, learned memory positions and a LayerNorm.

The decoder's cross-attention K/V projections of the memory are part of the encoder model, so
the device computes them once per hop (not once per token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from edge.model.config import ModelConfig
from edge.model.layers import AddPositions, GraphAggregate, LayerNorm, identity
from edge.skeleton import N_JOINTS

KEYPOINT_SCALE = np.array([2.0, 2.0, 1.0], np.float32)
KEYPOINT_OFFSET = np.array([-1.0, -1.0, 0.0], np.float32)
"""x, y in 0..1 image units -> -1..1; confidence unchanged (a MUL and an ADD in the graph)."""


@dataclass(frozen=True)
class GcnBlock:
    """The layers of one ST-GCN block (shared by every model built from them)."""

    aggregate: GraphAggregate  # spatial aggregation over the partition adjacency
    spatial: keras.layers.Dense  # per-subset weights W_k applied to the K·C_in aggregate
    temporal: keras.layers.Conv2D  # valid (causal) temporal convolution, strided
    residual: keras.layers.Dense | None  # width change on the residual path, or None
    stride: int  # temporal stride
    kernel: int  # temporal kernel length
    has_residual: bool  # the first block has none (as in ST-GCN)


@dataclass(frozen=True)
class EncoderLayers:
    """All layers of the encoder and of the per-layer cross-attention K/V projections."""

    blocks: tuple[GcnBlock, ...]  # the ST-GCN blocks, input first
    joint_pool: keras.layers.Dense  # joints -> joint groups
    to_model: keras.layers.Dense  # C_last·groups -> d_model
    positions: AddPositions  # learned memory positions [M, d]
    norm: LayerNorm  # final normalisation of the memory
    cross_k: tuple[keras.layers.Dense, ...]  # per decoder layer: memory -> cross-attention K
    cross_v: tuple[keras.layers.Dense, ...]  # per decoder layer: memory -> cross-attention V


def make_encoder_layers(cfg: ModelConfig, prefix: str) -> EncoderLayers:
    """Create (unbuilt) encoder layers for ``cfg``; names start with ``prefix``."""
    blocks = []
    c_in = cfg.input_channels
    for i, (c, s) in enumerate(zip(cfg.gcn_channels, cfg.gcn_strides, strict=True)):
        blocks.append(GcnBlock(
            aggregate=GraphAggregate(name=f"{prefix}gcn{i}_graph"),
            spatial=keras.layers.Dense(c, name=f"{prefix}gcn{i}_spatial"),
            temporal=keras.layers.Conv2D(c, (cfg.temporal_kernel, 1), strides=(s, 1),
                                         padding="valid", name=f"{prefix}gcn{i}_temporal"),
            residual=keras.layers.Dense(c, name=f"{prefix}gcn{i}_res") if i and c != c_in else None,
            stride=s, kernel=cfg.temporal_kernel, has_residual=i > 0,
        ))
        c_in = c
    d = cfg.d_model
    return EncoderLayers(
        blocks=tuple(blocks),
        joint_pool=keras.layers.Dense(cfg.joint_groups, name=f"{prefix}joint_pool"),
        to_model=keras.layers.Dense(d, name=f"{prefix}to_model"),
        positions=AddPositions(cfg.n_memory, d, name=f"{prefix}memory_pos"),
        norm=LayerNorm(name=f"{prefix}memory_norm"),
        cross_k=tuple(keras.layers.Dense(d, name=f"{prefix}dec{i}_cross_k") for i in range(cfg.layers)),
        cross_v=tuple(keras.layers.Dense(d, name=f"{prefix}dec{i}_cross_v") for i in range(cfg.layers)),
    )


def _block(b: GcnBlock, x: Any, qn: Callable[[Any], Any] = identity) -> Any:
    """One block; the residual branch is taken first so ``x`` can die after the aggregation.
    ``qn``: training-only int8 rounding noise on each activation
    (:func:`edge.model.layers.quant_noise`)."""
    r = None
    if b.has_residual:
        r = x[:, b.kernel - 1 :: b.stride]  # frames aligned with each output's last input
        r = qn(b.residual(r)) if b.residual is not None else r
    y = qn(b.temporal(qn(keras.ops.relu(qn(b.spatial(qn(b.aggregate(x))))))))
    return qn(keras.ops.relu(y if r is None else y + r))


def motion_features(raw: Any, gain: float) -> Any:
    """Raw ``[B, W, V, 3]`` (x, y in 0..1, conf) -> ``[B, W-1, V, 4]``: scaled x, y and gated velocity.

    The velocity is taken from the raw keypoints, before any rescaling: the SUB of two frames of
    the int8 input is then exact, where a difference of already rescaled (requantized) positions
    carries each frame's rounding error, ``gain`` times amplified.
    """
    cur, prev = raw[:, 1:], raw[:, :-1]
    conf = cur[..., 2:3] * prev[..., 2:3]
    vel = keras.ops.clip((cur[..., :2] - prev[..., :2]) * (gain * KEYPOINT_SCALE[:2]), -1.0, 1.0)
    pos = cur[..., :2] * KEYPOINT_SCALE[:2] + KEYPOINT_OFFSET[:2]
    return keras.ops.concatenate([pos, vel * conf], axis=-1)


def encode(layers: EncoderLayers, keypoints: Any, motion_gain: float = 0.0,
           qn: Callable[[Any], Any] = identity) -> Any:
    """Memory ``[B, M, d]`` of a keypoint window ``[B, W, 65, 3]`` (functional graph); ``qn``:
    training-only int8 rounding noise on each activation (:func:`edge.model.layers.quant_noise`)."""
    if motion_gain:
        x = motion_features(keypoints, motion_gain)
    else:
        x = keypoints * KEYPOINT_SCALE + KEYPOINT_OFFSET
    for b in layers.blocks:
        x = _block(b, x, qn)
    m, c = x.shape[1], x.shape[3]
    x = keras.ops.transpose(x, (0, 1, 3, 2))  # [B, M, C, V]
    x = qn(layers.joint_pool(x))  # [B, M, C, G]
    x = keras.ops.reshape(x, (-1, m, c * layers.joint_pool.units))
    x = qn(layers.positions(qn(layers.to_model(x))))
    return qn(layers.norm(x))


def cross_kv(layers: EncoderLayers, memory: Any, qn: Callable[[Any], Any] = identity) -> list[Any]:
    """Per decoder layer the cross-attention K and V of ``memory``: ``[k0, v0, k1, v1, ...]``."""
    out = []
    for k, v in zip(layers.cross_k, layers.cross_v, strict=True):
        out += [qn(k(memory)), qn(v(memory))]
    return out


def keypoint_input(cfg: ModelConfig, batch_size: int | None = None) -> Any:
    """The encoder's input ``keypoints``: float32 ``[B, W, 65, 3]``."""
    return keras.Input((cfg.window_frames, N_JOINTS, 3), batch_size, name="keypoints",
                       dtype="float32")
