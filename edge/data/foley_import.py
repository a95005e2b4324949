"""Import Foley Music's released pose + MIDI data into this project's dataset format.

Layouts read (Foley Music, ECCV 2020, and its data release):

- YouTube sets (AtinPiano, MUSIC): ``pose/{vid}.npy``, ``midi/{vid}.midi`` or ``{vid}.mid``
  (also accepted flat in one folder), and split CSVs ``train.csv``/``val.csv``/``test.csv``
  with columns ``vid,start_time,duration``.
- URMP: ``PoseSep_{track}_{instrument}_{vid:02d}_{piece}.npy`` and
  ``ScoSep_{track}_{instrument}_{vid:02d}_{piece}.mid``; split CSVs with columns
  ``track_index,instrument,vid,piece,start_time,duration``.

Pose arrays are ``[T, C, V, M]`` (frames, channels, joints, persons): ``body65`` with C=3
(x, y, confidence) in this project's joint order, or ``hands`` with C=2, V=42 (left hand's 21
OpenPose joints, then the right's; joint 0 of each is its wrist). Person 0 is taken. Coordinates
may be in image units (0..1), centred (-0.5..0.5, as ST-GCN writes them) or pixels (give the
frame size); they are brought to image units. A (0, 0) joint counts as missing (confidence 0).

Each CSV row becomes one clip: its frames ``[start·fps, (start+duration)·fps)`` and the notes
with onsets in that window, re-timed to start at 0 (MIDI bytes and tokens).
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.data.clip import Clip
from edge.data.dataset import SPLITS, write_dataset
from edge.errors import FoleyEdgeError
from edge.skeleton import L_WRIST, LEFT_HAND_OFFSET, N_HAND, N_JOINTS, R_WRIST, RIGHT_HAND_OFFSET


class FoleyImportError(FoleyEdgeError, ValueError):
    """A file in the Foley Music layout is missing or malformed."""


@dataclass(frozen=True)
class Row:
    """One split-CSV row: a time window of one recording."""

    split: str  # train / val / test
    vid: str  # recording id (YouTube id, or the URMP file stem after PoseSep_)
    start_s: float  # window start, seconds
    duration_s: float  # window length, seconds
    pose_path: Path  # the pose .npy
    midi_path: Path  # the .mid/.midi
    instrument: str  # instrument name from the CSV or the command line ("" if unknown)


@dataclass(frozen=True)
class ImportSummary:
    """What an import produced."""

    root: Path  # the dataset folder written
    layout: str  # "youtube" or "urmp"
    counts: dict[str, int]  # clips per split
    frames: int  # keypoint frames over all clips
    skipped: tuple[tuple[str, str], ...]  # (row, reason) of rows left out


def parse_frame_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → (1280, 720)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise FoleyImportError(f"--frame-size must look like 1280x720, found {text!r}")
    return int(m.group(1)), int(m.group(2))


def to_body65(pose: np.ndarray, where: str) -> np.ndarray:
    """float32 [T, 65, 3] from a Foley Music pose array [T, C, V, M] (person 0).

    Raises :class:`FoleyImportError` naming ``where`` for any other shape.
    """
    if pose.ndim != 4:
        raise FoleyImportError(f"{where}: pose must be [T, C, V, M], found shape {list(pose.shape)}")
    t, c, v, _ = pose.shape
    x = np.nan_to_num(pose[..., 0].astype(np.float64).transpose(0, 2, 1))  # [T, V, C]
    out = np.zeros((t, N_JOINTS, 3))
    if (c, v) == (3, N_JOINTS):
        out[:] = x
    elif (c, v) == (2, 2 * (N_HAND + 1)):
        for hand, (wrist, off) in enumerate(((L_WRIST, LEFT_HAND_OFFSET),
                                             (R_WRIST, RIGHT_HAND_OFFSET))):
            h = x[:, hand * 21:(hand + 1) * 21]
            out[:, wrist, :2] = h[:, 0]
            out[:, off:off + N_HAND, :2] = h[:, 1:]
        out[..., 2] = 1.0
        out[:, ~np.isin(np.arange(N_JOINTS), _hand_joints()), 2] = 0.0
    else:
        raise FoleyImportError(
            f"{where}: expected body65 (C=3, V=65) or hands (C=2, V=42) pose, found C={c}, V={v}"
        )
    missing = (out[..., 0] == 0) & (out[..., 1] == 0)
    out[missing] = 0.0
    out[..., 2] = np.clip(out[..., 2], 0.0, 1.0)
    return out


def _hand_joints() -> np.ndarray:
    return np.array([L_WRIST, R_WRIST, *range(LEFT_HAND_OFFSET, LEFT_HAND_OFFSET + 2 * N_HAND)])


def to_image_units(kp: np.ndarray, frame_size: tuple[int, int] | None, where: str) -> np.ndarray:
    """Bring x, y of present joints to image units (0..1), in place; returns ``kp``."""
    present = kp[..., 2] > 0
    if not present.any():
        return kp
    xy = kp[..., :2][present]
    if frame_size is not None:
        kp[..., 0][present] /= frame_size[0]
        kp[..., 1][present] /= frame_size[1]
    elif xy.max() > 1.5:
        raise FoleyImportError(
            f"{where}: coordinates look like pixels (max {xy.max():.0f}); pass --frame-size WxH"
        )
    elif xy.min() < -0.05:
        kp[..., :2][present] += 0.5  # ST-GCN style centred coordinates
    return kp


def _read_rows(csv_path: Path, split: str, root: Path, instrument: str | None) -> list[Row]:
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or ())
        need = {"vid", "start_time", "duration"}
        if not need <= cols:
            raise FoleyImportError(f"{csv_path}: expected columns {sorted(need)}, "
                                   f"found {sorted(cols)}")
        rows = []
        for i, r in enumerate(reader, start=2):
            try:
                start, dur = float(r["start_time"]), float(r["duration"])
            except ValueError as e:
                raise FoleyImportError(f"{csv_path}:{i}: start_time/duration must be numbers "
                                       f"({e})") from e
            pose, midi, vid, inst = _paths_for(r, root, instrument)
            rows.append(Row(split, vid, start, dur, pose, midi, inst))
    return rows


def _paths_for(r: dict[str, str], root: Path, instrument: str | None
               ) -> tuple[Path, Path, str, str]:
    if "track_index" in r and "piece" in r:  # URMP
        vid = f"{int(r['vid']):02d}" if r["vid"].isdigit() else r["vid"]
        stem = f"{int(r['track_index'])}_{r['instrument']}_{vid}_{r['piece']}"
        return (_find(root, f"PoseSep_{stem}.npy"), _find(root, f"ScoSep_{stem}.mid"), stem,
                instrument or r["instrument"])
    vid = r["vid"]
    midi = _find(root, f"{vid}.midi")
    if not midi.exists():
        midi = _find(root, f"{vid}.mid")
    return _find(root, f"{vid}.npy"), midi, vid, instrument or ""


def _find(root: Path, name: str) -> Path:
    """``root/pose|midi/name`` or ``root/name`` or anywhere below root (first sorted match)."""
    for cand in (root / "pose" / name, root / "midi" / name, root / name):
        if cand.exists():
            return cand
    found = sorted(root.rglob(name))
    return found[0] if found else root / name


def find_rows(root: Path, instrument: str | None) -> list[Row]:
    """Rows of every ``train/val/test.csv`` under ``root``."""
    rows: list[Row] = []
    for split in SPLITS:
        for csv_path in sorted(root.rglob(f"{split}.csv")):
            rows += _read_rows(csv_path, split, root, instrument)
    if not rows:
        raise FoleyImportError(f"{root}: no split CSVs (train.csv / val.csv / test.csv) found")
    return rows


def clip_of(row: Row, fps: float, frame_size: tuple[int, int] | None) -> Clip:
    """The clip of one CSV row (keypoints, MIDI and tokens of its window)."""
    from edge.data.tokens import tokens_for_span
    from edge.midi import MidiError
    from edge.midi.codec import decode, midi_bytes

    for path, what in ((row.pose_path, "pose"), (row.midi_path, "MIDI")):
        if not path.exists():
            raise FoleyImportError(f"{path}: {what} file of '{row.vid}' not found")
    try:
        pose = np.load(row.pose_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise FoleyImportError(f"{row.pose_path}: not a readable .npy ({e})") from e
    kp = to_image_units(to_body65(pose, str(row.pose_path)), frame_size, str(row.pose_path))
    a = int(math.floor(row.start_s * fps + 1e-9))
    b = min(kp.shape[0], a + int(round(row.duration_s * fps)))
    if b <= a:
        raise FoleyImportError(f"{row.pose_path}: window {row.start_s}+{row.duration_s} s is "
                               f"past the pose's {kp.shape[0]} frames")
    try:
        tokens = tokens_for_span(row.midi_path.read_bytes(), a / fps, b / fps)
    except (OSError, MidiError) as e:
        raise FoleyImportError(f"{row.midi_path}: not a readable MIDI file ({e})") from e
    midi = midi_bytes(decode(tokens)) if tokens.size else b""
    meta = {"name": _name(row), "piece": row.vid, "instrument": row.instrument,
            "source": "foley-music", "split": row.split, "start_s": a / fps}
    return Clip(kp[a:b].astype(np.float32), fps, tokens, midi, meta)


def _name(row: Row) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", row.vid).lstrip("._") or "clip"
    return f"{stem}_{int(round(row.start_s * 1000)):07d}ms"


def import_foley(src: str | os.PathLike[str], out: str | os.PathLike[str], *, fps: float = 22.0,
                 instrument: str | None = None, frame_size: tuple[int, int] | None = None,
                 progress: bool = True) -> ImportSummary:
    """Convert a folder in Foley Music's layout to a dataset folder at ``out``."""
    from tqdm import tqdm

    root = Path(src)
    if not root.is_dir():
        raise FoleyImportError(f"{root}: not a folder")
    rows = find_rows(root, instrument)
    by_split: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    skipped: list[tuple[str, str]] = []
    for row in tqdm(rows, desc="import", unit="clip", disable=not progress):
        try:
            by_split[row.split].append(clip_of(row, fps, frame_size))
        except FoleyImportError as e:
            skipped.append((f"{row.split}:{row.vid}@{row.start_s}", str(e)))
    if not any(by_split.values()):
        raise FoleyImportError(f"{root}: no row could be imported; first problem: "
                               f"{skipped[0][1] if skipped else '?'}")
    layout = "urmp" if rows[0].pose_path.name.startswith("PoseSep_") else "youtube"
    meta = {"fps": fps, "instrument": instrument or "", "source": f"foley-music:{layout}",
            "seed": None, "skipped": [list(s) for s in skipped]}
    written = write_dataset(out, by_split, meta)
    return ImportSummary(Path(written), layout, {s: len(v) for s, v in by_split.items()},
                         sum(c.n_frames for s in by_split.values() for c in s), tuple(skipped))
