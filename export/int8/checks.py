"""Self-checks of an exported pair: int8 vs float, LiteRT reference vs TFLite Micro.

* Teacher-forced top-1 agreement: at every non-PAD position of the evaluation windows, the
  argmax of the int8 step's logits (fed its own int8 caches and the int8 encoder's memory)
  against the float step's.
  Also against the float model fed the very keypoints the int8 encoder reads (its input
  quantized and dequantized): what is left is the models' own quantization, the rest is the
  int8 keypoint input's (not a target, an explanation).
* Where the disagreements sit (:func:`margins`, an explanation too): the agreement left when
  only the float logits are rounded to the int8 output's format (everything before them
  exact), the share of steps whose float top-2 gap is under one LSB of that format, and the
  agreement on decisive steps (gap >= :data:`DECISIVE_GAP`).
* Onset F1 of generated sequences: greedy decoding with the float models and with the int8
  pair; each scored against the windows' ground-truth notes (note onset + pitch within 50 ms,
  offsets ignored — ``mir_eval``); the drop is float F1 minus int8 F1.
* Generated C vs TFLite Micro (a target, 100 %): greedy decoding of the same windows by our
  generated C (compiled for the host) and by the ``tflite-micro`` runtime, each on its own; the
  device runs the generated C and must produce TFLite Micro's tokens, every one.
* LiteRT vs TFLM (information, not a target): greedy decoding on LiteRT with every step's very
  inputs also given to TFLM; the share of steps with identical top-1, the max |difference| of the
  int8 logits in LSB, and the share of greedy tokens both backends generate identically when each
  runs on its own. The two round requantization differently (LiteRT once, TFLM twice: see
  ``export/int8/README.md``), so near-ties flip and 100 % cannot be asked of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge import vocab
from edge.model.config import ModelConfig
from export.host_decode import encode_window, run_hop
from export.int8.flat import IOTensor
from export.session import Session

TOP1_FAILURE = "int8 vs float top-1 agreement"
"""How :meth:`Metrics.failures` words a missed top-1 target (the report keys on it)."""


@dataclass(frozen=True)
class Targets:
    """Pass marks of the self-checks (the issue's targets)."""

    min_top1_agreement: float = 0.98  # int8 vs float teacher-forced top-1
    max_f1_drop: float = 0.01  # onset F1 points (as a fraction) the int8 pair may lose (#17: 1)
    min_device_agreement: float = 1.0  # greedy tokens the generated C and TFLite Micro share


@dataclass(frozen=True)
class Metrics:
    """What the self-checks measured."""

    top1_agreement: float  # int8 vs float teacher-forced top-1
    forced_steps: int  # positions compared
    top1_same_input: float  # the same, the float model fed the int8 input's real values
    top1_logits_only: float  # the same with only the float logits rounded to int8 (a bound)
    near_tie_share: float  # steps whose float top-2 gap is under one LSB of the int8 logits
    decisive_share: float  # steps whose float top-2 gap is >= DECISIVE_GAP
    top1_decisive: float  # int8 vs float top-1 agreement on those decisive steps
    f1_float: float  # onset F1 of float greedy sequences vs ground truth
    f1_int8: float  # onset F1 of int8 greedy sequences vs ground truth
    f1_int8_vs_float: float  # onset F1 of int8 sequences scored against the float ones
    tflm_top1_identical: float  # lock-step steps with identical top-1
    tflm_token_agreement: float  # greedy tokens identical when each backend runs alone
    tflm_max_lsb_logits: int  # max |LiteRT - TFLM| of int8 logits in lock step
    tflm_max_lsb_encoder: int  # max |LiteRT - TFLM| of the encoder's int8 outputs
    greedy_windows: int  # windows decoded greedily
    c_token_agreement: float = 1.0  # greedy tokens identical, generated C vs TFLM (each alone)

    def failures(self, t: Targets) -> list[str]:
        """One line per missed target: the target, the measured value and the mark."""
        out = []
        if self.top1_agreement < t.min_top1_agreement:
            out.append(f"{TOP1_FAILURE}: expected >= {t.min_top1_agreement:.2%}, "
                       f"found {self.top1_agreement:.2%} over {self.forced_steps} steps")
        if self.f1_float - self.f1_int8 > t.max_f1_drop:
            out.append(f"onset F1 drop float -> int8: expected <= {100 * t.max_f1_drop:.1f} points, "
                       f"found {100 * (self.f1_float - self.f1_int8):.1f} "
                       f"({self.f1_float:.3f} -> {self.f1_int8:.3f})")
        if self.c_token_agreement < t.min_device_agreement:
            out.append(f"generated C vs TFLite Micro greedy tokens: expected >= "
                       f"{t.min_device_agreement:.0%} identical, found "
                       f"{self.c_token_agreement:.2%} over {self.greedy_windows} windows")
        return out


def forced_hits(cfg: ModelConfig, encoder: Session, step: Session, keypoints: np.ndarray,
                inputs: np.ndarray, float_top1: Sequence[np.ndarray]) -> np.ndarray:
    """Per step (windows in order, positions in order): does the int8 pair, teacher-forced on
    each window, pick the float top-1? ``bool [S]``."""
    hits = []
    for kp, toks, ref in zip(keypoints, inputs, float_top1, strict=True):
        valid = toks[toks != vocab.PAD]
        run = run_hop(cfg, step, encode_window(encoder, kp), forced=valid)
        got = np.asarray(run.outputs)
        hits.append(got == ref[: got.size])
    return np.concatenate(hits) if hits else np.zeros(0, bool)


def share(hits: np.ndarray) -> float:
    """The share of true entries of ``hits`` (0.0 when empty)."""
    return float(hits.mean()) if hits.size else 0.0


DECISIVE_GAP = 1.0
"""Float top-1 minus top-2 logit of a decisive step: the best token at least e (2.7) times as
likely as the runner-up."""


@dataclass(frozen=True)
class Margins:
    """How the teacher-forced disagreements relate to the float model's own margins."""

    logits_only: float  # agreement with only the float logits rounded to the int8 output format
    near_tie_share: float  # steps whose float top-2 gap is under one LSB of the int8 logits
    decisive_share: float  # steps whose float top-2 gap is >= DECISIVE_GAP
    top1_decisive: float  # int8 vs float agreement on the decisive steps


def margins(float_logits: np.ndarray, hits: np.ndarray, logits: IOTensor) -> Margins:
    """Break down the agreement ``hits [S]`` by the float logits ``[S, V]`` of the same steps.

    ``logits`` is the step's int8 output: rounding the float logits to it (ties resolved to the
    lowest token, as every backend's argmax does) bounds what any int8 model with that output
    can reach.
    """
    f = np.asarray(float_logits, np.float32)
    if f.shape[0] != hits.size:
        raise ValueError(f"margins: {f.shape[0]} float logit rows for {hits.size} steps")
    if hits.size == 0:
        return Margins(1.0, 0.0, 0.0, 1.0)
    top = np.argmax(f, axis=-1)
    rounded = np.argmax(logits.quantize(f).astype(np.int32), axis=-1)
    two = np.sort(f, axis=-1)[:, -2:]
    gap = two[:, 1] - two[:, 0]
    decisive = gap >= DECISIVE_GAP
    return Margins(
        logits_only=float(np.mean(rounded == top)),
        near_tie_share=float(np.mean(gap < logits.scale)) if logits.quantized else 0.0,
        decisive_share=float(np.mean(decisive)),
        top1_decisive=float(np.mean(hits[decisive])) if decisive.any() else 1.0,
    )


def _notes(tokens: Sequence[int], offset: float) -> tuple[np.ndarray, np.ndarray]:
    from edge.midi.codec import decode

    notes = decode(tokens).instruments[0].notes
    iv = np.array([[n.start + offset, max(n.end, n.start + 1e-3) + offset] for n in notes])
    return iv.reshape(-1, 2), np.array([440.0 * 2 ** ((n.pitch - 69) / 12) for n in notes])


def onset_f1(reference: Sequence[Sequence[int]], estimate: Sequence[Sequence[int]]) -> float:
    """Note onset F1 (pitch + onset within 50 ms) pooled over windows (each 1000 s apart)."""
    import mir_eval

    ri, rp, ei, ep = [], [], [], []
    for k, (r, e) in enumerate(zip(reference, estimate, strict=True)):
        a, b = _notes(r, 1000.0 * k)
        c, d = _notes(e, 1000.0 * k)
        ri.append(a), rp.append(b), ei.append(c), ep.append(d)
    ref_i, est_i = np.concatenate(ri), np.concatenate(ei)
    if len(ref_i) == 0 and len(est_i) == 0:
        return 1.0
    if len(ref_i) == 0 or len(est_i) == 0:
        return 0.0
    _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_i, np.concatenate(rp), est_i, np.concatenate(ep), offset_ratio=None)
    return float(f1)


