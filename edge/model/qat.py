"""Quantization-aware training: the int8 export's rounding, simulated in the training graph only.

What the converter (``export/int8/convert.py``) does, and how each part is simulated:

* **Weights.** FULLY_CONNECTED and CONV_2D weights are int8, symmetric, per output channel:
  ``scale = max|w| / 127``, codes in ``[-127, 127]``. The converter first folds constants into
  them: a LayerNorm's ``gamma`` into the Dense that reads the norm (``(n·γ + β) W = n (γ ⊙ W) +
  β W``), the body65 adjacency into the graph aggregation's edge importance. So the weight it
  rounds is ``f ⊙ w`` (``f``: the folded multiplier), and the simulated weight is
  ``Q(f ⊙ w) / f``. Embedding tables read by GATHER (tokens, decoder clock) are int8 per
  tensor, asymmetric over ``[min(0, min), max(0, max)]``. :func:`quantized_weights` finds them
  all in a built training graph (:class:`WeightQuant`); the training loop swaps the rounded
  values in for the forward and backward pass and applies the gradient to the float values
  (straight-through estimator).
* **Activations.** Every op output is int8, per tensor, asymmetric, over the range calibrated
  on real activations (min/max, widened to include 0). :class:`FakeQuant` layers sit where
  :func:`edge.model.layers.quant_noise` puts its noise (every block output, projection,
  attention score and probability, residual sum, norm and the logits) and round to the range
  :func:`calibrate` measured on the float graph (``tf.quantization.fake_quant_with_min_max_vars``:
  straight-through inside the range, zero gradient outside).

* **LayerNorm internals** (optional, :func:`simulate_norms`; ``foley-edge qat
  --simulate-norms``): the converter makes every tensor of a norm int8 — the mean, the squared
  differences, the variance, variance + eps, its RSQRT, the centred input and the pre-gamma
  product — each over its own calibrated range. The squared differences' range is set by the
  largest one, so most of them are a fraction of one step and the variance comes out a few per
  cent off (``foley-edge export --diagnose``: the norms' MEAN tensors are among the largest error
  jumps). :class:`NormQuant` rounds all seven — the centred input on the normalised output's
  range where that is wider, as the converter does; where the norm feeds only Dense layers
  (gamma and beta folded into them) the post-gamma rounding the hook would add is bypassed, as
  the converted graph has no such tensor.

Not simulated (measured in the export's margins instead): the encoder memory positions folded
into a bias, TFLite's fixed softmax output scale 1/256 (calibration gives ~1/255); without
``--simulate-norms`` the norms' internals, and the norm output rounded after gamma instead of
before.

Training only: :class:`FakeQuant` is the identity unless ``training`` is true, and
:func:`edge.model.build.build_models` only puts it in the training graph; the encoder and
decoder-step models the export converts are unchanged. Its range lives outside Keras' weight
tracking, so a QAT run's weights file is an ordinary run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from edge.errors import FoleyEdgeError
from edge.model.layers import AddPositions, GraphAggregate, LayerNorm, QuantNoise, TableGather

INT8_LEVELS = 255
"""Steps of an int8 activation range (256 codes)."""
WEIGHT_MAX_CODE = 127
"""Largest |code| of a symmetric per-channel int8 weight (narrow range, as the converter)."""


class QatError(FoleyEdgeError, ValueError):
    """Quantization-aware training cannot be set up on this graph or data."""


class _Range:
    """The [low, high] of one activation's int8 range, as two variables Keras does not track
    (a plain object: its variables stay out of ``model.weights`` and the weights file)."""

    def __init__(self) -> None:
        self.low = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self.high = tf.Variable(1.0, trainable=False, dtype=tf.float32)
        self.calibrated = False

    def set(self, low: float, high: float) -> None:
        """Set the range to ``[min(low, 0), max(high, 0)]`` (int8 represents 0 exactly)."""
        lo, hi = min(float(low), 0.0), max(float(high), 0.0)
        if hi - lo < 1e-6:
            hi = lo + 1e-6
        self.low.assign(lo)
        self.high.assign(hi)
        self.calibrated = True


@keras.saving.register_keras_serializable("foley_edge")
class FakeQuant(keras.layers.Layer):
    """Training only: ``x`` rounded to its calibrated per-tensor int8 range (identity at
    inference, so graphs built for export are unchanged)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.range = _Range()
        # True where the converted graph has no such tensor: a LayerNorm's output whose gamma
        # and beta are folded into the Dense layers reading it (see simulate_norms)
        self.bypass = False

    def call(self, x: Any, training: bool | None = None) -> Any:
        if not training or self.bypass:
            return x
        return tf.quantization.fake_quant_with_min_max_vars(
            x, self.range.low, self.range.high, num_bits=8, narrow_range=False)


