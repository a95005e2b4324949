"""Per-token losses: masked cross-entropy (PAD excluded) and temperature-softened distillation.

Sums, not means: the loop divides by the token count of the *global* batch, so replicas with
different numbers of real tokens still average correctly when their gradients are summed.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from edge import vocab


def token_stats(logits: Any, targets: Any) -> tuple[Any, Any, Any]:
    """(cross-entropy sum, correct count, token count) over non-PAD targets."""
    mask = tf.cast(tf.not_equal(targets, vocab.PAD), tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    pred = tf.argmax(logits, axis=-1, output_type=tf.int32)
    correct = tf.cast(tf.equal(pred, targets), tf.float32) * mask
    return tf.reduce_sum(ce * mask), tf.reduce_sum(correct), tf.reduce_sum(mask)


def kd_sum(student_logits: Any, teacher_logits: Any, targets: Any, temperature: float) -> Any:
    """``T² · KL(softmax(t/T) || softmax(s/T))`` summed over non-PAD positions (Hinton et al.)."""
    mask = tf.cast(tf.not_equal(targets, vocab.PAD), tf.float32)
    inv_t = 1.0 / temperature
    log_p_t = tf.nn.log_softmax(teacher_logits * inv_t, axis=-1)
    log_p_s = tf.nn.log_softmax(student_logits * inv_t, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)
    return tf.reduce_sum(kl * mask) * (temperature**2)


def margin_sum(logits: Any, top: Any, targets: Any, margin: float, weights: Any = None) -> Any:
    """``Σ relu(margin − (z[top] − max_{j≠top} z[j]))`` over non-PAD positions: how far each
    position's logit for token ``top`` falls short of leading every other token by ``margin``
    (quantization-aware training: a near-tie flips under int8 rounding, a clear lead does not).
    ``weights`` (a number, or shaped like ``top``) weighs each position's shortfall."""
    mask = tf.cast(tf.not_equal(targets, vocab.PAD), tf.float32)
    if weights is not None:
        mask = mask * weights
    chosen = tf.gather(logits, top, batch_dims=len(top.shape))
    others = logits - tf.one_hot(top, tf.shape(logits)[-1], on_value=1e9, off_value=0.0)
    lead = chosen - tf.reduce_max(others, axis=-1)
    return tf.reduce_sum(tf.nn.relu(margin - lead) * mask)


def onset_neutral(first: Any, second: Any) -> Any:
    """Where choosing between tokens ``first`` and ``second`` leaves the onsets and their pitches
    as they are, so onset F1 cannot tell the choices apart: two velocity bins or note-offs
    (loudness, release order), a note-off against a time shift (a release before or after the
    same shift). Not a velocity bin against a note-on: that note-on is the model's own pitch
    guess (settling those its own way cost 9 points of held-out onset F1, issue #17)."""

    def kind(t: Any) -> Any:  # 0 note-on, 1 note-off, 2 velocity, 3 time shift, 4 special
        edges = tf.constant([vocab.NOTE_OFF_OFFSET, vocab.VELOCITY_OFFSET, vocab.TIME_SHIFT_OFFSET,
                             vocab.SOS], tf.int32)
        return tf.reduce_sum(tf.cast(tf.cast(t, tf.int32)[..., None] >= edges, tf.int32), -1)

    a, b = kind(first), kind(second)
    lo, hi = tf.minimum(a, b), tf.maximum(a, b)
    quiet = tf.logical_and(lo >= 1, hi <= 2)  # velocity / note-off against either
    return quiet | ((lo == 1) & (hi == 3))


def anchor_tokens(anchor: str, ref: Any, teacher: Any, targets: Any) -> tuple[Any, Any]:
    """The token the margin keeps ahead at each position (:data:`edge.train.MARGIN_ANCHORS`) and,
    for ``neutral`` / ``guided``, where the model's own two best are onset-neutral (else None).

    ``ref``: the float model's logits; ``teacher``: the frozen RUN's (None: ``self``)."""
    own2 = tf.math.top_k(ref, k=2).indices
    own = own2[..., 0]
    if anchor == "target":
        return tf.cast(targets, tf.int32), None
    if anchor == "self" or teacher is None:
        return own, None
    top = tf.argmax(teacher, axis=-1, output_type=tf.int32)
    two = tf.math.top_k(teacher, k=2).indices

    def among_two(t: Any) -> Any:
        return tf.reduce_any(tf.equal(two, t[..., None]), -1)

    if anchor in ("teacher2", "neutral"):  # the model's own where it is one of RUN's two best
        top = tf.where(among_two(own), own, top)
    elif anchor == "guided":  # the truth where it is one of RUN's two best
        truth = tf.cast(targets, tf.int32)
        top = tf.where(among_two(truth), truth, top)
    if anchor not in ("neutral", "guided"):
        return top, None
    free = onset_neutral(own, own2[..., 1])  # onset F1 cannot tell the two apart
    return tf.where(free, own, top), free


def bound_sum(logits: Any, targets: Any, bound: float) -> Any:
    """``Σ mean_j relu(|z_j| − bound)²`` over non-PAD positions: logits beyond ``±bound``
    (quantization-aware training: the int8 logits' step is their calibrated range / 255, so
    an unbounded tail of hopeless tokens coarsens the step between the two best ones; softmax
    is shift-invariant, so the model can centre them)."""
    mask = tf.cast(tf.not_equal(targets, vocab.PAD), tf.float32)
    over = tf.nn.relu(tf.abs(logits) - bound)
    return tf.reduce_sum(tf.reduce_mean(over * over, axis=-1) * mask)