@dataclass(frozen=True)
class Parity:
    """LiteRT vs TFLM on the same inputs."""

    top1_identical: float  # lock-step steps with identical top-1
    max_lsb_logits: int  # max |difference| of int8 logits
    max_lsb_encoder: int  # max |difference| of the encoder's int8 outputs
    token_agreement: float  # greedy tokens identical when each backend decodes alone
    tokens: tuple[tuple[int, ...], ...]  # LiteRT's greedy outputs per window


class _Twin:
    """A session that runs LiteRT and TFLM on every call and records their differences."""

    def __init__(self, ref: Session, other: Session) -> None:
        self.io, self._ref, self._other = ref.io, ref, other
        self.max_lsb, self.same, self.steps = 0, 0, 0

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        a, b = self._ref.run(feeds), self._other.run(feeds)
        la = a["logits"].astype(np.int32).ravel()
        lb = b["logits"].astype(np.int32).ravel()
        self.max_lsb = max(self.max_lsb, int(np.abs(la - lb).max()))
        self.same += int(np.argmax(la) == np.argmax(lb))
        self.steps += 1
        return a


def token_agreement(cfg: ModelConfig, a: tuple[Session, Session], b: tuple[Session, Session],
                    windows: np.ndarray) -> float:
    """Share of greedy tokens two (encoder, step) pairs generate identically on ``windows``,
    each decoding on its own (a token counts once per position of the longer sequence)."""
    agree, total = 0, 0
    for kp in windows:
        ra, rb = run_hop(cfg, a[1], encode_window(a[0], kp)), run_hop(cfg, b[1], encode_window(b[0], kp))
        agree += sum(int(x == y) for x, y in zip(ra.outputs, rb.outputs, strict=False))
        total += max(len(ra.outputs), len(rb.outputs))
    return agree / max(total, 1)


def backend_parity(cfg: ModelConfig, pairs: dict[str, tuple[Session, Session]],
                   windows: np.ndarray) -> Parity:
    """Compare the ``litert`` and ``tflm`` (encoder, step) pairs on ``windows``."""
    (enc_a, step_a), (enc_b, step_b) = pairs["litert"], pairs["tflm"]
    twin = _Twin(step_a, step_b)
    enc_lsb, agree, total, outs = 0, 0, 0, []
    for kp in windows:
        xa, xb = encode_window(enc_a, kp), encode_window(enc_b, kp)
        enc_lsb = max(enc_lsb, max(int(np.abs(xa[k].astype(np.int32) - xb[k]).max()) for k in xa))
        ra = run_hop(cfg, twin, xa)
        rb = run_hop(cfg, step_b, xb)
        n = max(len(ra.outputs), len(rb.outputs))
        agree += sum(int(x == y) for x, y in zip(ra.outputs, rb.outputs, strict=False))
        total += n
        outs.append(ra.outputs)
    return Parity(twin.same / max(twin.steps, 1), twin.max_lsb, enc_lsb,
                  agree / max(total, 1), tuple(outs))
