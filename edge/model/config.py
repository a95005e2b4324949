"""Frozen configurations of the teacher and the MCU-sized student, and their JSON round trip.

Streaming scheme (the same for training, distillation, evaluation and the device):

* The encoder sees a window of ``window_frames`` (W) keypoint frames ending "now". Its temporal
  convolutions are *valid* (no padding) and therefore causal: every output depends only on the
  frames at or before it, and the window's first ``W - hop_frames`` frames are left context.
  Strided convolutions downsample time to ``n_memory`` (M) memory vectors.
* Every hop of ``hop_frames`` (H) frames the decoder generates, from SOS, the events whose
  onsets fall in the window's last H frames (``edge.midi.codec.encode_window`` over the hop),
  until EOS or ``max_tokens`` (L) tokens. The KV cache is reset for each hop.
* At a clip's start the window is filled by repeating the first frame (training does the same).

The decoder step keeps a self-attention cache of ``cache_len = max_tokens - 1`` rows per layer;
with the current row appended it attends over exactly L keys, like row ``p`` of the
full-sequence model, so the two compute the same sums (see :mod:`edge.model.decoder`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from edge.data.bodyframe import FRAMES
from edge.errors import FoleyEdgeError


class ModelConfigError(FoleyEdgeError, ValueError):
    """A model configuration is inconsistent or a config file is malformed."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of an encoder/decoder pair and of the streaming windows it is trained on."""

    kind: str = "student"  # "teacher" or "student"
    fps: float = 22.0  # keypoint frame rate the model expects
    window_frames: int = 44  # W: frames the encoder sees (2 s at 22 fps)
    hop_frames: int = 22  # H: frames per decoding hop (1 s at 22 fps); the window's tail
    gcn_channels: tuple[int, ...] = (8, 16, 32)  # output channels of each ST-GCN block
    gcn_strides: tuple[int, ...] = (2, 2, 1)  # temporal stride of each block (early: SRAM)
    temporal_kernel: int = 3  # length of the valid (causal) temporal convolutions
    motion_gain: float = 8.0  # velocity features: gain on frame-to-frame motion (0: positions only)
    input_frame: str = "body"  # keypoints as the model reads them: "body" frame or "image" as given
    joint_groups: int = 4  # learned pooling of the 65 joints into this many groups
    d_model: int = 64  # decoder width (and memory width)
    heads: int = 4  # attention heads (d_model % heads == 0)
    layers: int = 2  # decoder layers, each with self- and cross-attention
    ffn: int = 128  # feed-forward hidden width
    max_tokens: int = 64  # L: decoder positions per hop (SOS + events)
    mask_value: float = -16.0  # additive attention mask; small so int8 scales survive
    dropout: float = 0.1  # dropout during training only
    quant_noise: bool = False  # training only: int8 rounding noise on activations (QuantNoise)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.heads

    @property
    def cache_len(self) -> int:
        """Rows of the decoder step's self-attention K/V cache (L - 1)."""
        return self.max_tokens - 1

    @property
    def clock_bins(self) -> int:
        """Values of the decoder's clock (:mod:`edge.model.clock`): frames 0..H."""
        return self.hop_frames + 1

    @property
    def input_channels(self) -> int:
        """Channels per joint entering the first graph convolution: x, y (+ vx, vy) or x, y, conf."""
        return 4 if self.motion_gain else 3

    @property
    def n_memory(self) -> int:
        """M: memory vectors the encoder emits for one window."""
        t = self.window_frames - (1 if self.motion_gain else 0)
        for s in self.gcn_strides:
            t = (t - self.temporal_kernel) // s + 1
        return t

    @property
    def hop_seconds(self) -> float:
        """Duration of one decoding hop in seconds."""
        return self.hop_frames / self.fps

    def validate(self) -> None:
        """Raise :class:`ModelConfigError` naming the first inconsistent field."""
        _check(self.kind in ("teacher", "student"), "kind", "'teacher' or 'student'", self.kind)
        _check(self.fps > 0, "fps", "> 0", self.fps)
        _check(0 < self.hop_frames <= self.window_frames, "hop_frames",
               f"in 1..window_frames={self.window_frames}", self.hop_frames)
        _check(len(self.gcn_channels) == len(self.gcn_strides) > 0, "gcn_strides",
               f"{len(self.gcn_channels)} entries (one per block)", len(self.gcn_strides))
        _check(all(c > 0 for c in self.gcn_channels), "gcn_channels", "positive", self.gcn_channels)
        _check(all(s >= 1 for s in self.gcn_strides), "gcn_strides", ">= 1", self.gcn_strides)
        _check(self.temporal_kernel >= 1, "temporal_kernel", ">= 1", self.temporal_kernel)
        _check(self.n_memory >= 1, "window_frames",
               "long enough for the convolutions to leave >= 1 memory vector",
               f"{self.window_frames} (-> {self.n_memory} vectors)")
        _check(self.input_frame in FRAMES, "input_frame", f"one of {FRAMES}", self.input_frame)
        _check(0.0 <= self.motion_gain <= 64.0, "motion_gain", "in 0..64", self.motion_gain)
        _check(self.joint_groups >= 1, "joint_groups", ">= 1", self.joint_groups)
        _check(self.heads >= 1 and self.d_model % self.heads == 0, "heads",
               f"a divisor of d_model={self.d_model}", self.heads)
        _check(self.layers >= 1, "layers", ">= 1", self.layers)
        _check(self.ffn >= 1, "ffn", ">= 1", self.ffn)
        _check(self.max_tokens >= 2, "max_tokens", ">= 2", self.max_tokens)
        _check(-30.0 <= self.mask_value <= -8.0, "mask_value", "in -30..-8 (int8-safe)",
               self.mask_value)
        _check(0.0 <= self.dropout < 1.0, "dropout", "in [0, 1)", self.dropout)


