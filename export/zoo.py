"""Stock Keras int8 models for testing the compiler: built, converted and cached.

``zoo_model(name, cache_dir=None) -> Path`` returns a full-int8 ``.tflite`` (int8 inputs and
outputs, calibrated on a fixed-seed representative dataset) for one of :data:`ZOO_MODELS`:

- ``cnn``: Conv2D (stride 2, SAME), DepthwiseConv2D (VALID), 1x1 Conv2D, max and average
  pooling, zero padding, global average pooling, Dense.
- ``gcn``: an ST-GCN-style encoder on [1, 32, 13, 3] (time x joints x channels) from stock
  layers: frame differences (Cropping2D, Subtract), graph aggregation (Permute, Dense over the
  joints, Permute, Reshape, Dense), temporal Conv2D (VALID stride 2, SAME), a residual branch
  (Cropping2D, Dense, Add), DepthwiseConv2D, max and average pooling along time, global average
  pooling, Dense: the row-wise chain the planner streams in bands of time steps.
- ``mlp``: three Dense layers with ReLU and a softmax.
- ``attention``: a transformer block on [1, 16, 32]: keras MultiHeadAttention, residual,
  LayerNormalization, Dense FFN, residual, LayerNormalization.
- ``kv_decoder_step``: one step of a KV-cached decoder (PLATFORM.md): token and position int32,
  per-layer K/V caches, an additive mask, encoder memory; token/position embeddings by
  ``tf.gather`` in a custom layer, self + cross attention, FFN; outputs logits and each layer's
  new K/V row.

Models are cached under ``$FOLEY_EDGE_CACHE`` (or ``~/.cache/foley-edge/zoo``) keyed by a hash
of this module's source and the TensorFlow version, so a change to a builder rebuilds it.
TensorFlow is imported only when a model must be built.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.data.clip import write_atomic
from edge.errors import FoleyEdgeError

ZOO_MODELS: tuple[str, ...] = ("cnn", "gcn", "mlp", "attention", "kv_decoder_step")
"""Names accepted by :func:`zoo_model`."""

SEED = 1234
"""Seed of weights and of the representative dataset."""

CALIBRATION_SAMPLES = 32
"""Representative samples fed to the converter."""

# kv_decoder_step dimensions (small versions of PLATFORM.md's decoder step)
KV_VOCAB, KV_D, KV_HEADS, KV_LAYERS, KV_FFN, KV_CACHE, KV_MEMORY = 64, 32, 2, 2, 64, 16, 8


class ZooError(FoleyEdgeError, ValueError):
    """An unknown zoo model name or a failed build."""


Sample = dict[str, np.ndarray]


def _samples(draw: Callable[[np.random.Generator], Sample]) -> Callable[[], Iterator[Sample]]:
    """A representative dataset: :data:`CALIBRATION_SAMPLES` calls of ``draw`` on one generator
    seeded with :data:`SEED`, the same samples on every pass."""

    def data() -> Iterator[Sample]:
        rng = np.random.default_rng(SEED)
        for _ in range(CALIBRATION_SAMPLES):
            yield draw(rng)

    return data


def _build_cnn() -> tuple[Any, Callable[[], Iterator[Sample]]]:
    """A small CNN on [1, 24, 24, 3] with depthwise convolution, pooling and padding."""
    import keras
    from keras import layers

    x = inp = keras.Input((24, 24, 3), batch_size=1, name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="valid", activation="relu6")(x)
    x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(16, 3, padding="valid", activation="relu")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(10, name="logits")(x)
    model = keras.Model(inp, out, name="cnn")

    return model, _samples(lambda rng: {"image": rng.uniform(-1, 1, (1, 24, 24, 3)).astype(np.float32)})


def _build_gcn() -> tuple[Any, Callable[[], Iterator[Sample]]]:
    """An ST-GCN-style encoder on [1, 32, 13, 3]: two graph + temporal blocks, then pooling."""
    import keras
    from keras import layers

    frames, joints = 32, 13
    x = inp = keras.Input((frames, joints, 3), batch_size=1, name="keypoints")
    later = layers.Cropping2D(((1, 0), (0, 0)))(x)
    earlier = layers.Cropping2D(((0, 1), (0, 0)))(x)
    x = layers.Concatenate()([later, layers.Subtract()([later, earlier])])  # [1, 31, 13, 6]
    for width, stride, padding in ((12, 2, "valid"), (16, 1, "same")):
        t_in = int(x.shape[1])
        g = layers.Permute((1, 3, 2))(x)  # [T, C, V]
        g = layers.Dense(3 * joints)(g)  # three partitions of neighbours
        g = layers.Permute((1, 3, 2))(g)  # [T, 3V, C]
        g = layers.Reshape((t_in, joints, 3 * int(x.shape[-1])))(g)
        g = layers.Dense(width, activation="relu")(g)
        g = layers.Conv2D(width, (3, 1), strides=(stride, 1), padding=padding)(g)
        t_out = int(g.shape[1])
        r = layers.Cropping2D(((t_in - (t_out - 1) * stride - 1, 0), (0, 0)))(x)
        if stride > 1:
            r = layers.MaxPooling2D((1, 1), strides=(stride, 1))(r)
        x = layers.ReLU()(layers.Add()([g, layers.Dense(width)(r)]))
    x = layers.DepthwiseConv2D((3, 1), padding="same", activation="relu6")(x)
    x = layers.MaxPooling2D((2, 1), padding="same")(x)
    x = layers.AveragePooling2D((3, 1), strides=(1, 1), padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(16, name="embedding")(x)
    model = keras.Model(inp, out, name="gcn")

    def draw(rng: np.random.Generator) -> Sample:
        walk = np.cumsum(rng.normal(0, 0.05, (1, frames, joints, 3)), axis=1)
        return {"keypoints": (0.5 + walk).astype(np.float32)}

    return model, _samples(draw)


def _build_mlp() -> tuple[Any, Callable[[], Iterator[Sample]]]:
    """An MLP on [1, 32]: Dense 64 ReLU, Dense 32 ReLU, Dense 10, softmax."""
    import keras
    from keras import layers

    x = inp = keras.Input((32,), batch_size=1, name="features")
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(32, activation="relu")(x)
    out = layers.Softmax(name="probs")(layers.Dense(10)(x))
    model = keras.Model(inp, out, name="mlp")

    return model, _samples(lambda rng: {"features": rng.normal(0, 1, (1, 32)).astype(np.float32)})


def _build_attention() -> tuple[Any, Callable[[], Iterator[Sample]]]:
    """A post-norm transformer block on [1, 16, 32] with keras MultiHeadAttention."""
    import keras
    from keras import layers

    x = inp = keras.Input((16, 32), batch_size=1, name="tokens")
    a = layers.MultiHeadAttention(num_heads=4, key_dim=8)(x, x)
    x = layers.LayerNormalization(epsilon=1e-5)(layers.Add()([x, a]))
    f = layers.Dense(32)(layers.Dense(64, activation="relu")(x))
    out = layers.LayerNormalization(epsilon=1e-5, name="block_out")(layers.Add()([x, f]))
    model = keras.Model(inp, out, name="attention")

    return model, _samples(lambda rng: {"tokens": rng.normal(0, 1, (1, 16, 32)).astype(np.float32)})



def _kv_layers() -> tuple[type, type]:
    """The two custom Keras layers of the decoder step: a gather embedding and step attention."""
    import keras
    import tensorflow as tf

    class GatherEmbedding(keras.layers.Layer):
        """Row lookup by ``tf.gather`` (keras Embedding adds LESS + SELECT that TFLM lacks)."""

        def __init__(self, rows: int, dim: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.rows, self.dim = rows, dim

        def build(self, input_shape: Any) -> None:
            init = keras.initializers.RandomNormal(stddev=0.5)
            self.table = self.add_weight(shape=(self.rows, self.dim), initializer=init)

        def call(self, idx: Any) -> Any:
            return tf.gather(self.table, idx)

    class StepAttention(keras.layers.Layer):
        """Multi-head attention of one query row over S keys/values, optional additive mask."""

        def __init__(self, heads: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.heads = heads

        def _split(self, x: Any) -> Any:
            d = x.shape[-1]
            x = tf.reshape(x, (1, -1, self.heads, d // self.heads))
            return tf.transpose(x, (0, 2, 1, 3))

        def call(self, q: Any, k: Any, v: Any, mask: Any = None) -> Any:
            d = q.shape[-1]
            s = tf.matmul(self._split(q), self._split(k), transpose_b=True)
            s = s * (1.0 / float(np.sqrt(d // self.heads)))
            if mask is not None:
                s = s + tf.reshape(mask, (1, 1, 1, -1))
            p = tf.nn.softmax(s, axis=-1)
            o = tf.transpose(tf.matmul(p, self._split(v)), (0, 2, 1, 3))
            return tf.reshape(o, (1, 1, d))

    return GatherEmbedding, StepAttention


def _kv_inputs() -> dict[str, Any]:
    """The decoder step's named Keras inputs."""
    import keras

    ins = {
        "token": keras.Input((1,), batch_size=1, dtype="int32", name="token"),
        "position": keras.Input((1,), batch_size=1, dtype="int32", name="position"),
        "mask": keras.Input((1, KV_CACHE + 1), batch_size=1, name="mask"),
        "memory": keras.Input((KV_MEMORY, KV_D), batch_size=1, name="memory"),
    }
    for i in range(KV_LAYERS):
        for kv in ("k", "v"):
            ins[f"{kv}_cache_{i}"] = keras.Input((KV_CACHE, KV_D), batch_size=1, name=f"{kv}_cache_{i}")
    return ins


