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
