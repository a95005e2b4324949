"""Small Keras 3 layers that convert to the int8 ops TFLite Micro runs (PLATFORM.md).

* :class:`TableGather` — embeddings by ``tf.gather`` (Keras ``Embedding`` adds SELECT, which
  TFLM lacks).
* :class:`AddPositions` — a learned position table added to a sequence, or gathered by an
  explicit position index (the decoder step).
* :class:`LayerNorm` — MEAN, SQUARED_DIFFERENCE, RSQRT, MUL, ADD only.
* :class:`GraphAggregate` — the ST-GCN spatial aggregation over the body65 partition adjacency
  with learnable edge importance, as one matrix product over the joint axis (FULLY_CONNECTED or
  BATCH_MATMUL after conversion; ``A * importance`` folds into a constant).

Every division by a constant is a multiplication by its reciprocal (RealDiv is not in TFLM).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from edge.skeleton import N_JOINTS, partition_adjacency


@keras.saving.register_keras_serializable("foley_edge")
class TableGather(keras.layers.Layer):
    """Rows of a learned ``[rows, dim]`` table picked by int32 ids: ``table[ids]``."""

    def __init__(self, rows: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows, self.dim = rows, dim

    def build(self, input_shape: Any) -> None:
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.table = self.add_weight(name="table", shape=(self.rows, self.dim), initializer=init)

    def call(self, ids: Any) -> Any:
        return tf.gather(self.table, tf.cast(ids, tf.int32))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rows": self.rows, "dim": self.dim}


@keras.saving.register_keras_serializable("foley_edge")
class AddPositions(keras.layers.Layer):
    """``x + P[0:len]`` for a whole sequence, or ``x + P[positions]`` for one decoder step."""

    def __init__(self, length: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length, self.dim = length, dim

    def build(self, *shapes: Any) -> None:
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.table = self.add_weight(name="table", shape=(self.length, self.dim), initializer=init)

    def call(self, x: Any, positions: Any = None) -> Any:
        if positions is None:
            return x + self.table[None, : x.shape[1], :]
        return x + tf.gather(self.table, tf.cast(positions, tf.int32))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "length": self.length, "dim": self.dim}


@keras.saving.register_keras_serializable("foley_edge")
class LayerNorm(keras.layers.Layer):
    """Layer normalisation over the last axis written with TFLM-friendly ops only."""

    INTERNALS = ("mean", "squared_difference", "variance", "variance_eps", "rsqrt", "centred",
                 "normalised")
    """The tensors :meth:`call` makes before ``gamma`` and ``beta``, in order: each is one int8
    tensor of the converted graph (MEAN, SQUARED_DIFFERENCE, MEAN, ADD, RSQRT, SUB, MUL)."""

    def __init__(self, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = epsilon
        # quantization-aware training only (edge.model.qat.NormQuant): called on each of
        # INTERNALS as ``internals(i, tensor, training)``; None (the default) leaves them exact
        self.internals: Any = None

    def build(self, input_shape: Any) -> None:
        d = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(d,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(d,), initializer="zeros")

    def call(self, x: Any, training: bool | None = None) -> Any:
        hook = self.internals

        def q(i: int, t: Any) -> Any:
            return t if hook is None else hook(i, t, training)

        mean = q(0, tf.reduce_mean(x, axis=-1, keepdims=True))
        var = q(2, tf.reduce_mean(q(1, tf.math.squared_difference(x, mean)), axis=-1, keepdims=True))
        inv = q(4, tf.math.rsqrt(q(3, var + self.epsilon)))
        return q(6, q(5, x - mean) * inv) * self.gamma + self.beta

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable("foley_edge")
class QuantNoise(keras.layers.Layer):
    """Training only: ``x`` plus the rounding noise of a per-tensor int8 quantization of ``x``.

    ``x + u · (max x − min x) / 255`` with ``u ~ U(−½, ½)`` (the step is not differentiated):
    the model learns to keep its decisions apart by more than the int8 export's rounding.
    Identity at inference, so exported graphs are unchanged.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._gen = keras.random.SeedGenerator(seed)

    def call(self, x: Any, training: bool | None = None) -> Any:
        if not training:
            return x
        step = keras.ops.stop_gradient((keras.ops.max(x) - keras.ops.min(x)) / 255.0)
        return x + keras.random.uniform(keras.ops.shape(x), -0.5, 0.5, seed=self._gen) * step

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def identity(x: Any) -> Any:
    """``x`` unchanged (no noise, no dropout)."""
    return x


def quant_noise(enabled: bool) -> Any:
    """A function adding :class:`QuantNoise` (a fresh layer per call) when ``enabled``, else
    :func:`identity`."""
    if not enabled:
        return identity
    return lambda x: QuantNoise()(x)


def _aggregation_matrix(adjacency: np.ndarray) -> np.ndarray:
    """[V, V*K] with column ``w*K + k`` = ``A[k, :, w]`` (so a reshape groups by joint)."""
    k, v, _ = adjacency.shape
    return np.transpose(adjacency, (1, 2, 0)).reshape(v, v * k)


@keras.saving.register_keras_serializable("foley_edge")
class GraphAggregate(keras.layers.Layer):
    """ST-GCN spatial aggregation: ``[B,T,V,C] -> [B,T,V,K*C]``, ``y[w,(k,c)] = Σ_v x[v,c]·Â_k[v,w]``.

    ``Â_k = A_k ⊙ M_k`` with ``A`` the normalised body65 partition (K = 3 subsets) and ``M`` the
    learnable edge importance (initialised to ones, as in ST-GCN). A Dense layer after this one
    applies the per-subset weights ``W_k`` (aggregating first keeps the widest intermediate at
    K·C_in channels, small for the 3-channel input). Steps: transpose joints last, one matrix
    product with the [V, V·K] aggregation matrix, transpose back, reshape. O(T·C·V²·K) MACs.
    """

    def build(self, input_shape: Any) -> None:
        a = partition_adjacency()
        self.subsets = int(a.shape[0])
        self.adjacency = tf.constant(_aggregation_matrix(a))
        self.importance = self.add_weight(
            name="edge_importance", shape=(N_JOINTS, N_JOINTS * self.subsets), initializer="ones"
        )

    def call(self, x: Any) -> Any:
        _, t, v, c = x.shape
        xt = tf.transpose(x, (0, 1, 3, 2))  # [B, T, C, V]
        y = tf.matmul(xt, self.adjacency * self.importance)  # [B, T, C, V*K]
        y = tf.transpose(y, (0, 1, 3, 2))  # [B, T, V*K, C]
        return tf.reshape(y, (-1, t, v, self.subsets * c))