def _check(ok: bool, name: str, expected: str, found: Any) -> None:
    if not ok:
        raise ModelConfigError(f"model config field '{name}' must be {expected}, found {found!r}")


@dataclass(frozen=True)
class StudentConfig(ModelConfig):
    """The MCU student (~150 K parameters): budgets in :mod:`edge.model.budget`."""

    kind: str = "student"


@dataclass(frozen=True)
class TeacherConfig(ModelConfig):
    """The teacher, sized to train on 2 CPU cores in well under an hour."""

    kind: str = "teacher"
    gcn_channels: tuple[int, ...] = (32, 48, 64, 96)
    gcn_strides: tuple[int, ...] = (1, 2, 1, 2)
    joint_groups: int = 8
    d_model: int = 128
    layers: int = 3
    ffn: int = 384


CONFIG_CLASSES: dict[str, type[ModelConfig]] = {"student": StudentConfig, "teacher": TeacherConfig}


def config_to_dict(cfg: ModelConfig) -> dict[str, Any]:
    """JSON-ready dict of ``cfg`` (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def config_from_dict(d: dict[str, Any], where: str = "<config>") -> ModelConfig:
    """Build and validate a :class:`ModelConfig` from a dict; unknown keys are an error."""
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ModelConfigError(f"{where}: unknown model config keys {unknown} (known: {sorted(known)})")
    kw = {k: tuple(int(x) for x in v) if isinstance(v, list) else v for k, v in d.items()}
    kw.setdefault("input_frame", "image")  # written before the body frame existed
    kind = str(kw.get("kind", "student"))
    if kind not in CONFIG_CLASSES:
        raise ModelConfigError(f"{where}: field 'kind' must be 'teacher' or 'student', found {kind!r}")
    try:
        cfg = CONFIG_CLASSES[kind](**kw)
        cfg.validate()
    except (TypeError, ModelConfigError) as e:
        raise ModelConfigError(f"{where}: {e}") from e
    return cfg


def load_config(path: str | os.PathLike[str]) -> ModelConfig:
    """Read a model config from a JSON file (the ``model`` entry of a run's config.json)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ModelConfigError(f"{path}: no such config file") from e
    except json.JSONDecodeError as e:
        raise ModelConfigError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ModelConfigError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return config_from_dict(data.get("model", data), str(path))
