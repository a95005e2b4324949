"""The Transformer decoder, as a full-sequence graph (training) and a single-step graph (device).

Both graphs are built from the same layer objects, so they share every weight. Pre-LN layers:
``h = x + SelfAttn(LN1 x)``; ``h = h + CrossAttn(LN2 h, memory K/V)``; ``h = h + FFN(LN3 h)``;
logits = ``Dense(LN h)``.

Masking, identical in both graphs so the step reproduces the full forward exactly: scores of a
masked key are *replaced* (``s·keep + mask``) by ``mask_value`` (−16: small, int8-safe), never
just offset. The mask alone is not causal: a head whose unmasked scores all fall below
``mask_value`` would put its weight on the masked (future) keys, and training learns exactly
that (it copies the next tokens under teacher forcing and then fails to generate). So the
probabilities are also multiplied by ``keep`` after the softmax: a masked key gets exactly zero
weight. In the full graph ``keep`` is the causal lower triangle. In the step graph the keys
are the ``L-1`` cache rows plus the current row (exactly ``L`` keys, like the full graph's row
``p``); the caller passes the additive mask ``[B, L]``: 0 for cache rows ``< p`` and for the last
(current) slot, ``mask_value`` for cache rows ``>= p``; ``keep = 1 - mask/mask_value`` is derived
from it in the graph (a MUL and an ADD). Scaling by ``1/sqrt(head_dim)`` is a multiplication.
The step returns the current row's K and V per layer; the caller writes them to cache row ``p``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from edge import vocab
from edge.model.clock import clock_graph
from edge.model.config import ModelConfig
from edge.model.layers import AddPositions, LayerNorm, TableGather, identity


@dataclass(frozen=True)
class AttentionLayers:
    """Q/K/V/O projections of one attention block."""

    q: keras.layers.Dense  # query projection
    k: keras.layers.Dense  # key projection (unused for cross-attention: the encoder owns it)
    v: keras.layers.Dense  # value projection (idem)
    o: keras.layers.Dense  # output projection


@dataclass(frozen=True)
class DecoderLayer:
    """One pre-LN decoder layer."""

    norm_self: LayerNorm  # before self-attention
    self_attn: AttentionLayers  # causal self-attention
    norm_cross: LayerNorm  # before cross-attention
    cross_q: keras.layers.Dense  # cross-attention query projection
    cross_o: keras.layers.Dense  # cross-attention output projection
    norm_ffn: LayerNorm  # before the feed-forward block
    ffn_in: keras.layers.Dense  # d -> ffn, ReLU
    ffn_out: keras.layers.Dense  # ffn -> d


@dataclass(frozen=True)
class DecoderLayers:
    """Every layer of the decoder."""

    tokens: TableGather  # token embedding [243, d]
    positions: AddPositions  # position embedding [L, d]
    layers: tuple[DecoderLayer, ...]  # the decoder layers
    norm: LayerNorm  # final normalisation
    logits: keras.layers.Dense  # d -> 243
    dropout: keras.layers.Dropout  # training-time dropout (identity at inference)


def make_decoder_layers(cfg: ModelConfig, prefix: str) -> DecoderLayers:
    """Create (unbuilt) decoder layers for ``cfg``; names start with ``prefix``."""
    d = cfg.d_model

    def dense(name: str, units: int = d, act: str | None = None) -> keras.layers.Dense:
        return keras.layers.Dense(units, activation=act, name=f"{prefix}{name}")

    layers = tuple(
        DecoderLayer(
            norm_self=LayerNorm(name=f"{prefix}dec{i}_norm_self"),
            self_attn=AttentionLayers(*(dense(f"dec{i}_self_{n}") for n in "qkvo")),
            norm_cross=LayerNorm(name=f"{prefix}dec{i}_norm_cross"),
            cross_q=dense(f"dec{i}_cross_q"),
            cross_o=dense(f"dec{i}_cross_o"),
            norm_ffn=LayerNorm(name=f"{prefix}dec{i}_norm_ffn"),
            ffn_in=dense(f"dec{i}_ffn_in", cfg.ffn, "relu"),
            ffn_out=dense(f"dec{i}_ffn_out"),
        )
        for i in range(cfg.layers)
    )
    return DecoderLayers(
        tokens=TableGather(vocab.VOCAB_SIZE, d, name=f"{prefix}token_embedding"),
        positions=AddPositions(cfg.clock_bins, d, name=f"{prefix}clock_embedding"),
        layers=layers,
        norm=LayerNorm(name=f"{prefix}dec_norm"),
        logits=dense("logits", vocab.VOCAB_SIZE),
        dropout=keras.layers.Dropout(cfg.dropout, name=f"{prefix}dec_dropout"),
    )


def _heads(x: Any, cfg: ModelConfig) -> Any:
    """[B, T, d] -> [B, h, T, dh]."""
    t = x.shape[1]
    return keras.ops.transpose(keras.ops.reshape(x, (-1, t, cfg.heads, cfg.head_dim)), (0, 2, 1, 3))


def _merge(x: Any, cfg: ModelConfig) -> Any:
    """[B, h, T, dh] -> [B, T, d]."""
    t = x.shape[2]
    return keras.ops.reshape(keras.ops.transpose(x, (0, 2, 1, 3)), (-1, t, cfg.d_model))


def _attend(q: Any, k: Any, v: Any, cfg: ModelConfig, keep: Any = None, add: Any = None,
            qn: Callable[[Any], Any] = identity) -> Any:
    """Multi-head attention of projected ``q [B,Tq,d]`` over ``k, v [B,Tk,d]`` -> ``[B,Tq,d]``."""
    qh = _heads(q * np.float32(1.0 / np.sqrt(cfg.head_dim)), cfg)
    scores = qn(keras.ops.matmul(qh, keras.ops.transpose(_heads(k, cfg), (0, 1, 3, 2))))
    probs = qn(keras.ops.softmax(scores if keep is None else scores * keep + add, axis=-1))
    if keep is not None:
        probs = probs * keep  # exact causality: no weight on a masked key, however low the rest
    return qn(_merge(keras.ops.matmul(probs, _heads(v, cfg)), cfg))


def _layer(
    layer: DecoderLayer, x: Any, cross: tuple[Any, Any], cfg: ModelConfig, self_kv: Any,
    drop: Callable[[Any], Any], qn: Callable[[Any], Any] = identity,
) -> Any:
    """One decoder layer; ``self_kv(h) -> (k, v, keep, add)`` supplies the self-attention keys;
    ``qn``: training-only int8 rounding noise on each activation."""
    h = qn(layer.norm_self(x))
    k, v, keep, add = self_kv(h)
    att = _attend(qn(layer.self_attn.q(h)), qn(k), qn(v), cfg, keep, add, qn)
    x = qn(x + drop(qn(layer.self_attn.o(att))))
    h = qn(layer.norm_cross(x))
    att = _attend(qn(layer.cross_q(h)), cross[0], cross[1], cfg, qn=qn)
    x = qn(x + drop(qn(layer.cross_o(att))))
    h = qn(layer.norm_ffn(x))
    return qn(x + drop(qn(layer.ffn_out(qn(layer.ffn_in(h))))))


def decode_full(dec: DecoderLayers, tokens: Any, cross: list[Any], cfg: ModelConfig,
                qn: Callable[[Any], Any] = identity) -> Any:
    """Logits ``[B, L, 243]`` for input tokens ``[B, L]`` (teacher forcing, causal); ``qn``:
    training-only int8 rounding noise on each activation."""
    length = tokens.shape[1]
    keep = np.tril(np.ones((length, length), np.float32))
    add = (1.0 - keep) * np.float32(cfg.mask_value)
    x = qn(dec.dropout(dec.positions(dec.tokens(tokens), clock_graph(tokens, cfg))))
    for i, layer in enumerate(dec.layers):
        attn = layer.self_attn

        def self_kv(h: Any, attn: AttentionLayers = attn) -> tuple[Any, Any, Any, Any]:
            return attn.k(h), attn.v(h), keep, add

        x = _layer(layer, x, (cross[2 * i], cross[2 * i + 1]), cfg, self_kv, dec.dropout, qn)
    return qn(dec.logits(qn(dec.norm(x))))


def decode_step(
    dec: DecoderLayers, token: Any, position: Any, mask: Any, caches: list[Any], cross: list[Any],
    cfg: ModelConfig,
) -> tuple[Any, list[Any]]:
    """One step: logits ``[B, 243]`` and the new rows ``[k0, v0, k1, v1, ...]`` (each ``[B,1,d]``).

    ``caches`` is ``[k0, v0, k1, v1, ...]`` with each ``[B, L-1, d]``; ``mask`` is ``[B, L]``.
    """
    add = keras.ops.reshape(mask, (-1, 1, 1, cfg.max_tokens))
    keep = add * np.float32(-1.0 / cfg.mask_value) + np.float32(1.0)
    x = dec.positions(dec.tokens(token), position)
    new_rows: list[Any] = []
    for i, layer in enumerate(dec.layers):
        attn = layer.self_attn
        ck, cv = caches[2 * i], caches[2 * i + 1]

        def self_kv(h: Any, attn: AttentionLayers = attn, ck: Any = ck, cv: Any = cv) -> Any:
            k_new, v_new = attn.k(h), attn.v(h)
            new_rows.extend([k_new, v_new])
            k = keras.ops.concatenate([ck, k_new], axis=1)
            v = keras.ops.concatenate([cv, v_new], axis=1)
            return k, v, keep, add

        x = _layer(layer, x, (cross[2 * i], cross[2 * i + 1]), cfg, self_kv, identity)
    logits = dec.logits(dec.norm(x))
    return keras.ops.reshape(logits, (-1, vocab.VOCAB_SIZE)), new_rows

