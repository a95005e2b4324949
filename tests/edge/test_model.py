"""The Graph-Transformer: shapes, step == full-sequence equivalence, KV cache, budget, int8 TFLM."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from edge import vocab  # noqa: E402
from edge.model.budget import estimate_budget, estimate_student_budget  # noqa: E402
from edge.model.build import build_models, build_student_models, cache_names  # noqa: E402
from edge.model.clock import clock_graph, clock_of_inputs, cursors_of_inputs  # noqa: E402
from edge.model.config import (  # noqa: E402
    ModelConfigError,
    StudentConfig,
    TeacherConfig,
    config_from_dict,
    config_to_dict,
)
from edge.model.kv import empty_cache, step_inputs, write_rows  # noqa: E402

TINY = StudentConfig(
    window_frames=12, hop_frames=6, gcn_channels=(6, 8), gcn_strides=(2, 1), d_model=16,
    heads=2, layers=2, ffn=24, max_tokens=12, joint_groups=2,
)


def _step_logits(models, cfg, kp: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Teacher-force ``tokens`` through the step model one position at a time."""
    cross = {k: np.asarray(v) for k, v in models.encoder(kp).items()}
    cache = empty_cache(cfg, kp.shape[0])
    out = []
    cursors = cursors_of_inputs(tokens)
    for p in range(tokens.shape[1]):
        o = models.step(step_inputs(cfg, tokens[:, p], p, cache, cross, cursors[:, p]))
        write_rows(cfg, cache, o, p)
        out.append(np.asarray(o["logits"]))
    return np.stack(out, axis=1)


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return build_student_models(TINY)


def test_shapes_of_the_three_models(tiny) -> None:
    rng = np.random.default_rng(1)
    kp = rng.random((3, TINY.window_frames, 65, 3), np.float32)
    tok = rng.integers(0, 243, (3, TINY.max_tokens)).astype(np.int32)
    assert tuple(tiny.train([kp, tok]).shape) == (3, TINY.max_tokens, 243)
    cross = tiny.encoder(kp)
    assert sorted(cross) == sorted(cache_names(TINY, "cross"))
    assert all(tuple(v.shape) == (3, TINY.n_memory, TINY.d_model) for v in cross.values())
    out = tiny.step(step_inputs(TINY, tok[:, 0], 0, empty_cache(TINY, 3), cross,
                                cursors_of_inputs(tok)[:, 0]))
    assert tuple(out["logits"].shape) == (3, 243)
    assert all(tuple(out[n].shape) == (3, 1, TINY.d_model) for n in cache_names(TINY, "new"))


def test_step_by_step_decoding_equals_full_sequence_forward(tiny) -> None:
    rng = np.random.default_rng(2)
    # larger weights than the initialiser's make masking mistakes visible
    for w in tiny.train.weights:
        if "table" in w.path:
            w.assign(rng.normal(0, 1, w.shape).astype(np.float32))
    kp = rng.random((2, TINY.window_frames, 65, 3), np.float32)
    tok = rng.integers(0, 243, (2, TINY.max_tokens)).astype(np.int32)
    full = np.asarray(tiny.train([kp, tok], training=False))
    steps = _step_logits(tiny, TINY, kp, tok)
    np.testing.assert_allclose(steps, full, atol=1e-4)
    # a different future must not change earlier logits (causality of the full graph)
    tok2 = tok.copy()
    tok2[:, 6:] = (tok2[:, 6:] + 7) % 243
    full2 = np.asarray(tiny.train([kp, tok2], training=False))
    np.testing.assert_allclose(full2[:, :6], full[:, :6], atol=1e-5)
    assert np.abs(full2[:, 6:] - full[:, 6:]).max() > 1e-3


def test_no_future_leak_when_every_allowed_score_is_below_the_mask() -> None:
    """Issue #3: training learned to push allowed scores below ``mask_value`` and read the future.

    Constant self-attention Q = v and K = -v give every allowed key a score of
    ``-|v_head|²/sqrt(dh) = -72/sqrt(8) ≈ -25``, below the mask's −16: an additive mask alone then
    puts nearly all weight on the future tokens. Earlier logits must still not move, and the
    step model (KV cache) must still equal the full graph.
    """
    keras.utils.set_random_seed(3)
    models = build_student_models(TINY)
    for w in models.train.weights:
        name = w.path.split("/")[-2] if "/" in w.path else w.path
        if "_self_q" in name or "_self_k" in name:
            sign = 1.0 if "_self_q" in name else -1.0
            w.assign(np.zeros(w.shape, np.float32) if w.path.endswith("kernel")
                     else np.full(w.shape, 3.0 * sign, np.float32))
    rng = np.random.default_rng(4)
    kp = rng.random((2, TINY.window_frames, 65, 3), np.float32)
    tok = rng.integers(0, 243, (2, TINY.max_tokens)).astype(np.int32)
    full = np.asarray(models.train([kp, tok], training=False))
    tok2 = tok.copy()
    tok2[:, 5:] = (tok2[:, 5:] + 11) % 243
    full2 = np.asarray(models.train([kp, tok2], training=False))
    np.testing.assert_allclose(full2[:, :5], full[:, :5], atol=1e-5)
    np.testing.assert_allclose(_step_logits(models, TINY, kp, tok), full, atol=1e-4)


