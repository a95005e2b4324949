"""A dataset folder: a manifest plus one clip file per performance, split train/val/test.

Layout::

    ROOT/manifest.json          {"version": 1, "fps": 22.0, "instrument": "piano", "seed": 0,
                                 "source": "synth", "splits": {"train": {"clips": [...],
                                 "pieces": [...], "count": N}, "val": ..., "test": ...}, ...}
    ROOT/train/<name>.npz       clips in the format of :mod:`edge.data.clip`
    ROOT/val/<name>.npz
    ROOT/test/<name>.npz

:func:`write_dataset` builds the whole folder in a temporary sibling and renames it into
place, so a reader never sees half a dataset. :func:`load_split` checks the manifest and every
clip and raises :class:`DatasetError` naming the file and the field.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from edge.data.clip import Clip, ClipError, load_clip, save_clip
from edge.errors import FoleyEdgeError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
SPLITS: tuple[str, ...] = ("train", "val", "test")


class DatasetError(FoleyEdgeError, ValueError):
    """A dataset folder or its manifest is missing, malformed or inconsistent."""


def _clip_name(clip: Clip, index: int) -> str:
    """The file stem of a clip: ``meta['name']`` if given, else a running number."""
    name = str(clip.meta.get("name") or f"clip{index:05d}")
    if "/" in name or "\\" in name or name.startswith("."):
        raise DatasetError(f"clip name must be a plain file stem, found {name!r}")
    return name


def _split_entry(clips: Sequence[Clip], names: list[str]) -> dict[str, Any]:
    pieces = sorted({str(c.meta.get("piece", n)) for c, n in zip(clips, names, strict=True)})
    return {"clips": names, "pieces": pieces, "count": len(names)}


def write_dataset(
    root: str | os.PathLike[str],
    clips_by_split: Mapping[str, Sequence[Clip]],
    meta: Mapping[str, Any],
) -> Path:
    """Write clips and a manifest to ``root`` atomically and return ``root``.

    ``clips_by_split`` maps ``train``/``val``/``test`` (missing ones are written empty) to
    clips; each clip's file name is ``meta['name']`` (or ``clip00000``...). ``meta`` goes into
    the manifest (``fps``, ``instrument``, ``seed``, ``source`` ...). An existing ``root`` is
    replaced only after the new folder is complete.
    """
    root = Path(root)
    unknown = sorted(set(clips_by_split) - set(SPLITS))
    if unknown:
        raise DatasetError(f"{root}: split names must be in {list(SPLITS)}, found {unknown}")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        manifest: dict[str, Any] = {"version": MANIFEST_VERSION, **dict(meta), "splits": {}}
        seen: set[str] = set()
        for split in SPLITS:
            clips = list(clips_by_split.get(split, ()))
            names = [_clip_name(c, i) for i, c in enumerate(clips)]
            counts = Counter(names)
            dup = sorted(seen.intersection(names) | {n for n, k in counts.items() if k > 1})
            if dup:
                raise DatasetError(f"{root}: clip names must be unique, found duplicates {dup}")
            seen.update(names)
            (tmp / split).mkdir()
            for clip, name in zip(clips, names, strict=True):
                save_clip(clip, tmp / split / f"{name}.npz")
            manifest["splits"][split] = _split_entry(clips, names)
        manifest["counts"] = {s: manifest["splits"][s]["count"] for s in SPLITS}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _replace_dir(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def _replace_dir(src: Path, dst: Path) -> None:
    """Move the finished folder ``src`` to ``dst``, replacing an older ``dst`` if any."""
    if not dst.exists():
        os.replace(src, dst)
        return
    if not (dst / MANIFEST).exists() and any(dst.iterdir()):
        raise DatasetError(
            f"{dst}: exists and is not a dataset (no {MANIFEST}); refusing to replace it"
        )
    old = dst.with_name(f".{dst.name}.old.{os.getpid()}")
    os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``root/manifest.json``; raise :class:`DatasetError` if it is malformed."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{path}: no manifest (expected a dataset folder written by "
                           f"'foley-edge data synth' or 'data import-foley')")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path}: expected a JSON object, found {type(manifest).__name__}")
    version = manifest.get("version")
    if version != MANIFEST_VERSION:
        raise DatasetError(f"{path}: field 'version' must be {MANIFEST_VERSION}, found {version!r}")
    splits = manifest.get("splits")
    if not isinstance(splits, dict):
        raise DatasetError(f"{path}: field 'splits' must be an object, found {splits!r:.60}")
    for split in SPLITS:
        entry = splits.get(split)
        if not isinstance(entry, dict) or not isinstance(entry.get("clips"), list):
            raise DatasetError(
                f"{path}: field 'splits.{split}.clips' must be a list of clip names, "
                f"found {entry!r:.60}"
            )
        if not all(isinstance(n, str) for n in entry["clips"]):
            raise DatasetError(f"{path}: field 'splits.{split}.clips' must hold strings")
    return manifest


def clip_paths(root: str | os.PathLike[str], split: str) -> list[Path]:
    """The clip files of ``split`` (``train``/``val``/``test``/``all``) in manifest order."""
    root = Path(root)
    if split not in (*SPLITS, "all"):
        raise DatasetError(f"split must be one of {[*SPLITS, 'all']}, found {split!r}")
    manifest = read_manifest(root)
    wanted = SPLITS if split == "all" else (split,)
    return [root / s / f"{n}.npz" for s in wanted for n in manifest["splits"][s]["clips"]]


def load_split(root: str | os.PathLike[str], split: str) -> list[Clip]:
    """Load every clip of ``split`` (``train``/``val``/``test``/``all``), validated.

    Raises :class:`DatasetError` for a missing or malformed manifest or clip (the message
    names the file and the field).
    """
    clips = []
    for path in clip_paths(root, split):
        if not path.is_file():
            raise DatasetError(f"{path}: listed in {Path(root) / MANIFEST} but missing")
        try:
            clips.append(load_clip(path))
        except ClipError as e:
            raise DatasetError(str(e)) from e
    return clips
