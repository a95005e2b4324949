"""Build a synthetic dataset: pieces → performances (in parallel) → split by piece → folder.

Determinism: every piece is performed from its own seed ``piece_seed(seed, name)`` and split by
a hash of (seed, name), so the same seed gives byte-identical clips and the same splits whether
one process or several do the work, and whatever order they finish in.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from edge.data.clip import Clip
from edge.data.dataset import SPLITS, write_dataset
from edge.data.synth.params import PerformerParams
from edge.data.synth.performer import Piece, SynthError, perform
from edge.errors import FoleyEdgeError

SPLIT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
"""Default train/val/test shares of the pieces."""
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass(frozen=True)
class SynthSummary:
    """What a synth run produced."""

    root: Path  # the dataset folder
    counts: dict[str, int]  # clips per split
    failed: tuple[tuple[str, str], ...]  # (piece, reason) of pieces that could not be performed
    frames: int  # keypoint frames over all clips
    audio_s: float  # seconds of performance over all clips
    seconds: float  # wall time of the performing stage
    bytes_on_disk: int  # size of the written dataset folder

    @property
    def pieces_per_minute(self) -> float:
        """Performing throughput (corpus conversion excluded)."""
        return sum(self.counts.values()) / max(self.seconds, 1e-9) * 60.0


def clip_name(piece_name: str) -> str:
    """A file stem for a piece name: ``bach/bwv66.6.mxl`` → ``bach__bwv66.6``."""
    stem = re.sub(r"\.(mxl|xml|musicxml|krn|abc|mid|midi|rntxt|md|txt)$", "", piece_name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("/", "__")).lstrip("._")
    return stem or "piece"


def split_of(names: Sequence[str], seed: int,
             fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> dict[str, str]:
    """Assign every piece name to train/val/test by a seeded hash (no piece in two splits).

    Pieces are ordered by sha256(seed, name); the first ``fractions[1]`` go to val, the next
    ``fractions[2]`` to test, the rest to train. With 3 or more pieces val and test get at least
    one each.
    """
    order = sorted(names, key=lambda n: hashlib.sha256(f"split:{seed}:{n}".encode()).hexdigest())
    n = len(order)
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    out = {name: "val" for name in order[:n_val]}
    out.update({name: "test" for name in order[n_val:n_val + n_test]})
    out.update({name: "train" for name in order[n_val + n_test:]})
    return out


def pieces_from_dir(midi_dir: str | os.PathLike[str]) -> list[Piece]:
    """Every .mid/.midi file under ``midi_dir`` (recursively) as a piece, sorted by path."""
    root = Path(midi_dir)
    if not root.is_dir():
        raise SynthError(f"{root}: --midi-dir must be a folder of MIDI files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise SynthError(f"{root}: expected .mid/.midi files, found none")
    return [Piece(p.relative_to(root).as_posix(), p.parent.name if p.parent != root else "",
                  str(p)) for p in files]


def pieces_from_corpus(n: int, *, seed: int, composers: tuple[str, ...] | None,
                       cache_dir: Path | None, progress: bool,
                       exclude: frozenset[str] = frozenset()) -> list[Piece]:
    """``n`` music21-corpus pieces converted to MIDI (cached) by :mod:`edge.data.corpus`.

    Pieces named in ``exclude`` are skipped and the next ones of the seeded order take their
    place, so the first pieces drawn are the same as without it.
    """
    from edge.data.corpus import corpus_midi

    got = corpus_midi(n, seed=seed, composers=composers, cache_dir=cache_dir, progress=progress,
                      exclude=exclude)
    return [Piece(p.name, p.composer, str(p.midi_path)) for p in got]


def held_out_pieces(dataset: str | os.PathLike[str],
                    splits: Sequence[str] = ("val", "test")) -> frozenset[str]:
    """The piece names of ``dataset``'s ``splits`` (its manifest's ``pieces``): by default its
    val and test splits, the pieces a model trained elsewhere must not see."""
    from edge.data.dataset import DatasetError, read_manifest

    manifest = read_manifest(dataset)
    names: set[str] = set()
    for split in splits:
        entry = manifest["splits"].get(split)
        if not isinstance(entry, dict) or not isinstance(entry.get("pieces"), list):
            raise DatasetError(f"{Path(dataset) / 'manifest.json'}: splits.{split}.pieces: "
                               f"expected a list of piece names, found {entry!r:.80}")
        names.update(str(n) for n in entry["pieces"])
    return frozenset(names)


def excluded_pieces(source: str | os.PathLike[str]) -> frozenset[str]:
    """Every piece name ``source`` names: a dataset folder (all its splits) or a JSON file
    holding ``{"pieces": [names]}`` (e.g. ``edge/model/shipped/used_pieces.json``, the pieces
    the shipped models learnt from)."""
    import json

    from edge.data.dataset import DatasetError

    path = Path(source)
    if path.is_dir():
        return held_out_pieces(path, ("train", "val", "test"))
    try:
        names = json.loads(path.read_text())["pieces"]
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such dataset folder or piece list") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{path}: expected a dataset folder or a JSON file "
                           f'{{"pieces": [names]}}, found an unreadable file ({e})') from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatasetError(f"{path}: pieces: expected a list of piece names, found {names!r:.80}")
    return frozenset(names)


def _perform_job(job: tuple[Piece, str, int, PerformerParams]) -> Clip | str:
    """Worker: the clip of one piece, or the reason it could not be performed."""
    piece, instrument, seed, params = job
    try:
        clip = perform(piece, instrument, seed, params)
    except FoleyEdgeError as e:
        return str(e)
    return replace(clip, meta={**clip.meta, "name": clip_name(piece.name)})


def synthesize(pieces: Sequence[Piece], *, instrument: str, seed: int, params: PerformerParams,
               workers: int = 2, progress: bool = True
               ) -> tuple[list[Clip], list[tuple[str, str]]]:
    """Perform every piece (``workers`` processes); clips in the order of ``pieces``."""
    from tqdm import tqdm

    jobs = [(p, instrument, seed, params) for p in pieces]
    names = [clip_name(p.name) for p in pieces]
    dup = sorted(n for n, k in Counter(names).items() if k > 1)
    if dup:
        raise SynthError(f"pieces must have distinct names, found duplicates {dup[:5]}")
    results: dict[int, Clip | str] = {}
    with tqdm(total=len(jobs), desc=f"perform ({instrument})", unit="piece",
              disable=not progress, file=sys.stderr) as bar:
        if workers <= 1:
            for i, job in enumerate(jobs):
                results[i] = _perform_job(job)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_perform_job, job): i for i, job in enumerate(jobs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
    clips = [r for _, r in sorted(results.items()) if isinstance(r, Clip)]
    failed = [(pieces[i].name, r) for i, r in sorted(results.items()) if isinstance(r, str)]
    return clips, failed


def build_synth_dataset(out: str | os.PathLike[str], pieces: Sequence[Piece], *, instrument: str,
                        seed: int, params: PerformerParams, source: str, workers: int = 2,
                        progress: bool = True) -> SynthSummary:
    """Perform ``pieces``, split them by piece and write the dataset folder ``out``."""
    t0 = time.perf_counter()
    clips, failed = synthesize(pieces, instrument=instrument, seed=seed, params=params,
                               workers=workers, progress=progress)
    seconds = time.perf_counter() - t0
    if not clips:
        raise SynthError(f"no piece could be performed ({len(failed)} failed; first: "
                         f"{failed[0] if failed else None})")
    split = split_of([c.meta["piece"] for c in clips], seed)
    by_split: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    for c in clips:
        by_split[split[c.meta["piece"]]].append(replace(c, meta={**c.meta,
                                                                 "split": split[c.meta["piece"]]}))
    meta = {"fps": params.fps, "instrument": instrument, "seed": seed, "source": source,
            "generator": "edge.data.synth", "params": asdict(params),
            "failed": [list(f) for f in failed]}
    root = write_dataset(out, by_split, meta)
    return SynthSummary(
        root=Path(root), counts={s: len(v) for s, v in by_split.items()}, failed=tuple(failed),
        frames=sum(c.n_frames for c in clips), audio_s=sum(c.duration_s for c in clips),
        seconds=seconds, bytes_on_disk=sum(f.stat().st_size for f in Path(root).rglob("*")
                                           if f.is_file()),
    )