def test_kv_cache_over_many_steps_with_the_default_student() -> None:
    cfg = StudentConfig()
    keras.utils.set_random_seed(3)
    models = build_models(cfg)
    rng = np.random.default_rng(3)
    kp = rng.random((1, cfg.window_frames, 65, 3), np.float32)
    tok = rng.integers(0, 243, (1, cfg.max_tokens)).astype(np.int32)
    full = np.asarray(models.train([kp, tok], training=False))
    steps = _step_logits(models, cfg, kp, tok)
    np.testing.assert_allclose(steps, full, atol=1e-4)
    # a cache with stale rows beyond the position changes nothing: the mask replaces them
    cross = {k: np.asarray(v) for k, v in models.encoder(kp).items()}
    stale = {k: rng.normal(0, 3, v.shape).astype(np.float32) for k, v in empty_cache(cfg, 1).items()}
    o = models.step(step_inputs(cfg, tok[:, 0], 0, stale, cross, cursors_of_inputs(tok)[:, 0]))
    np.testing.assert_allclose(np.asarray(o["logits"]), full[:, 0], atol=1e-4)


def test_parameter_count_and_default_student_budget() -> None:
    for cfg in (TINY, TeacherConfig(layers=1, d_model=32, ffn=64)):
        assert estimate_budget(cfg)["params"] == build_models(cfg).train.count_params()
    b = estimate_student_budget()
    assert b["fits_flash"] and b["int8_weight_bytes"] <= 700 * 1024
    assert b["fits_sram"] and b["sram_bytes"] <= 320 * 1024
    assert b["kv_cache_bytes"] == 2 * 2 * 63 * 64


def test_config_round_trip_and_clear_errors() -> None:
    d = config_to_dict(TeacherConfig())
    assert config_from_dict(d) == TeacherConfig()
    with pytest.raises(ModelConfigError, match="heads.*divisor of d_model=64.*found 5"):
        StudentConfig(heads=5)
    with pytest.raises(ModelConfigError, match="mask_value"):
        StudentConfig(mask_value=-1e9)
    with pytest.raises(ModelConfigError, match="unknown model config keys \\['widht'\\]"):
        config_from_dict({"widht": 3})
    with pytest.raises(ModelConfigError, match="window_frames"):
        StudentConfig(window_frames=6, hop_frames=2)


def test_clock_is_the_frame_of_the_summed_time_shifts() -> None:
    cfg = StudentConfig()
    ts = vocab.TIME_SHIFT_OFFSET
    tokens = np.array([[vocab.SOS, ts + 20, vocab.note_on(60), ts + 31, ts, vocab.EOS],
                       [vocab.SOS, ts, ts, ts, ts + 1, vocab.PAD]])
    # 1.15**20/65 s = 0.2518 s -> frame 5 at 22 fps; +1.17 s is past the 1 s hop -> bin 22
    # 3 x 15.385 ms = 46.2 ms -> frame 1.015 -> 1
    expected = [[0, 5, 5, 22, 22, 22], [0, 0, 0, 1, 1, 1]]
    np.testing.assert_array_equal(clock_of_inputs(tokens, cfg), expected)
    rng = np.random.default_rng(4)
    many = rng.integers(0, 243, (64, cfg.max_tokens))
    np.testing.assert_array_equal(np.asarray(clock_graph(many, cfg)), clock_of_inputs(many, cfg))
    assert clock_of_inputs(many, cfg).max() == cfg.hop_frames


def test_quant_noise_is_int8_rounding_in_training_and_nothing_at_inference() -> None:
    from dataclasses import replace

    from edge.model.layers import QuantNoise
    from edge.train.api import copy_weights_by_name

    x = np.linspace(-3.0, 5.0, 4096, dtype=np.float32).reshape(4, 1024)
    layer = QuantNoise(seed=1)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    noisy = np.asarray(layer(x, training=True))
    step = (5.0 + 3.0) / 255.0
    err = noisy - x
    assert 0.45 * step < np.abs(err).max() <= 0.5 * step + 1e-6  # U(-1/2, 1/2) steps
    assert abs(float(err.mean())) < 0.05 * step
    # a model built with it: the same weights, the same inference graph, a noisy training graph
    keras.utils.set_random_seed(0)
    plain = build_student_models(TINY)
    keras.utils.set_random_seed(0)
    noisy_models = build_models(replace(TINY, quant_noise=True))
    copy_weights_by_name(plain.train, noisy_models.train, "plain")
    rng = np.random.default_rng(3)
    kp = rng.random((2, TINY.window_frames, 65, 3), np.float32)
    tok = rng.integers(0, 243, (2, TINY.max_tokens)).astype(np.int32)
    np.testing.assert_array_equal(np.asarray(noisy_models.train([kp, tok], training=False)),
                                  np.asarray(plain.train([kp, tok], training=False)))
    assert len(noisy_models.encoder.layers) == len(plain.encoder.layers)
    assert len(noisy_models.step.layers) == len(plain.step.layers)
