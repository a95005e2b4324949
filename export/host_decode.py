"""The host decoding loop: the exported encoder, then greedy steps with the KV cache -> MIDI.

The reference the device must match token for token. The clip's keypoints are first put in the
model's input frame (:mod:`edge.data.bodyframe`), as the streaming host does before it sends
them. Per hop (window of W frames ending at frame ``e``): quantize the keypoints with the
encoder input's (scale, zero point) through the streaming host's own ``quantize_frame``
(:func:`quantize_keypoints`), run the encoder once, copy its cross K/V outputs into the step's
cross inputs *as bytes* (the export pins both sides to one quantization), start from SOS with
zeroed caches (the zero point, i.e. real 0) and run the step at positions ``0..L-1``: token +
clock (the frame bin of the hop time reached after the token, :mod:`edge.model.clock`, fed as
the ``position`` input) + quantized additive mask + caches in, logits + new K/V rows out; the
rows are copied to cache row ``p``; the next token is the argmax of the int8 logits (monotonic
in the real logits) until EOS. Works on any
:class:`export.session.Session` (litert, tflm, c, or the float Keras reference).
Hop tokens are relative to the hop's start ``(e - H) / fps``; :func:`hops_to_midi` shifts each
hop's notes (decoded by ``edge.midi.codec.decode``'s rules) to the clip's clock.

The encoder may also be the STREAMED one, as the firmware runs it when the hop allows
(``load_pair(..., stream=True)``: :class:`export.host_stream.StreamedEncoder`, primed from the
clip's first frame, one invoke per hop of new frames). Its outputs equal the windowed
encoder's from the first hop, so both give the same tokens; decoding with it checks that claim
on the host, where the board's streamed image is held to the windowed reference.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge import vocab
from edge.data.bodyframe import model_keypoints
from edge.model.build import cache_names
from edge.model.clock import advance, clock_bin
from edge.model.config import ModelConfig
from edge.model.kv import step_mask
from edge.train.windows import hop_ends, window_keypoints
from export.int8.flat import IOTensor
from export.int8.pin import verify_handover
from export.session import Session

if TYPE_CHECKING:
    from export.host_stream import StreamedEncoder


@dataclass(frozen=True)
class HopRun:
    """The decoder's work on one window."""

    tokens: tuple[int, ...]  # tokens fed at positions 0.. (SOS first), forced or generated
    outputs: tuple[int, ...]  # argmax of the logits at each position (EOS included)
    logits: np.ndarray  # [steps, 243] logits in the session's dtype


@dataclass(frozen=True)
class ClipDecode:
    """Greedy decoding of a whole clip, hop by hop."""

    hop_starts_s: tuple[float, ...]  # start time of each hop in the clip (seconds)
    hop_tokens: tuple[tuple[int, ...], ...]  # generated events per hop (no SOS/EOS)
    midi: Any  # pretty_midi.PrettyMIDI of every hop's notes on the clip's clock


def check_pair(cfg: ModelConfig, encoder: Session | StreamedEncoder, step: Session) -> None:
    """Raise ``ExportError`` unless the encoder's and the step's tensors hand over byte for byte."""
    cross = cache_names(cfg, "cross")
    verify_handover(encoder.io.outputs, step.io.inputs, dict(zip(cross, cross, strict=True)),
                    where="encoder -> decoder_step")
    pairs = dict(zip(cache_names(cfg, "new"), cache_names(cfg, "cache"), strict=True))
    verify_handover(step.io.outputs, step.io.inputs, pairs, where="decoder_step -> itself")


def quantize_keypoints(spec: IOTensor, window: np.ndarray) -> np.ndarray:
    """The encoder's int8 input ``[1,W,65,3]`` for a float window ``[W,65,3]``, frame by frame.

    Each frame goes through :func:`edge.quantize.quantize_frame` — the function the
    host uses to stream frames to the board — so the reference and the device see the same
    bytes (float32 division, ties away from zero, as TFLite's QUANTIZE), ties included. A
    float input (scale 0) gets the float32 values unchanged.
    """
    from edge.quantize import quantize_frame

    frames = np.asarray(window, np.float32)
    if not spec.quantized:  # a float session (the Keras reference) takes the reals as they are
        return spec.quantize(frames[None])
    q = [quantize_frame(f, spec.scale, spec.zero_point) for f in frames]
    return np.stack(q)[None].astype(spec.dtype)


def encode_window(encoder: Session, window: np.ndarray) -> dict[str, np.ndarray]:
    """Encoder outputs (cross K/V) for one float keypoint window ``[W,65,3]``."""
    return encoder.run({"keypoints": quantize_keypoints(encoder.io.inputs["keypoints"], window)})


def _empty_caches(cfg: ModelConfig, step: Session) -> dict[str, np.ndarray]:
    out = {}
    for name in cache_names(cfg, "cache"):
        spec = step.io.inputs[name]
        out[name] = np.full(spec.shape, spec.zero_point, spec.dtype)
    return out