CENTRED, NORMALISED = 5, 6
"""Indices of ``x - mean`` and ``(x - mean) · rsqrt(var + eps)`` in :attr:`LayerNorm.INTERNALS`."""


class NormQuant:
    """Training only: a :class:`LayerNorm`'s internal tensors (:attr:`LayerNorm.INTERNALS`)
    rounded to their own calibrated per-tensor int8 ranges, as the converter makes them.

    Set as the norm's ``internals`` hook by :func:`simulate_norms`. While :attr:`recording`
    (eager calibration passes only) it widens each range to the values it sees instead.
    """

    def __init__(self) -> None:
        self.ranges = [_Range() for _ in LayerNorm.INTERNALS]
        self.recording = False
        self._seen = np.array([[np.inf, -np.inf]] * len(self.ranges))

    def __call__(self, i: int, t: Any, training: bool | None) -> Any:
        if self.recording:
            if not tf.executing_eagerly():
                raise QatError("LayerNorm internals: calibration must run eagerly")
            self._seen[i] = (min(self._seen[i][0], float(tf.reduce_min(t))),
                             max(self._seen[i][1], float(tf.reduce_max(t))))
            return t
        if not training:
            return t
        r = self.ranges[i]
        return tf.quantization.fake_quant_with_min_max_vars(t, r.low, r.high, num_bits=8,
                                                            narrow_range=False)

    def start(self) -> None:
        """Begin a calibration pass: forget the values seen so far and record."""
        self._seen[:] = (np.inf, -np.inf)
        self.recording = True

    def finish(self) -> None:
        """End the calibration pass: every range becomes what was seen, except the centred
        input's, which takes the normalised output's when that one is wider (the converter's
        choice: its SUB then shares the scale and zero point of the MUL after it)."""
        self.recording = False
        seen = self._seen.copy()
        if not np.isfinite(seen).all():
            raise QatError("LayerNorm internals: the calibration pass did not reach this norm")
        widths = [max(hi, 0.0) - min(lo, 0.0) for lo, hi in seen]
        if widths[NORMALISED] > widths[CENTRED]:
            seen[CENTRED] = seen[NORMALISED]
        for r, (lo, hi) in zip(self.ranges, seen, strict=True):
            r.set(lo, hi)


def _consumers(layer: Any) -> list[Any]:
    """The layers reading ``layer``'s output in its functional graph."""
    return [node.operation for node in layer._outbound_nodes]  # noqa: SLF001 - Keras 3 graph


def simulate_norms(model: Any) -> list[NormQuant]:
    """Round every :class:`LayerNorm`'s internals in ``model``'s training passes, as the
    converter's MEAN / SQUARED_DIFFERENCE / MEAN / ADD / RSQRT / SUB / MUL tensors (one
    :class:`NormQuant` each; ranges set by :func:`calibrate`). Where a norm's output reaches only
    Dense layers the converter folds ``gamma`` and ``beta`` into them, so its last int8 tensor
    is the pre-gamma product: the :class:`FakeQuant` on the post-gamma output is bypassed.
    Returns the hooks (the norms keep them: these layers are shared with the export's graphs,
    where ``training`` is off and the hooks do nothing)."""
    hooks = []
    for layer in model.layers:
        if isinstance(layer, LayerNorm):
            layer.internals = NormQuant()
            hooks.append(layer.internals)
        elif isinstance(layer, FakeQuant) and isinstance(_producer(layer), LayerNorm):
            if all(isinstance(c, keras.layers.Dense) for c in _consumers(layer)):
                layer.bypass = True
    if not hooks:
        raise QatError(f"model '{model.name}': no LayerNorm to simulate")
    return hooks


