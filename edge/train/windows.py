"""Cut clips into the streaming windows the model sees (see :mod:`edge.model.config`).

For a hop ending at frame ``e``: keypoints ``[e-W, e)`` in the model's input frame
(:mod:`edge.data.bodyframe`; frames before the clip's start repeat frame 0, as the device does
while its window fills) and the tokens of the notes whose onsets
lie in the hop ``[(e-H)/fps, e/fps)`` (``edge.midi.codec.encode_window``: times relative to the
hop start, releases clipped to its end). Sequences are ``SOS, events..., EOS`` padded with PAD
to ``L + 1``; the decoder input is the first ``L``, the target the last ``L``. A hop with more
than ``L - 1`` events is truncated and has no EOS (counted in ``truncated``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge import vocab
from edge.data.bodyframe import model_keypoints
from edge.data.clip import Clip
from edge.model.config import ModelConfig
from edge.train import TrainError


@dataclass(frozen=True)
class Windows:
    """Training examples: one per hop."""

    keypoints: np.ndarray  # float32 [N, W, 65, 3]
    inputs: np.ndarray  # int32 [N, L]: SOS + events (PAD after EOS)
    targets: np.ndarray  # int32 [N, L]: events + EOS (PAD after)
    clip_index: np.ndarray  # int32 [N]: which clip of the list
    hop_end: np.ndarray  # int32 [N]: frame index (exclusive) where the hop ends
    truncated: int  # hops with more than L - 1 events

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def sequence_pair(tokens: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(input [L], target [L], truncated) for one hop's event tokens."""
    seq = np.concatenate([[vocab.SOS], np.asarray(tokens, np.int64), [vocab.EOS]])
    truncated = seq.size > length + 1
    full = np.full(length + 1, vocab.PAD, np.int32)
    full[: min(seq.size, length + 1)] = seq[: length + 1]
    return full[:-1], full[1:], bool(truncated)


def window_keypoints(keypoints: np.ndarray, end: int, width: int) -> np.ndarray:
    """Frames ``[end - width, end)`` of ``keypoints``; indexes below 0 repeat frame 0."""
    idx = np.clip(np.arange(end - width, end), 0, keypoints.shape[0] - 1)
    return keypoints[idx]


def hop_ends(n_frames: int, cfg: ModelConfig, stride: int) -> list[int]:
    """End frames of the hops of a clip of ``n_frames``: ``H, H + stride, ...`` up to ``n_frames``."""
    return list(range(cfg.hop_frames, n_frames + 1, stride))


def _pretty(clip: Clip, where: str):  # noqa: ANN202 (pretty_midi is imported lazily)
    import pretty_midi

    if not clip.midi:
        raise TrainError(f"{where}: field 'midi' is empty; training needs the paired MIDI")
    try:
        return pretty_midi.PrettyMIDI(io.BytesIO(clip.midi))
    except (OSError, ValueError, EOFError, IndexError, KeyError) as e:
        raise TrainError(f"{where}: field 'midi' is not a readable MIDI file ({e})") from e


def check_clip(clip: Clip, cfg: ModelConfig, where: str) -> None:
    """Raise :class:`TrainError` if ``clip`` cannot feed a model of ``cfg``."""
    clip.validate(where)
    if abs(clip.fps - cfg.fps) > 1e-6:
        raise TrainError(f"{where}: field 'fps' must equal the model's {cfg.fps:g}, found {clip.fps:g}")
    if clip.n_frames < cfg.hop_frames:
        raise TrainError(
            f"{where}: field 'keypoints' needs at least one hop of {cfg.hop_frames} frames, "
            f"found {clip.n_frames}"
        )


def make_windows(
    clips: Sequence[Clip], cfg: ModelConfig, *, stride: int | None = None, names: Sequence[str] = ()
) -> Windows:
    """All hops of ``clips`` (every ``stride`` frames; default: the hop, no overlap)."""
    from edge.midi.codec import encode_window

    stride = stride or cfg.hop_frames
    if not clips:
        raise TrainError("no clips to cut into windows (the split is empty)")
    kps, ins, tgs, ci, ends, trunc = [], [], [], [], [], 0
    for i, clip in enumerate(clips):
        where = names[i] if i < len(names) else f"clip #{i}"
        check_clip(clip, cfg, where)
        pm = _pretty(clip, where)
        kp = model_keypoints(clip.keypoints, clip.fps, cfg.input_frame)
        for e in hop_ends(clip.n_frames, cfg, stride):
            toks = encode_window(pm, (e - cfg.hop_frames) / cfg.fps, e / cfg.fps)
            inp, tgt, cut = sequence_pair(toks, cfg.max_tokens)
            kps.append(window_keypoints(kp, e, cfg.window_frames))
            ins.append(inp)
            tgs.append(tgt)
            ci.append(i)
            ends.append(e)
            trunc += cut
    return Windows(
        keypoints=np.stack(kps).astype(np.float32), inputs=np.stack(ins), targets=np.stack(tgs),
        clip_index=np.asarray(ci, np.int32), hop_end=np.asarray(ends, np.int32), truncated=trunc,
    )