def run_hop(cfg: ModelConfig, step: Session, cross: dict[str, np.ndarray],
            forced: Sequence[int] | None = None) -> HopRun:
    """Greedy decoding from SOS (``forced=None``) or teacher forcing over ``forced`` tokens."""
    caches = _empty_caches(cfg, step)
    ins = step.io.inputs
    fed, outs, logits = [], [], []
    token = vocab.SOS if forced is None else int(forced[0])
    n = cfg.max_tokens if forced is None else min(len(forced), cfg.max_tokens)
    cursor = 0  # microseconds of hop time after the token fed
    for p in range(n):
        cursor = advance(cursor, token)
        feeds = {
            "token": np.full(ins["token"].shape, token, ins["token"].dtype),
            "position": np.full(ins["position"].shape, clock_bin(cursor, cfg),
                                ins["position"].dtype),
            "mask": ins["mask"].quantize(step_mask(cfg, p, 1)),
            **caches, **{k: cross[k] for k in cache_names(cfg, "cross")},
        }
        res = step.run(feeds)
        row = np.asarray(res["logits"]).reshape(-1)
        fed.append(token)
        outs.append(int(np.argmax(row)))
        logits.append(row)
        if p < cfg.cache_len:
            for c, new in zip(cache_names(cfg, "cache"), cache_names(cfg, "new"), strict=True):
                caches[c][:, p, :] = np.asarray(res[new]).reshape(caches[c].shape[0], -1)
        if forced is None:
            if outs[-1] == vocab.EOS:
                break
            token = outs[-1]
        elif p + 1 < n:
            token = int(forced[p + 1])
    return HopRun(tuple(fed), tuple(outs), np.stack(logits))


def generate_hop(cfg: ModelConfig, encoder: Session, step: Session, window: np.ndarray) -> tuple[int, ...]:
    """The events (no SOS/EOS) greedy decoding produces for one keypoint window."""
    return _events(run_hop(cfg, step, encode_window(encoder, window)))


def _events(run: HopRun) -> tuple[int, ...]:
    """A greedy run's events: its outputs without the EOS that ends it."""
    return tuple(t for t in run.outputs if t != vocab.EOS)


def hops_to_midi(hop_tokens: Sequence[Sequence[int]], hop_starts_s: Sequence[float]) -> Any:
    """One ``PrettyMIDI`` with each hop's decoded notes shifted to its start time."""
    import pretty_midi

    from edge.midi.codec import decode

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for toks, start in zip(hop_tokens, hop_starts_s, strict=True):
        for note in decode(toks).instruments[0].notes:
            inst.notes.append(pretty_midi.Note(velocity=note.velocity, pitch=note.pitch,
                                               start=note.start + start, end=note.end + start))
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    return pm


def load_pair(folder: str | os.PathLike[str], backend: str, *,
              stream: bool = False) -> tuple[ModelConfig, Any, Session]:
    """(config, encoder session, step session) of an export folder on ``backend``; with
    ``stream`` the encoder is our C streamed at the model's hop (backend ``c`` only)."""
    from edge.model.config import ModelConfigError, load_config
    from export.int8.errors import ExportError
    from export.session import open_session

    folder = Path(folder)
    try:
        cfg = load_config(folder / "config.json")
        flats = [(folder / n).read_bytes() for n in ("encoder.tflite", "decoder_step.tflite")]
    except (ModelConfigError, OSError) as e:
        raise ExportError(f"{folder}: not an export folder ({e})") from e
    if stream:
        from export.host_stream import StreamedEncoder

        if backend != "c":
            raise ExportError(f"streamed encoder: backend must be 'c' (our generated C), "
                              f"found {backend!r}")
        return cfg, StreamedEncoder(flats[0], cfg.hop_frames), open_session(flats[1], backend)
    return cfg, open_session(flats[0], backend), open_session(flats[1], backend)


def decode_clip(cfg: ModelConfig, encoder: Session | StreamedEncoder, step: Session,
                keypoints: np.ndarray, *, progress: bool = False) -> ClipDecode:
    """Greedy decoding of every hop of a clip's keypoints ``[T,65,3]`` into MIDI (a
    :class:`StreamedEncoder` runs the clip as one stream)."""
    from tqdm import tqdm

    check_pair(cfg, encoder, step)
    keypoints = model_keypoints(keypoints, cfg.fps, cfg.input_frame)
    ends = hop_ends(int(keypoints.shape[0]), cfg, cfg.hop_frames)
    streamed = None
    if hasattr(encoder, "encode_hops"):  # export.host_stream.StreamedEncoder: one stream
        frames = quantize_keypoints(encoder.io.inputs["keypoints"], keypoints)[0]
        streamed = encoder.encode_hops(frames, ends)
    hops = []
    for k, e in enumerate(tqdm(ends, desc="decode", unit="hop", disable=not progress, leave=False)):
        if streamed is None:
            hops.append(generate_hop(cfg, encoder, step,  # type: ignore[arg-type]
                                     window_keypoints(keypoints, e, cfg.window_frames)))
        else:
            hops.append(_events(run_hop(cfg, step, streamed[k])))
    starts = tuple((e - cfg.hop_frames) / cfg.fps for e in ends)
    return ClipDecode(starts, tuple(hops), hops_to_midi(hops, starts))