def fake_quant(x: Any) -> Any:
    """The training graph's activation hook (see :func:`edge.model.build.build_models`): a fresh
    :class:`FakeQuant` on ``x``."""
    return FakeQuant()(x)


def quantize_per_channel(w: Any, fold: Any = None) -> Any:
    """``w`` as the converter stores it, dequantized: ``Q(f ⊙ w) / f`` with ``Q`` symmetric int8
    per output channel (last axis), ``scale = max|f ⊙ w| / 127``; ``f`` (``fold``, broadcast
    against ``w``) is the multiplier the converter folds in first (None: 1). Where ``f`` is 0 the
    weight has no effect and is returned unchanged."""
    w = tf.convert_to_tensor(w, tf.float32)
    f = None if fold is None else tf.broadcast_to(tf.convert_to_tensor(fold, tf.float32), tf.shape(w))
    p = w if f is None else w * f
    axes = list(range(len(w.shape) - 1))
    scale = tf.reduce_max(tf.abs(p), axis=axes, keepdims=True) * (1.0 / WEIGHT_MAX_CODE)
    scale = tf.where(scale > 0, scale, tf.ones_like(scale))
    q = tf.clip_by_value(tf.round(p / scale), -WEIGHT_MAX_CODE, WEIGHT_MAX_CODE) * scale
    if f is None:
        return q
    nonzero = tf.abs(f) > 1e-12
    return tf.where(nonzero, q / tf.where(nonzero, f, tf.ones_like(f)), w)


def quantize_per_tensor(w: Any) -> Any:
    """``w`` rounded to one asymmetric int8 range ``[min(0, min w), max(0, max w)]`` (GATHER
    tables)."""
    w = tf.convert_to_tensor(w, tf.float32)
    lo, hi = tf.minimum(tf.reduce_min(w), 0.0), tf.maximum(tf.reduce_max(w), 0.0)
    return tf.quantization.fake_quant_with_min_max_vars(w, lo, tf.maximum(hi, lo + 1e-6),
                                                        num_bits=8, narrow_range=False)


@dataclass(frozen=True)
class WeightQuant:
    """One weight the converter stores as int8, and how."""

    variable: Any  # the float weight (kept as the optimizer's shadow copy)
    fold: Any  # what the converter multiplies in first (a LayerNorm's gamma, the adjacency), or None
    fold_shape: tuple[int, ...]  # shape ``fold`` is reshaped to before broadcasting against the weight
    per_channel: bool  # symmetric per output channel; False: asymmetric per tensor (GATHER tables)

    def quantized(self) -> Any:
        """The weight's int8 value, dequantized (a tensor; graph-safe)."""
        if not self.per_channel:
            return quantize_per_tensor(self.variable)
        fold = None if self.fold is None else tf.reshape(tf.convert_to_tensor(self.fold), self.fold_shape)
        return quantize_per_channel(self.variable, fold)


_PASS_THROUGH = (FakeQuant, QuantNoise, keras.layers.Dropout)
"""Layers that do not change values at inference: looked through to find a Dense's producer."""


def _producer(layer: Any) -> Any:
    """The layer whose output feeds ``layer``'s first input (looking through pass-through
    layers), or None."""
    node = layer._inbound_nodes[0]  # noqa: SLF001 - Keras 3 functional graph
    tensors = node.input_tensors
    while tensors:
        op = tensors[0]._keras_history.operation  # noqa: SLF001
        if not isinstance(op, _PASS_THROUGH):
            return op
        tensors = op._inbound_nodes[0].input_tensors  # noqa: SLF001
    return None


