"""The student configurations the search may pick from, and their analytic cost features.

A :class:`SearchSpace` lists the choices per field of :class:`edge.model.config.StudentConfig`:
the encoder's graph-convolution widths and joint groups, the decoder's width, heads, layers and
feed-forward width. The window, hop, frame rate and ``max_tokens`` stay the teacher's (the
distillation needs the same windows and sequences) and the vocabulary never changes. Every
combination that is a valid configuration is a candidate (``heads`` must divide ``d_model``).

:func:`features` gives each candidate its multiply-accumulates per encoder window and per
decoder token, its activation volume and its parameters, counted from the shapes of
:mod:`edge.model.encoder` / :mod:`edge.model.decoder`. They are not the cost (that is measured,
:mod:`foley_edge.search.cost`); they are what a predictor fitted to measurements reads.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, replace

from edge import vocab
from edge.model.budget import estimate_budget
from edge.model.config import ModelConfigError, StudentConfig, config_to_dict
from edge.skeleton import N_JOINTS

_K = 3  # ST-GCN partition subsets (as edge.model.budget)


@dataclass(frozen=True)
class SearchSpace:
    """Choices per searched field (every other field keeps the base configuration's value)."""

    gcn_channels: tuple[tuple[int, ...], ...]  # widths of the ST-GCN blocks (strides follow)
    joint_groups: tuple[int, ...]  # learned joint pooling groups
    d_model: tuple[int, ...]  # decoder (and memory) width
    heads: tuple[int, ...]  # attention heads
    layers: tuple[int, ...]  # decoder layers
    ffn: tuple[int, ...]  # feed-forward hidden width

    def size(self) -> int:
        """Combinations before validity filtering."""
        n = 1
        for choices in (self.gcn_channels, self.joint_groups, self.d_model, self.heads,
                        self.layers, self.ffn):
            n *= len(choices)
        return n


DEFAULT_SPACE = SearchSpace(
    gcn_channels=((4, 8, 16), (8, 8, 16), (8, 16, 16), (8, 16, 24), (8, 16, 32), (12, 24, 32),
                  (16, 24, 48)),
    joint_groups=(2, 4),
    d_model=(32, 48, 64, 96),
    heads=(2, 4),
    layers=(1, 2, 3),
    ffn=(64, 128, 192),
)
"""The space `foley-edge search` explores by default (1,008 combinations)."""

TINY_SPACE = SearchSpace(
    gcn_channels=((4, 8),), joint_groups=(2,), d_model=(16, 32), heads=(2,), layers=(1,),
    ffn=(32,),
)
"""Two small candidates: the space of the tests and of `--space tiny`."""

SPACES = {"default": DEFAULT_SPACE, "tiny": TINY_SPACE}
"""Spaces by `--space` name."""


def _strides(base: StudentConfig, n_blocks: int) -> tuple[int, ...]:
    """The base's strides when the block count matches, else stride 2 on all but the last."""
    if len(base.gcn_strides) == n_blocks:
        return base.gcn_strides
    return (2,) * (n_blocks - 1) + (1,)


def candidates(space: SearchSpace, base: StudentConfig) -> list[StudentConfig]:
    """Every valid configuration of ``space`` around ``base`` (invalid combinations skipped)."""
    out = []
    for gcn, groups, d, heads, layers, ffn in itertools.product(
            space.gcn_channels, space.joint_groups, space.d_model, space.heads, space.layers,
            space.ffn):
        if d % heads:
            continue
        try:
            out.append(replace(base, gcn_channels=gcn, gcn_strides=_strides(base, len(gcn)),
                               joint_groups=groups, d_model=d, heads=heads, layers=layers,
                               ffn=ffn, quant_noise=False))
        except ModelConfigError:  # e.g. too many strided blocks for the window
            continue
    return out


def describe(cfg: StudentConfig) -> str:
    """A short label, e.g. ``gcn 8-16-32 g4, d64 h4 L2 ff128`` (encoder, then decoder)."""
    gcn = "-".join(map(str, cfg.gcn_channels))
    return (f"gcn {gcn} g{cfg.joint_groups}, d{cfg.d_model} h{cfg.heads} L{cfg.layers} "
            f"ff{cfg.ffn}")


def config_key(cfg: StudentConfig) -> str:
    """16 hex of SHA-256 over the configuration's fields (training-only fields excluded; an
    ``input_frame`` of "image" is left out, so keys made before the field existed still hold)."""
    fields = config_to_dict(replace(cfg, dropout=0.0, quant_noise=False))
    if fields["input_frame"] == "image":
        del fields["input_frame"]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Features:
    """Shape-derived counts of one configuration (what cost predictors read)."""

    encoder_macs: int  # multiply-accumulates of one encoder window
    encoder_values: int  # activation values the encoder writes for one window
    step_macs: int  # multiply-accumulates of one decoder step (full cache)
    step_values: int  # activation values one decoder step writes
    params: int  # trainable parameters (edge.model.budget)
    weight_bytes: int  # int8 weights + int32 biases
    sram_estimate: int  # analytic activations + state (edge.model.budget)


def _encoder_counts(cfg: StudentConfig) -> tuple[int, int]:
    v, t, c_in = N_JOINTS, cfg.window_frames, cfg.input_channels
    if cfg.motion_gain:
        t -= 1
    macs = values = 0
    for i, (c, s) in enumerate(zip(cfg.gcn_channels, cfg.gcn_strides, strict=True)):
        t_out = (t - cfg.temporal_kernel) // s + 1
        macs += t * v * v * _K * c_in + t * v * _K * c_in * c + t_out * v * cfg.temporal_kernel * c * c
        values += t * v * _K * c_in + 2 * t * v * c + t_out * v * c
        if i and c != c_in:
            macs += t_out * v * c_in * c
        t, c_in = t_out, c
    m, d = cfg.n_memory, cfg.d_model
    macs += m * c_in * v * cfg.joint_groups + m * c_in * cfg.joint_groups * d
    macs += cfg.layers * 2 * m * d * d
    values += m * (c_in * cfg.joint_groups + d * (1 + 2 * cfg.layers))
    return macs, values


def _step_counts(cfg: StudentConfig) -> tuple[int, int]:
    d, f, length, m = cfg.d_model, cfg.ffn, cfg.max_tokens, cfg.n_memory
    per_layer = 6 * d * d + 2 * d * f + 2 * length * d + 2 * m * d
    values = cfg.layers * (10 * d + f + cfg.heads * (length + m))
    return cfg.layers * per_layer + d * vocab.VOCAB_SIZE, values + vocab.VOCAB_SIZE


def features(cfg: StudentConfig) -> Features:
    """The :class:`Features` of ``cfg``."""
    em, ev = _encoder_counts(cfg)
    sm, sv = _step_counts(cfg)
    b = estimate_budget(cfg)
    return Features(em, ev, sm, sv, int(b["params"]), int(b["int8_weight_bytes"]),
                    int(b["sram_bytes"]))
