"""The training loop: a custom ``tf.distribute`` loop shared by teacher training and distillation.

Steps per epoch are fixed (``N // global_batch``, over a repeated, shuffled, augmented
``tf.data`` pipeline), so every worker of a multi-worker cluster runs the same number of
all-reduces. Loss = ``(1-α)·CE + α·KD`` over non-PAD tokens of the global batch (α = 0 for a
teacher); gradients are summed across replicas by the Keras optimizer. After each epoch:
teacher-forced validation, a checkpoint (weights + optimizer slots + state, each written to a
temporary file and renamed), and a history entry. ``resume`` restarts from the checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.data.clip import write_atomic
from edge.train import TrainError
from edge.train.windows import Windows

CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of one run (saved in the run folder's config.json)."""

    epochs: int = 40  # passes over the training windows
    batch_size: int = 32  # global batch (split over replicas)
    warmup: int = 400  # Noam warm-up steps
    lr_factor: float = 1.0  # Noam factor
    seed: int = 0  # initialisation, shuffling and augmentation
    strategy: str = "one"  # one | mirrored | multiworker
    augment: bool = True  # rotation / scale / shift of each training window
    stride: int = 0  # hop stride of training windows in frames (0: half a hop)
    temperature: float = 2.0  # distillation temperature T
    kd_weight: float = 0.7  # α: weight of the KD term (distillation only)
    input_step: float = 0.0  # round keypoints to this grid after augmentation, as the int8 input does (0: off)

    def validate(self) -> None:
        """Raise :class:`TrainError` naming the first bad field."""
        for name, ok, want in (
            ("epochs", self.epochs >= 1, ">= 1"), ("batch_size", self.batch_size >= 1, ">= 1"),
            ("warmup", self.warmup >= 1, ">= 1"), ("lr_factor", self.lr_factor > 0, "> 0"),
            ("stride", self.stride >= 0, ">= 0"), ("temperature", self.temperature > 0, "> 0"),
            ("kd_weight", 0 <= self.kd_weight <= 1, "in [0, 1]"),
            ("input_step", 0 <= self.input_step < 0.1, "in [0, 0.1)"),
        ):
            if not ok:
                raise TrainError(f"training setting '{name}' must be {want}, found {getattr(self, name)!r}")


def _dataset(w: Windows, s: TrainSettings, global_batch: int, input_frame: str = "image",
             round_inputs: bool = True) -> Any:
    import tensorflow as tf

    from edge.train.augment import augment_for, augment_window

    ds = tf.data.Dataset.from_tensor_slices((w.keypoints, w.inputs, w.targets))
    ds = ds.shuffle(len(w), seed=s.seed, reshuffle_each_iteration=True).repeat()
    if s.augment:
        aug = augment_for(input_frame)
        ds = ds.map(lambda k, i, t: (augment_window(k, aug), i, t))
    if s.input_step and round_inputs:  # the int8 input's grid (zero point at real 0): train on
        step = tf.constant(s.input_step, tf.float32)  # what the board sees
        ds = ds.map(lambda k, i, t: (_on_grid(k, step), i, t))
    ds = ds.batch(global_batch, drop_remainder=True)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)


def _on_grid(keypoints: Any, step: Any) -> Any:
    """``keypoints`` rounded to the int8 input's grid of ``step`` (zero point at real 0)."""
    import tensorflow as tf

    return tf.round(keypoints / step) * step


def evaluate_windows(model: Any, w: Windows, batch: int = 64) -> dict[str, float]:
    """Teacher-forced loss and token accuracy over ``w`` (PAD excluded)."""
    from edge.train.losses import token_stats

    ce = correct = count = 0.0
    for a in range(0, len(w), batch):
        logits = model([w.keypoints[a : a + batch], w.inputs[a : a + batch]], training=False)
        c, k, n = token_stats(logits, w.targets[a : a + batch])
        ce, correct, count = ce + float(c), correct + float(k), count + float(n)
    return {"loss": ce / max(count, 1.0), "accuracy": correct / max(count, 1.0), "tokens": count}


def _save_checkpoint(out: Path, model: Any, optimizer: Any, state: dict[str, Any]) -> None:
    ck = out / CHECKPOINT
    ck.mkdir(parents=True, exist_ok=True)
    tmp = ck / "tmp-model.weights.h5"
    model.save_weights(str(tmp))
    tmp.replace(ck / "model.weights.h5")
    import io

    buf = io.BytesIO()
    np.savez(buf, *[np.asarray(v.numpy()) for v in optimizer.variables])
    write_atomic(ck / "optimizer.npz", buf.getvalue())
    write_atomic(ck / "state.json", json.dumps(state, indent=1).encode())