def _build_kv_decoder_step() -> tuple[Any, Callable[[], Iterator[Sample]]]:
    """One pre-norm decoder step with KV caches: self attention, cross attention, FFN, logits."""
    import keras
    from keras import layers

    gather, attention = _kv_layers()
    ins = _kv_inputs()
    x = layers.Add()([gather(KV_VOCAB, KV_D)(ins["token"]), gather(KV_CACHE + 1, KV_D)(ins["position"])])
    outs: dict[str, Any] = {}
    for i in range(KV_LAYERS):
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        q, k, v = (layers.Dense(KV_D)(h) for _ in range(3))
        outs[f"k_new_{i}"], outs[f"v_new_{i}"] = k, v
        keys = layers.Concatenate(axis=1)([ins[f"k_cache_{i}"], k])
        values = layers.Concatenate(axis=1)([ins[f"v_cache_{i}"], v])
        x = layers.Add()([x, layers.Dense(KV_D)(attention(KV_HEADS)(q, keys, values, ins["mask"]))])
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        mk, mv = layers.Dense(KV_D)(ins["memory"]), layers.Dense(KV_D)(ins["memory"])
        x = layers.Add()([x, layers.Dense(KV_D)(attention(KV_HEADS)(layers.Dense(KV_D)(h), mk, mv))])
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        x = layers.Add()([x, layers.Dense(KV_D)(layers.Dense(KV_FFN, activation="relu")(h))])
    logits = layers.Reshape((KV_VOCAB,), name="logits")(
        layers.Dense(KV_VOCAB)(layers.LayerNormalization(epsilon=1e-5)(x)))
    model = keras.Model(ins, {"logits": logits, **outs}, name="kv_decoder_step")

    def draw(rng: np.random.Generator) -> Sample:
        pos = int(rng.integers(0, KV_CACHE + 1))
        mask = np.full((1, 1, KV_CACHE + 1), -10.0, np.float32)
        mask[..., :pos] = 0.0
        mask[..., -1] = 0.0
        sample = {
            "token": rng.integers(0, KV_VOCAB, (1, 1)).astype(np.int32),
            "position": np.array([[pos]], np.int32),
            "mask": mask,
            "memory": rng.normal(0, 1, (1, KV_MEMORY, KV_D)).astype(np.float32),
        }
        for name in ins:
            if "_cache_" in name:
                sample[name] = rng.normal(0, 1, (1, KV_CACHE, KV_D)).astype(np.float32)
        return sample

    return model, _samples(draw)


