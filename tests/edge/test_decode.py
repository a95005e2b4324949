"""Decoding: the guards, greedy/sampled choice, and generation with the KV-cache step."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from test_train_helpers import TINY_STUDENT  # noqa: E402

from edge import vocab  # noqa: E402
from edge.model.build import build_models  # noqa: E402
from edge.model.decoding import (  # noqa: E402
    DecodeError,
    DecodeSettings,
    Guard,
    choose,
    generate,
    generate_clip,
)


def test_guard_rules() -> None:
    g = Guard(max_time_s=0.1, max_polyphony=2)
    assert not g.allowed()[vocab.note_off(60)] and g.allowed()[vocab.note_on(60)]
    assert not g.allowed()[vocab.SOS] and not g.allowed()[vocab.PAD] and g.allowed()[vocab.EOS]
    g.update(vocab.note_on(60))
    ok = g.allowed()
    assert not ok[vocab.note_on(60)] and ok[vocab.note_off(60)] and ok[vocab.note_on(61)]
    g.update(vocab.note_on(64))
    assert not g.allowed()[vocab.NOTE_ON_OFFSET : vocab.NOTE_OFF_OFFSET].any()  # polyphony cap
    g.update(vocab.note_off(60))
    assert g.allowed()[vocab.note_on(60)]
    shifts = g.allowed()[vocab.TIME_SHIFT_OFFSET : vocab.SOS]
    fits = np.asarray(vocab.TIME_SHIFT_TABLE_S) <= 0.1 + vocab.TIME_SHIFT_TABLE_S[0] / 2
    assert (shifts == fits).all() and shifts[0] and not shifts[-1]
    g.update(vocab.time_shift(int(np.flatnonzero(fits)[-1])))
    assert not g.allowed()[vocab.TIME_SHIFT_OFFSET : vocab.SOS].any()
    g.update(vocab.EOS)
    assert g.done


def test_choose_greedy_topk_topp_and_seeds() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, vocab.VOCAB_SIZE)
    allowed = np.ones(vocab.VOCAB_SIZE, bool)
    allowed[np.argmax(logits)] = False
    best = int(np.argmax(np.where(allowed, logits, -np.inf)))
    assert choose(logits, allowed, DecodeSettings(), rng) == best
    assert choose(logits, allowed, DecodeSettings("sample", top_k=1), rng) == best
    assert choose(logits, allowed, DecodeSettings("sample", top_p=1e-6), rng) == best
    s = DecodeSettings("sample", temperature=2.0, top_k=20, top_p=0.9)
    a = [choose(logits, allowed, s, np.random.default_rng(5)) for _ in range(3)]
    draws = {choose(logits, allowed, s, rng) for _ in range(200)}
    assert len(set(a)) == 1 and len(draws) > 3 and all(allowed[t] for t in draws)
    top20 = set(np.argsort(-np.where(allowed, logits, -np.inf))[:20].tolist())
    assert draws <= top20
    with pytest.raises(DecodeError, match="'top_p' must be in \\(0, 1\\], found 0"):
        DecodeSettings(top_p=0).validate()


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(4)
    return build_models(TINY_STUDENT)


def _bias(models, values: dict[int, float]) -> None:
    layer = models.train.get_layer("student_logits")
    k, b = layer.get_weights()
    b = np.zeros_like(b) - 5.0
    for t, v in values.items():
        b[t] = v
    layer.set_weights([k * 0.0, b])


def test_generation_respects_the_guards(tiny) -> None:
    kp = np.random.default_rng(0).random((3, 12, 65, 3), np.float32)
    _bias(tiny, {vocab.note_on(60): 10.0, vocab.note_on(62): 9.0, vocab.note_on(64): 8.0,
                 vocab.note_off(60): 7.0})
    s = DecodeSettings(max_polyphony=2)
    for toks in generate(tiny, TINY_STUDENT, kp, s):
        held: set[int] = set()
        assert len(toks) == TINY_STUDENT.max_tokens  # never EOS: one token per position
        for t in toks.tolist():
            e = vocab.describe(t)
            if e.kind is vocab.EventKind.NOTE_ON:
                assert e.value not in held and len(held) < 2
                held.add(e.value)
            elif e.kind is vocab.EventKind.NOTE_OFF:
                assert e.value in held
                held.discard(e.value)
        assert toks[:4].tolist() == [vocab.note_on(60), vocab.note_on(62), vocab.note_off(60),
                                     vocab.note_on(60)]
    _bias(tiny, {vocab.EOS: 5.0, vocab.note_on(60): 4.0})
    assert [len(t) for t in generate(tiny, TINY_STUDENT, kp)] == [0, 0, 0]


def test_greedy_generation_matches_the_full_sequence_model(tiny) -> None:
    keras.utils.set_random_seed(7)
    models = build_models(TINY_STUDENT)
    rng = np.random.default_rng(1)
    kp = rng.random((4, 12, 65, 3), np.float32)
    out = generate(models, TINY_STUDENT, kp, DecodeSettings(max_polyphony=88))
    length = TINY_STUDENT.max_tokens
    for i, toks in enumerate(out):
        seq = np.full((1, length), vocab.PAD, np.int32)
        seq[0, : len(toks) + 1] = [vocab.SOS, *toks.tolist()][:length]
        logits = np.asarray(models.train([kp[i : i + 1], seq], training=False))[0]
        g = Guard(TINY_STUDENT.hop_seconds, 88)
        for p, t in enumerate(toks.tolist()):
            assert t == int(np.argmax(np.where(g.allowed(), logits[p], -np.inf)))
            g.update(t)
    pm = generate_clip(models, TINY_STUDENT, rng.random((30, 65, 3), np.float32))
    assert all(0 <= n.start < 30 / 22 + 0.5 for n in pm.instruments[0].notes)
