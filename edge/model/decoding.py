"""Generation with the decoder step and its KV cache: greedy or seeded top-k / top-p sampling.

Per hop (see :mod:`edge.model.config`): the encoder runs once on the window, then the step
model runs from SOS, one token per position, its new K/V rows written to the cache, until EOS,
``max_tokens`` positions, or every sequence of the batch is done. Guards a user would expect,
applied to the logits before choosing (:class:`Guard`, one per sequence):

* SOS and PAD are never generated;
* NOTE_ON of a pitch that is already held is forbidden (its NOTE_OFF must come first), and so
  is any NOTE_ON while ``max_polyphony`` notes are held;
* NOTE_OFF of a pitch that is not held is forbidden;
* a TIME_SHIFT that would move past the hop's length (plus half the smallest bin) is forbidden,
  so a hop's events stay inside the hop;
* after EOS the sequence is finished (later positions are ignored).
Hops of one clip are independent (cache reset per hop), so many hops decode as one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge import vocab
from edge.errors import FoleyEdgeError
from edge.model.build import Models
from edge.model.clock import advance
from edge.model.config import ModelConfig
from edge.model.kv import empty_cache, step_inputs, write_rows

_SHIFTS = np.asarray(vocab.TIME_SHIFT_TABLE_S)
_HALF_BIN = float(_SHIFTS[0]) / 2


class DecodeError(FoleyEdgeError, ValueError):
    """Bad decoding settings."""


@dataclass(frozen=True)
class DecodeSettings:
    """How tokens are chosen."""

    method: str = "greedy"  # "greedy" or "sample"
    temperature: float = 1.0  # logits are divided by this before sampling
    top_k: int = 0  # sample among the k most likely tokens (0: all)
    top_p: float = 1.0  # nucleus: the smallest set with this much probability mass
    seed: int = 0  # seed of the sampler
    max_polyphony: int = 10  # most notes held at once
    batch_size: int = 64  # hops decoded together

    def validate(self) -> None:
        """Raise :class:`DecodeError` naming the first bad field."""
        checks = (
            ("method", self.method in ("greedy", "sample"), "'greedy' or 'sample'"),
            ("temperature", self.temperature > 0, "> 0"), ("top_k", self.top_k >= 0, ">= 0"),
            ("top_p", 0 < self.top_p <= 1, "in (0, 1]"),
            ("max_polyphony", self.max_polyphony >= 1, ">= 1"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
        )
        for name, ok, want in checks:
            if not ok:
                raise DecodeError(f"decode setting '{name}' must be {want}, found {getattr(self, name)!r}")


@dataclass
class Guard:
    """The state one generated sequence needs for its guards (mutable, one per sequence)."""

    max_time_s: float  # the hop's length: time shifts may not go past it
    max_polyphony: int  # most notes held at once
    held: set[int] = field(default_factory=set)  # pitches sounding now
    time_s: float = 0.0  # sum of the time shifts so far
    cursor_us: int = 0  # the decoder's clock after the last token (edge.model.clock)
    done: bool = False  # EOS seen

    def allowed(self) -> np.ndarray:
        """bool [243]: the tokens this sequence may produce next."""
        ok = np.zeros(vocab.VOCAB_SIZE, bool)
        if len(self.held) < self.max_polyphony:
            ok[vocab.NOTE_ON_OFFSET : vocab.NOTE_OFF_OFFSET] = True
        for p in self.held:
            ok[vocab.note_on(p)] = False
            ok[vocab.note_off(p)] = True
        ok[vocab.VELOCITY_OFFSET : vocab.TIME_SHIFT_OFFSET] = True
        room = self.max_time_s + _HALF_BIN - self.time_s
        ok[vocab.TIME_SHIFT_OFFSET : vocab.SOS] = _SHIFTS <= room
        ok[vocab.EOS] = True
        return ok

    def update(self, token: int) -> None:
        """Account for ``token`` having been generated."""
        self.cursor_us = advance(self.cursor_us, token)
        e = vocab.describe(token)
        if e.kind is vocab.EventKind.NOTE_ON:
            self.held.add(e.value)
        elif e.kind is vocab.EventKind.NOTE_OFF:
            self.held.discard(e.value)
        elif e.kind is vocab.EventKind.TIME_SHIFT:
            self.time_s += float(_SHIFTS[e.value])
        elif e.kind is vocab.EventKind.EOS:
            self.done = True


def choose(logits: np.ndarray, allowed: np.ndarray, s: DecodeSettings, rng: np.random.Generator) -> int:
    """One token from ``logits [243]`` restricted to ``allowed`` (greedy or top-k/top-p sampling)."""
    z = np.where(allowed, logits.astype(np.float64), -np.inf)
    if s.method == "greedy":
        return int(np.argmax(z))
    z = z / s.temperature
    order = np.argsort(-z)
    order = order[np.isfinite(z[order])]
    if s.top_k:
        order = order[: s.top_k]
    p = np.exp(z[order] - z[order[0]])
    p /= p.sum()
    if s.top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(p), s.top_p) + 1)
        order, p = order[:keep], p[:keep] / p[:keep].sum()
    return int(rng.choice(order, p=p))


def generate(
    models: Models, cfg: ModelConfig, windows: np.ndarray, s: DecodeSettings | None = None,
) -> list[np.ndarray]:
    """Event tokens (no SOS/EOS) of every keypoint window ``[N, W, 65, 3]``, one hop each."""
    s = s or DecodeSettings()
    s.validate()
    rng = np.random.default_rng(s.seed)
    out: list[np.ndarray] = []
    for a in range(0, len(windows), s.batch_size):
        out += _generate_batch(models, cfg, windows[a : a + s.batch_size], s, rng)
    return out


def _generate_batch(
    models: Models, cfg: ModelConfig, kp: np.ndarray, s: DecodeSettings, rng: np.random.Generator
) -> list[np.ndarray]:
    n = len(kp)
    cross = {k: np.asarray(v) for k, v in models.encoder(kp, training=False).items()}
    cache = empty_cache(cfg, n)
    guards = [Guard(cfg.hop_seconds, s.max_polyphony) for _ in range(n)]
    seqs: list[list[int]] = [[] for _ in range(n)]
    current = np.full(n, vocab.SOS, np.int32)
    for p in range(cfg.max_tokens):
        cursor = np.array([g.cursor_us for g in guards], np.int64)
        o: dict[str, Any] = models.step(step_inputs(cfg, current, p, cache, cross, cursor),
                                        training=False)
        write_rows(cfg, cache, o, p)
        logits = np.asarray(o["logits"])
        for i, g in enumerate(guards):
            if g.done:
                continue
            t = choose(logits[i], g.allowed(), s, rng)
            g.update(t)
            current[i] = t
            if not g.done:
                seqs[i].append(t)
        if all(g.done for g in guards):
            break
    return [np.asarray(q, np.int16) for q in seqs]


def hop_windows(keypoints: np.ndarray, cfg: ModelConfig) -> tuple[np.ndarray, list[int]]:
    """Encoder windows of consecutive hops of one clip (image keypoints, put in the model's input
    frame here) and their end frames."""
    from edge.data.bodyframe import model_keypoints
    from edge.train.windows import hop_ends, window_keypoints

    ends = hop_ends(keypoints.shape[0], cfg, cfg.hop_frames)
    if not ends:
        raise DecodeError(
            f"keypoints have {keypoints.shape[0]} frames, fewer than one hop of {cfg.hop_frames}"
        )
    keypoints = model_keypoints(keypoints, cfg.fps, cfg.input_frame)
    return np.stack([window_keypoints(keypoints, e, cfg.window_frames) for e in ends]), ends


def hops_to_midi(hop_tokens: Sequence[np.ndarray], ends: Sequence[int], cfg: ModelConfig) -> Any:
    """One ``PrettyMIDI`` from per-hop tokens: each hop decoded and moved to its start time."""
    import pretty_midi

    from edge.midi.codec import decode

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for toks, e in zip(hop_tokens, ends, strict=True):
        start = (e - cfg.hop_frames) / cfg.fps
        for note in decode(toks).instruments[0].notes:
            inst.notes.append(pretty_midi.Note(note.velocity, note.pitch, note.start + start,
                                               note.end + start))
    pm.instruments.append(inst)
    return pm


def generate_clip(models: Models, cfg: ModelConfig, keypoints: np.ndarray,
                  s: DecodeSettings | None = None) -> Any:
    """Generate the MIDI (``PrettyMIDI``) of a whole keypoint stream, hop by hop."""
    windows, ends = hop_windows(keypoints, cfg)
    return hops_to_midi(generate(models, cfg, windows, s), ends, cfg)