_BUILDERS: dict[str, Callable[[], tuple[Any, Callable[[], Iterator[Sample]]]]] = {
    "cnn": _build_cnn,
    "gcn": _build_gcn,
    "mlp": _build_mlp,
    "attention": _build_attention,
    "kv_decoder_step": _build_kv_decoder_step,
}


def _signature(model: Any) -> list[Any]:
    """Static input signature (batch 1) of a functional model, keeping a dict structure."""
    import tensorflow as tf

    def spec(x: Any) -> Any:
        return tf.TensorSpec(tuple(x.shape), x.dtype, name=x.name)

    if isinstance(model.input, dict):
        return [{k: spec(v) for k, v in model.input.items()}]
    return [spec(model.input)]


def convert_int8(model: Any, data: Callable[[], Iterator[Sample]]) -> bytes:
    """Full-int8 TFLite conversion (int8 in/out, int32 inputs kept) of a functional Keras model.

    Goes through a SavedModel (``model.export``): TF 2.21's ``from_keras_model`` fails on
    Keras 3 models. The representative dataset yields dicts keyed by input name.
    """
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="foley-edge-zoo-") as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False, input_signature=_signature(model))
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = data
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        return bytes(conv.convert())


def _cache_key(name: str) -> str:
    """Hash of the builders' sources and the TensorFlow version."""
    h = hashlib.sha256(name.encode())
    h.update(inspect.getsource(sys.modules[__name__]).encode())
    from importlib.metadata import version

    h.update(version("tensorflow").encode())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$FOLEY_EDGE_CACHE/zoo`` when set, else ``~/.cache/foley-edge/zoo``."""
    env = os.environ.get("FOLEY_EDGE_CACHE")
    return Path(env) / "zoo" if env else Path.home() / ".cache" / "foley-edge" / "zoo"


def build_zoo_model(name: str) -> bytes:
    """Build and convert zoo model ``name`` (no cache): the .tflite bytes."""
    if name not in _BUILDERS:
        raise ZooError(f"unknown zoo model '{name}' (expected one of {', '.join(ZOO_MODELS)})")
    import keras

    keras.utils.clear_session()  # reset layer-name counters: same names -> same bytes
    keras.utils.set_random_seed(SEED)
    model, data = _BUILDERS[name]()
    return convert_int8(model, data)


def zoo_model(name: str, cache_dir: str | Path | None = None) -> Path:
    """Path of the cached full-int8 .tflite of zoo model ``name``, building it when missing."""
    if name not in _BUILDERS:
        raise ZooError(f"unknown zoo model '{name}' (expected one of {', '.join(ZOO_MODELS)})")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{name}-{_cache_key(name)}.tflite"
    if not path.exists():
        write_atomic(path, build_zoo_model(name))
    return path


def tiny_encoder_int8(window: int, hop: int, samples: int = 8) -> bytes:
    """The project's encoder architecture (motion front end, three ST-GCN blocks with valid
    strided temporal convolutions, joint pooling, memory, cross K/V) at a tiny size, seeded
    weights, full int8: what the streaming encoder's tests and bench test stream."""
    import keras

    from edge.model.config import TeacherConfig
    from edge.model.encoder import cross_kv, encode, keypoint_input, make_encoder_layers

    cfg = TeacherConfig(window_frames=window, hop_frames=hop, gcn_channels=(4, 8, 8),
                        gcn_strides=(2, 2, 1), d_model=16, heads=2, layers=1, ffn=16,
                        max_tokens=8, joint_groups=2, dropout=0.0)
    keras.utils.set_random_seed(5)
    layers = make_encoder_layers(cfg, "s_")
    x = keypoint_input(cfg, batch_size=1)
    model = keras.Model(x, cross_kv(layers, encode(layers, x, cfg.motion_gain)))

    def data() -> Iterator[Sample]:  # random walks of keypoints, confidences in [0.5, 1]
        rng = np.random.default_rng(0)
        for _ in range(samples):
            walk = 0.5 + np.cumsum(rng.normal(0, 0.01, (1, window, 65, 3)), axis=1)
            walk[..., 2] = rng.uniform(0.5, 1.0, (1, window, 65))
            yield {"keypoints": walk.astype(np.float32)}

    return convert_int8(model, data)
