"""Build the three weight-sharing Keras models of a teacher or a student.

``build_models(cfg) -> Models(train, encoder, step)``:

* ``train``: inputs ``keypoints [B,W,65,3]`` float32 and ``tokens [B,L]`` int32 (SOS + events,
  PAD after EOS); output ``logits [B,L,243]``. Used for training, distillation, teacher forcing.
* ``encoder``: input ``keypoints``; outputs ``cross_k{i}``, ``cross_v{i}`` ``[B,M,d]`` per layer
  (run once per hop).
* ``step``: inputs ``token [B,1]`` int32, ``position [B,1]`` int32, ``mask [B,L]`` float32,
  ``cache_k{i}``/``cache_v{i}`` ``[B,L-1,d]`` and ``cross_k{i}``/``cross_v{i}`` ``[B,M,d]``;
  outputs ``logits [B,243]`` and ``new_k{i}``/``new_v{i}`` ``[B,1,d]``.

All three are functional Keras 3 models built from the same layer objects, so they share every
weight; loading weights into ``train`` updates the other two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import keras

from edge.model.config import ModelConfig, StudentConfig, TeacherConfig
from edge.model.decoder import decode_full, decode_step, make_decoder_layers
from edge.model.encoder import cross_kv, encode, keypoint_input, make_encoder_layers
from edge.model.layers import quant_noise


class Models(NamedTuple):
    """The training graph, the per-hop encoder and the per-token decoder step."""

    train: keras.Model  # (keypoints, tokens) -> logits [B, L, 243]
    encoder: keras.Model  # keypoints -> cross K/V per decoder layer
    step: keras.Model  # one token with an explicit KV cache -> logits, new K/V rows


def cache_names(cfg: ModelConfig, stem: str) -> list[str]:
    """``[stem_k0, stem_v0, stem_k1, ...]`` for the ``cfg.layers`` layers (stem: cache/cross/new)."""
    return [f"{stem}_{kv}{i}" for i in range(cfg.layers) for kv in "kv"]


def build_models(cfg: ModelConfig, batch_size: int | None = None, *,
                 train_activations: Callable[[Any], Any] | None = None) -> Models:
    """The three models of ``cfg`` sharing one set of weights (names prefixed by ``cfg.kind``).

    ``train_activations`` wraps every activation of the training graph only (replacing
    ``cfg.quant_noise``'s noise), e.g. :func:`edge.model.qat.fake_quant` for quantization-aware
    training; the encoder and step models never carry it.

    ``batch_size=1`` gives fully static shapes, which int8 conversion needs (a free batch
    dimension turns every reshape into SHAPE/REDUCE_PROD/PACK ops that TFLM lacks); copy the
    weights over with ``set_weights``.
    """
    cfg.validate()
    prefix = f"{cfg.kind}_"
    enc = make_encoder_layers(cfg, prefix)
    dec = make_decoder_layers(cfg, prefix)
    d, m = cfg.d_model, cfg.n_memory

    kp = keypoint_input(cfg, batch_size)
    tokens = keras.Input((cfg.max_tokens,), batch_size, dtype="int32", name="tokens")
    qn = train_activations or quant_noise(cfg.quant_noise)  # training graph only: export models stay clean
    memory = encode(enc, kp, cfg.motion_gain, qn)
    logits = decode_full(dec, tokens, cross_kv(enc, memory, qn), cfg, qn)
    train = keras.Model([kp, tokens], logits, name=f"{cfg.kind}_train")

    kp2 = keypoint_input(cfg, batch_size)
    cross = cross_kv(enc, encode(enc, kp2, cfg.motion_gain))
    encoder = keras.Model(kp2, dict(zip(cache_names(cfg, "cross"), cross, strict=True)),
                          name=f"{cfg.kind}_encoder")

    inputs: dict[str, Any] = {
        "token": keras.Input((1,), batch_size, dtype="int32", name="token"),
        "position": keras.Input((1,), batch_size, dtype="int32", name="position"),
        "mask": keras.Input((cfg.max_tokens,), batch_size, dtype="float32", name="mask"),
    }
    for name in cache_names(cfg, "cache"):
        inputs[name] = keras.Input((cfg.cache_len, d), batch_size, dtype="float32", name=name)
    for name in cache_names(cfg, "cross"):
        inputs[name] = keras.Input((m, d), batch_size, dtype="float32", name=name)
    step_logits, rows = decode_step(
        dec, inputs["token"], inputs["position"], inputs["mask"],
        [inputs[n] for n in cache_names(cfg, "cache")],
        [inputs[n] for n in cache_names(cfg, "cross")], cfg,
    )
    outputs = {"logits": step_logits, **dict(zip(cache_names(cfg, "new"), rows, strict=True))}
    step = keras.Model(list(inputs.values()), outputs, name=f"{cfg.kind}_decoder_step")
    return Models(train, encoder, step)


def build_student_models(cfg: StudentConfig | None = None) -> Models:
    """The student's ``(train_model, encoder_model, decoder_step_model)``."""
    cfg = cfg or StudentConfig()
    if cfg.kind != "student":
        raise TypeError(f"build_student_models needs a student config, found kind={cfg.kind!r}")
    return build_models(cfg)


def build_teacher_models(cfg: TeacherConfig | None = None) -> Models:
    """The teacher's ``(train_model, encoder_model, decoder_step_model)``."""
    cfg = cfg or TeacherConfig()
    if cfg.kind != "teacher":
        raise TypeError(f"build_teacher_models needs a teacher config, found kind={cfg.kind!r}")
    return build_models(cfg)
