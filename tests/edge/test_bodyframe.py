"""The body frame undoes the camera, causally, the same way for a clip and for a stream."""

from __future__ import annotations

import numpy as np
import pytest

from edge.data.bodyframe import ANCHORS, BodyFrame, model_keypoints, to_body_frame
from edge.data.synth.nuisance import detect
from edge.data.synth.params import NuisanceParams, PianoParams
from edge.data.synth.piano import key_x, perform_piano, plan_piano
from edge.data.synth.score import Notes
from edge.model.config import ModelConfigError, StudentConfig, config_from_dict, config_to_dict
from edge.protocol_spec import InputFrame
from edge.skeleton import LEFT_FINGERTIPS, RIGHT_FINGERTIPS
from firmware_bridge.errors import BridgeError
from firmware_bridge.player.stream import input_stage
from firmware_bridge.protocol.vectors import _hello

FPS = 22.0
CAMERA_ONLY = dict(sway_amp=0, jitter_sd=0, hand_jitter_sd=0, drop_prob=0,
                   hand_drop_rate_hz=0, swap_rate_hz=0)


def _performance() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(performer-frame xy [T,65,2], note onsets s, pitches) of a short two-register melody."""
    rows = [(0.3 + 0.4 * i, 0.6 + 0.4 * i, p, 90) for i, p in enumerate((60, 64, 67, 72, 84, 79))]
    on, off, pitch, vel = (np.array(c) for c in zip(*rows, strict=True))
    notes = Notes(on.astype(float), off.astype(float), pitch.astype(np.int64), vel.astype(np.int64))
    p = PianoParams()
    plan = plan_piano(notes, p)
    return perform_piano(plan, int(3.0 * FPS), FPS, p), on, pitch


def test_any_camera_gives_the_performer_frame_back() -> None:
    xy, _, _ = _performance()
    for seed in range(4):
        seen = detect(xy, "piano", FPS, np.random.default_rng(seed), NuisanceParams(
            scale_sd=0.2, rotation_deg_sd=8.0, translate_sd=0.08, **CAMERA_ONLY))
        assert np.abs(seen[..., :2] - xy).max() > 0.02  # the camera moved the keys by keys
        body = to_body_frame(seen, FPS)
        np.testing.assert_allclose(body[..., :2], xy, atol=2e-5)
        np.testing.assert_array_equal(body[..., 2], seen[..., 2])


def test_a_held_fingertip_reads_its_key_through_detector_noise() -> None:
    xy, on, pitch = _performance()
    p = PianoParams()
    seen = detect(xy, "piano", FPS, np.random.default_rng(7), NuisanceParams())
    body = to_body_frame(seen, FPS)
    semitone = abs(float(key_x(61, p) - key_x(60, p)))
    tips = list(LEFT_FINGERTIPS + RIGHT_FINGERTIPS)
    for t, k in zip(on, pitch, strict=True):
        f = int(t * FPS) + 3  # key held
        x = body[f, tips, 0][body[f, tips, 2] > 0]
        assert np.abs(x - key_x(int(k), p)).min() < semitone / 3  # a finger sits on it
    missing = seen[..., 2] == 0
    assert missing.any() and (body[missing][:, :2] == 0).all()  # as the detector wrote them


def test_stream_equals_clip_and_waits_for_two_anchors() -> None:
    xy, _, _ = _performance()
    seen = detect(xy, "piano", FPS, np.random.default_rng(3), NuisanceParams())
    bf = BodyFrame(FPS)
    streamed = np.stack([bf(f) for f in seen])
    np.testing.assert_array_equal(streamed, to_body_frame(seen, FPS))
    lone = seen[:1].copy()
    lone[0, list(ANCHORS[1:]), 2] = 0  # one anchor seen: no fit, the frame passes as it is
    np.testing.assert_array_equal(to_body_frame(lone, FPS), lone)
    huddle = seen[:1].copy()
    huddle[0, :, :2] = 0.5 + 0.001 * np.arange(65)[:, None]  # no body: a zoom no camera gives
    np.testing.assert_array_equal(to_body_frame(huddle, FPS), huddle)
    with pytest.raises(ValueError, match=r"\[65, 3\], found \[65, 2\]"):
        bf(seen[0, :, :2])


def test_models_choose_their_frame_and_old_configs_keep_image() -> None:
    assert StudentConfig().input_frame == "body"
    d = config_to_dict(StudentConfig())
    d.pop("input_frame")  # a config.json written before the field existed
    assert config_from_dict(d).input_frame == "image"
    with pytest.raises(ModelConfigError, match="input_frame.*found 'camera'"):
        StudentConfig(input_frame="camera")
    kp = np.random.default_rng(0).uniform(0.2, 0.8, (5, 65, 3)).astype(np.float32)
    assert model_keypoints(kp, FPS, "image") is kp
    assert not np.array_equal(model_keypoints(kp, FPS, "body"), kp)


def test_the_host_sends_what_the_hello_asks_for() -> None:
    hello = _hello()
    assert hello.input_frame == InputFrame.BODY and isinstance(input_stage(hello), BodyFrame)
    assert input_stage(_replace(hello, input_frame=int(InputFrame.IMAGE))) is None
    with pytest.raises(BridgeError, match="input_frame' must be one of 0 .image., 1 .body., found 9"):
        input_stage(_replace(hello, input_frame=9))


def _replace(hello, **kw):  # noqa: ANN001, ANN202
    from dataclasses import replace

    return replace(hello, **kw)