def _load_checkpoint(out: Path, model: Any, optimizer: Any) -> dict[str, Any]:
    ck = out / CHECKPOINT
    if not (ck / "state.json").exists():
        raise TrainError(f"{ck}: no checkpoint to resume from (state.json missing)")
    model.load_weights(str(ck / "model.weights.h5"))
    with np.load(ck / "optimizer.npz") as z:
        values = [z[f"arr_{i}"] for i in range(len(z.files))]
    if len(values) != len(optimizer.variables):
        raise TrainError(
            f"{ck}/optimizer.npz: expected {len(optimizer.variables)} optimizer variables, "
            f"found {len(values)}"
        )
    for var, val in zip(optimizer.variables, values, strict=True):
        var.assign(val)
    return json.loads((ck / "state.json").read_text())


def _step_function(strategy: Any, model: Any, tmodel: Any, optimizer: Any, s: TrainSettings,
                   qat: Any = None) -> Any:
    """A ``tf.function`` running one global batch on every replica; returns summed stats
    ``[ce, kd, correct, tokens, margin]``.

    With ``qat`` (an :class:`edge.train.qat.QatSession`) the weights are swapped for their int8
    values (in the cross-replica context) for the forward and backward pass, restored, and the
    gradients applied to the float values: the straight-through estimator of weight rounding.
    Its ``margin_weight`` > 0 adds :func:`edge.train.losses.margin_sum` around its
    ``margin_anchor``'s top-1 (:data:`edge.train.MARGIN_ANCHORS`) for the simulated int8 logits
    and the float ones (a second, inference-mode forward pass), ``bound_weight`` > 0
    :func:`edge.train.losses.bound_sum` of the float logits; the ``margin`` stat is their
    weighted sum.
    """
    import tensorflow as tf

    from edge.train.losses import anchor_tokens, bound_sum, kd_sum, margin_sum, token_stats

    alpha = s.kd_weight if tmodel is not None else 0.0
    margin_weight = qat.margin_weight if qat is not None else 0.0
    bound_weight = qat.bound_weight if qat is not None else 0.0

    raw_float = qat is not None and qat.raw_float and s.input_step > 0

    def replica_grads(kp: Any, inp: Any, tgt: Any) -> Any:
        ctx = tf.distribute.get_replica_context()
        # raw_float: the batch is as the windows are; only the simulated int8 pass reads it on
        # the int8 input's grid, the float passes (RUN, the margin's reference) read it raw
        kq = _on_grid(kp, tf.constant(s.input_step, tf.float32)) if raw_float else kp
        with tf.GradientTape() as tape:
            logits = model([kq, inp], training=True)
            ce, correct, count = token_stats(logits, tgt)
            kd = tf.constant(0.0)
            tlogits = None if tmodel is None else tmodel([kp, inp], training=False)
            if tmodel is not None:
                kd = kd_sum(logits, tlogits, tgt, s.temperature)
            margin = tf.constant(0.0)
            if margin_weight or bound_weight:  # QAT: the float model's logits (int8 weights in)
                ref = model([kp, inp], training=False)
            if margin_weight:  # both the float model and the simulated int8 one keep the
                # anchor's top-1 (edge.train.MARGIN_ANCHORS) ahead by the margin
                top, free = anchor_tokens(qat.margin_anchor, ref, tlogits, tgt)
                weight = margin_weight if free is None else \
                    tf.where(free, qat.neutral_weight, margin_weight)  # per position
                top = tf.stop_gradient(top)
                margin = (margin_sum(logits, top, tgt, qat.margin, weight)
                          + margin_sum(ref, top, tgt, qat.margin, weight))
            if bound_weight:  # the float logits (which the converter calibrates) kept in range
                margin += bound_weight * bound_sum(ref, tgt, qat.logit_bound)
            total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, count)
            loss = ((1.0 - alpha) * ce + alpha * kd + margin) / tf.maximum(total, 1.0)
        stats = tf.stack([ce, kd, correct, count, margin])
        return tape.gradient(loss, model.trainable_variables), stats

    def replica_apply(grads: Any) -> None:
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    def replica_step(kp: Any, inp: Any, tgt: Any) -> Any:
        grads, stats = replica_grads(kp, inp, tgt)
        replica_apply(grads)
        return stats

    @tf.function
    def step(batch: Any) -> Any:
        if qat is None:
            per = strategy.run(replica_step, args=batch)
        else:
            saved = qat.swap_in()
            grads, per = strategy.run(replica_grads, args=batch)
            qat.swap_out(saved)
            strategy.run(replica_apply, args=(grads,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per, axis=None)

    return step


def _epoch(step: Any, batches: Any, steps: int, label: str, progress: bool) -> tuple[np.ndarray, float]:
    """Run ``steps`` batches with a progress bar; returns summed stats and seconds."""
    from tqdm import tqdm

    t0, acc = time.time(), np.zeros(5)
    bar = tqdm(range(steps), desc=label, disable=not progress, leave=False)
    for _ in bar:
        acc += step(next(batches)).numpy()
        n = max(acc[3], 1.0)
        bar.set_postfix(loss=f"{acc[0] / n:.3f}", acc=f"{acc[2] / n:.3f}", kd=f"{acc[1] / n:.3f}")
    return acc, time.time() - t0


def _setup(
    build: Callable[[], Any], teacher: Callable[[], Any] | None, s: TrainSettings, n_train: int,
    d_model: int,
) -> tuple[Any, Any, Any, Any]:
    """(strategy, model, teacher model or None, optimizer), all created in the strategy scope."""
    import keras

    from edge.train.schedule import Noam
    from edge.train.strategy import make_strategy

    s.validate()
    keras.utils.set_random_seed(s.seed)
    strategy = make_strategy(s.strategy)
    replicas = strategy.num_replicas_in_sync
    if s.batch_size % replicas:
        raise TrainError(f"batch_size must be a multiple of the {replicas} replicas, found {s.batch_size}")
    if n_train < s.batch_size:
        raise TrainError(f"training set has {n_train} windows, fewer than one batch of {s.batch_size}")
    with strategy.scope():
        model = build()
        tmodel = teacher() if teacher is not None else None
        optimizer = keras.optimizers.Adam(Noam(d_model, s.warmup, s.lr_factor), 0.9, 0.98, 1e-9)
        optimizer.build(model.trainable_variables)  # no variable creation inside tf.function
    return strategy, model, tmodel, optimizer


def fit(
    build: Callable[[], Any], train: Windows, val: Windows | None, s: TrainSettings, out: Path, *,
    d_model: int, input_frame: str = "image", teacher: Callable[[], Any] | None = None,
    resume: bool = False, progress: bool = True, qat: Callable[[Any], Any] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train the model ``build()`` returns (under the strategy's scope); returns it and history.

    ``input_frame`` (the model's, :mod:`edge.data.bodyframe`) picks the augmentation's ranges.
    ``teacher`` (distillation) returns the frozen teacher's training graph. On resume the data
    order restarts from the seed (weights, optimizer slots and step count are restored).
    ``qat`` (quantization-aware training) turns the built model into an
    :class:`edge.train.qat.QatSession`: its activation ranges are calibrated before every epoch
    and every step runs on the int8 weights (:func:`_step_function`).
    """
    strategy, model, tmodel, optimizer = _setup(build, teacher, s, len(train), d_model)
    state: dict[str, Any] = {"epoch": 0, "history": []}
    session = None
    with strategy.scope():
        if qat is not None:
            session = qat(model)
        if resume:
            state = _load_checkpoint(out, model, optimizer)
    ds = _dataset(train, s, s.batch_size, input_frame,
                  round_inputs=session is None or not session.raw_float)
    batches = iter(strategy.experimental_distribute_dataset(ds))
    step = _step_function(strategy, model, tmodel, optimizer, s, session)
    for epoch in range(state["epoch"], s.epochs):
        if session is not None:
            with strategy.scope():
                session.calibrate()
        acc, seconds = _epoch(step, batches, len(train) // s.batch_size,
                              f"epoch {epoch + 1}/{s.epochs}", progress)
        n = max(acc[3], 1.0)
        entry = {"epoch": epoch + 1, "train_loss": acc[0] / n, "train_kd": acc[1] / n,
                 "train_accuracy": acc[2] / n, "lr": float(optimizer.learning_rate),
                 **({"train_margin": acc[4] / n} if session is not None else {}),
                 "seconds": seconds, "steps": int(optimizer.iterations.numpy())}
        if val is not None and len(val):
            v = evaluate_windows(model, val)
            entry.update(val_loss=v["loss"], val_accuracy=v["accuracy"])
        state = {"epoch": epoch + 1, "history": [*state["history"], entry], "settings": asdict(s)}
        _save_checkpoint(out, model, optimizer, state)
        if progress:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()))
    return model, state["history"]
