"""The one clip format every part of foley-edge reads and writes.

A clip is a ``.npz`` file holding:

=============  ================  ==============================================================
key            dtype / shape     meaning
=============  ================  ==============================================================
keypoints      float32 [T,65,3]  body65 joints; x, y normalised to the image (0..1), confidence
                                 in [0, 1] (0 = joint missing)
fps            float64 []        frame rate of ``keypoints`` (> 0)
tokens         int16 [N]         MIDI event tokens (``edge.vocab``) for the same time span, no
                                 SOS/EOS; may be empty for keypoints-only clips
midi           uint8 [B]         the paired Standard MIDI File, byte for byte (may be empty)
meta           str (JSON)        free-form: ``instrument``, ``source``, ``piece``, ``seed`` ...
=============  ================  ==============================================================

Loading checks every field and fails with :class:`ClipError` naming the file and the field.
Saving writes a temporary file and renames it, so no half-written clip is ever left behind.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import tokenize
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge import vocab
from edge.errors import FoleyEdgeError
from edge.skeleton import N_CHANNELS, N_JOINTS

MAX_FIELD_BYTES = 256 << 20
"""Largest field :func:`load_clip` reads (256 MiB: keypoints of 3 hours at 30 fps)."""


class ClipError(FoleyEdgeError, ValueError):
    """A clip file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Clip:
    """Keypoints of one performance and (optionally) the MIDI it goes with."""

    keypoints: np.ndarray  # float32 [T, 65, 3]: x, y in image units, confidence in [0, 1]
    fps: float  # frames per second of keypoints
    tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))  # int16 [N]
    midi: bytes = b""  # the paired Standard MIDI File, or b"" when unknown
    meta: dict[str, Any] = field(default_factory=dict)  # instrument, source, piece, seed, ...

    @property
    def n_frames(self) -> int:
        """Number of keypoint frames T."""
        return int(self.keypoints.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the keypoint stream in seconds."""
        return self.n_frames / self.fps

    def validate(self, where: str = "<clip>") -> None:
        """Raise :class:`ClipError` if any field is malformed."""
        _validate(
            where,
            keypoints=self.keypoints,
            fps=self.fps,
            tokens=self.tokens,
        )


def _validate(where: str, *, keypoints: np.ndarray, fps: float, tokens: np.ndarray) -> None:
    kp = keypoints
    expected = f"[T, {N_JOINTS}, {N_CHANNELS}]"
    if kp.ndim != 3 or kp.shape[1:] != (N_JOINTS, N_CHANNELS):
        raise ClipError(f"{where}: field 'keypoints' must have shape {expected}, found {list(kp.shape)}")
    if kp.dtype != np.float32:
        raise ClipError(f"{where}: field 'keypoints' must be float32, found {kp.dtype}")
    if kp.shape[0] == 0:
        raise ClipError(f"{where}: field 'keypoints' has no frames (T = 0)")
    bad = ~np.isfinite(kp)
    if bad.any():
        t, j, c = (int(i) for i in np.argwhere(bad)[0])
        raise ClipError(
            f"{where}: field 'keypoints' has {int(bad.sum())} NaN/inf values "
            f"(first at frame {t}, joint {j}, channel {c})"
        )
    conf = kp[..., 2]
    if conf.min() < 0.0 or conf.max() > 1.0:
        raise ClipError(
            f"{where}: field 'keypoints' confidence (channel 2) must be in [0, 1], "
            f"found {conf.min():.3g}..{conf.max():.3g}"
        )
    if not (np.isfinite(fps) and fps > 0):
        raise ClipError(f"{where}: field 'fps' must be a positive number, found {fps!r}")
    if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise ClipError(
            f"{where}: field 'tokens' must be a 1-D integer array, found {tokens.dtype} {list(tokens.shape)}"
        )
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab.VOCAB_SIZE):
        raise ClipError(
            f"{where}: field 'tokens' must hold ids in 0..{vocab.VOCAB_SIZE - 1}, "
            f"found {int(tokens.min())}..{int(tokens.max())}"
        )


def save_clip(clip: Clip, path: str | os.PathLike[str]) -> Path:
    """Write ``clip`` to ``path`` (.npz) atomically and return the path."""
    path = Path(path)
    clip.validate(str(path))
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        keypoints=clip.keypoints.astype(np.float32, copy=False),
        fps=np.float64(clip.fps),
        tokens=clip.tokens.astype(np.int16, copy=False),
        midi=np.frombuffer(clip.midi, dtype=np.uint8),
        meta=np.array(json.dumps(clip.meta, sort_keys=True)),
    )
    write_atomic(path, buf.getvalue())
    return path


def load_clip(path: str | os.PathLike[str]) -> Clip:
    """Read and validate a clip written by :func:`save_clip` (or by hand in the same layout)."""
    path = Path(path)
    if not path.exists():
        raise ClipError(f"{path}: no such clip file")
    fields = _read_fields(path)
    for key in ("keypoints", "fps"):
        if key not in fields:
            raise ClipError(f"{path}: missing field '{key}' (found {sorted(fields)})")
    fps_arr = fields["fps"]
    if fps_arr.shape != () or fps_arr.dtype.kind not in "iuf":
        raise ClipError(f"{path}: field 'fps' must be a scalar number, found {fps_arr.dtype} {list(fps_arr.shape)}")
    tokens = fields.get("tokens", np.zeros(0, np.int16))
    kp = fields["keypoints"]
    _validate(str(path), keypoints=kp, fps=float(fps_arr), tokens=tokens)
    meta = _meta(path, fields["meta"]) if "meta" in fields else {}
    midi = fields.get("midi", np.zeros(0, np.uint8))
    if midi.dtype != np.uint8 or midi.ndim != 1:
        raise ClipError(f"{path}: field 'midi' must be the bytes of a MIDI file (uint8 [B]), "
                        f"found {midi.dtype} {list(midi.shape)}")
    return Clip(keypoints=kp, fps=float(fps_arr), tokens=tokens.astype(np.int16), midi=midi.tobytes(),
                meta=meta)


def _read_fields(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path``, each checked before it is read: at most
    :data:`MAX_FIELD_BYTES`, no pickled objects, and as many bytes as its header declares (so
    a corrupt header cannot make numpy allocate terabytes)."""
    try:
        with zipfile.ZipFile(path) as z:  # folders skipped (ZipInfo.is_dir fails on a name "")
            return {info.filename.removesuffix(".npy"): _read_member(path, z, info)
                    for info in z.infolist() if not info.filename.endswith("/")}
    except ClipError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, tokenize.TokenError) as e:  # an encrypted entry; a garbled .npy header
        raise ClipError(f"{path}: not a readable .npz clip ({type(e).__name__}: {e})") from e