def _gathers(layer: Any) -> bool:
    """Whether an :class:`AddPositions` is called with explicit positions (a GATHER of its table)."""
    return len(layer._inbound_nodes[0].input_tensors) > 1  # noqa: SLF001


def quantized_weights(model: Any) -> list[WeightQuant]:
    """Every weight of the functional ``model`` that the int8 export stores as int8, with the
    converter's folding (see the module doc)."""
    out: list[WeightQuant] = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            prod = _producer(layer) if isinstance(layer, keras.layers.Dense) else None
            if isinstance(prod, LayerNorm):
                out.append(WeightQuant(layer.kernel, prod.gamma, (-1, 1), per_channel=True))
            else:
                out.append(WeightQuant(layer.kernel, None, (), per_channel=True))
        elif isinstance(layer, GraphAggregate):
            out.append(WeightQuant(layer.importance, layer.adjacency,
                                   tuple(layer.adjacency.shape), per_channel=True))
        elif isinstance(layer, TableGather) or (isinstance(layer, AddPositions) and _gathers(layer)):
            out.append(WeightQuant(layer.table, None, (), per_channel=False))
    return out


def fake_quant_layers(model: Any) -> list[FakeQuant]:
    """The :class:`FakeQuant` layers of ``model`` in graph order."""
    return [layer for layer in model.layers if isinstance(layer, FakeQuant)]


def calibrate(model: Any, keypoints: np.ndarray, inputs: np.ndarray, batch: int = 16) -> int:
    """Set every :class:`FakeQuant` range of ``model`` (and every :class:`NormQuant`'s, see
    :func:`simulate_norms`) to the min/max of its input over the windows ``keypoints
    [N,W,65,3]`` / ``inputs [N,L]``, run as inference (no rounding, no dropout) — what the
    converter's calibration sees. Returns the number of ranges set.
    Cost: one forward pass over the windows."""
    layers = fake_quant_layers(model)
    if not layers:
        raise QatError(f"model '{model.name}': no FakeQuant layers to calibrate (was it built "
                       "with the fake-quant hook?)")
    if len(keypoints) == 0 or len(keypoints) != len(inputs):
        raise QatError(f"calibration: expected N >= 1 windows with as many token rows, found "
                       f"{len(keypoints)} windows and {len(inputs)} token rows")
    probe = keras.Model(model.inputs, [layer.input for layer in layers])
    norms = [layer.internals for layer in model.layers
             if isinstance(layer, LayerNorm) and isinstance(layer.internals, NormQuant)]
    low = np.full(len(layers), np.inf)
    high = np.full(len(layers), -np.inf)
    for n in norms:
        n.start()
    try:
        for a in range(0, len(keypoints), batch):
            outs = probe([keypoints[a : a + batch], inputs[a : a + batch]], training=False)
            for i, t in enumerate(outs):
                low[i] = min(low[i], float(tf.reduce_min(t)))
                high[i] = max(high[i], float(tf.reduce_max(t)))
    finally:
        for n in norms:
            n.recording = False
    for n in norms:
        n.finish()
    for layer, lo, hi in zip(layers, low, high, strict=True):
        layer.range.set(lo, hi)
    return len(layers) + len(norms) * len(LayerNorm.INTERNALS)


def swap_in(weights: Sequence[WeightQuant]) -> list[Any]:
    """Assign each weight its int8 value; returns the float values to :func:`swap_out` (graph-safe)."""
    saved = [tf.identity(w.variable) for w in weights]
    for w in weights:
        w.variable.assign(w.quantized())
    return saved


def swap_out(weights: Sequence[WeightQuant], saved: Sequence[Any]) -> None:
    """Restore the float values :func:`swap_in` returned."""
    for w, v in zip(weights, saved, strict=True):
        w.variable.assign(v)


def input_step(keypoints: np.ndarray) -> float:
    """The int8 keypoint input's scale the converter derives from these calibration windows:
    ``(max - min(0, min)) / 255``."""
    lo, hi = min(float(np.min(keypoints)), 0.0), max(float(np.max(keypoints)), 0.0)
    return (hi - lo) / INT8_LEVELS