def _read_member(path: Path, z: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    key = info.filename.removesuffix(".npy")
    if info.file_size > MAX_FIELD_BYTES:
        raise ClipError(f"{path}: field '{key}' holds {info.file_size} bytes, more than the "
                        f"{MAX_FIELD_BYTES} a clip field may have")
    with z.open(info) as f:
        major, _ = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        stored = info.file_size - f.tell()
    if dtype.hasobject:
        raise ClipError(f"{path}: field '{key}' is an array of Python objects (pickled); a clip "
                        "holds numbers and text only")
    declared = math.prod(shape) * dtype.itemsize
    if declared != stored:
        raise ClipError(f"{path}: field '{key}' declares shape {list(shape)} {dtype} "
                        f"({declared} bytes) but holds {stored} bytes")
    return np.lib.format.read_array(io.BytesIO(z.read(info)), allow_pickle=False)


def _meta(path: Path, arr: np.ndarray) -> dict[str, Any]:
    """Field 'meta': a JSON object stored as one string."""
    if arr.shape != () or arr.dtype.kind != "U":
        raise ClipError(f"{path}: field 'meta' must be one JSON string, found {arr.dtype} {list(arr.shape)}")
    try:
        meta = json.loads(str(arr))
    except (json.JSONDecodeError, RecursionError) as e:
        raise ClipError(f"{path}: field 'meta' is not valid JSON ({type(e).__name__}: {e})") from e
    if not isinstance(meta, dict):
        raise ClipError(f"{path}: field 'meta' must be a JSON object, found {type(meta).__name__}")
    return meta


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
