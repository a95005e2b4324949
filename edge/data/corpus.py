"""music21's bundled corpus as Standard MIDI Files, converted once and cached.

:func:`corpus_midi` picks pieces deterministically (a seeded permutation of the sorted corpus
paths), converts each with music21 in a pool of 2 processes (~0.3-3 s a piece) and keeps the
.mid in a cache folder (``$FOLEY_EDGE_CACHE/corpus``, else ``~/.cache/foley-edge/corpus``),
written atomically. A piece that fails to convert (music21 error, or a MIDI without notes) is
skipped, remembered in the cache (``.failed`` marker) and counted; the next pieces of the
permutation take its place, so the first ``n`` that convert are returned.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from edge.data.clip import write_atomic
from edge.errors import FoleyEdgeError

POOL_WORKERS = 2
CACHE_ENV = "FOLEY_EDGE_CACHE"


class CorpusError(FoleyEdgeError, ValueError):
    """The corpus cannot give what was asked (unknown composer, too few pieces)."""


@dataclass(frozen=True)
class CorpusPiece:
    """One corpus piece converted to MIDI."""

    name: str  # path inside music21's corpus, e.g. "bach/bwv226.2.mxl"
    composer: str  # the corpus folder, e.g. "bach", "palestrina", "essenFolksong"
    midi_path: Path  # the cached .mid


@dataclass(frozen=True)
class CorpusBatch:
    """The pieces :func:`convert_corpus` returned and those it had to skip."""

    pieces: tuple[CorpusPiece, ...]  # converted, in the seeded order
    failed: tuple[tuple[str, str], ...]  # (piece name, reason) of pieces that did not convert


@cache
def _corpus_root_and_names() -> tuple[Path, tuple[str, ...]]:
    from music21 import corpus

    paths = sorted(Path(p) for p in corpus.getPaths())
    root = Path(corpus.__file__).parent
    return root, tuple(p.relative_to(root).as_posix() for p in paths)


def list_corpus_pieces(composers: tuple[str, ...] | None = None) -> list[str]:
    """Names of the corpus pieces (sorted), optionally only those of ``composers``."""
    _, names = _corpus_root_and_names()
    if composers is None:
        return list(names)
    known = {n.split("/", 1)[0] for n in names}
    unknown = sorted(set(composers) - known)
    if unknown:
        raise CorpusError(f"unknown composer(s) {unknown}; expected some of {sorted(known)}")
    return [n for n in names if n.split("/", 1)[0] in composers]


def default_cache_dir() -> Path:
    """``$FOLEY_EDGE_CACHE/corpus`` if set, else ``~/.cache/foley-edge/corpus``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) / "corpus" if env else Path.home() / ".cache" / "foley-edge" / "corpus"


def corpus_midi(
    n: int,
    *,
    seed: int = 0,
    composers: tuple[str, ...] | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    exclude: frozenset[str] = frozenset(),
) -> list[CorpusPiece]:
    """``n`` corpus pieces as cached .mid files, picked deterministically by ``seed``.

    Pieces named in ``exclude`` are never picked (the next pieces of the order replace them).
    """
    batch = convert_corpus(
        n, seed=seed, composers=composers, cache_dir=cache_dir, progress=progress,
        exclude=exclude,
    )
    if progress and batch.failed:
        print(
            f"corpus: skipped {len(batch.failed)} piece(s) that failed to convert", file=sys.stderr
        )
    return list(batch.pieces)


def convert_corpus(
    n: int,
    *,
    seed: int = 0,
    composers: tuple[str, ...] | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    exclude: frozenset[str] = frozenset(),
) -> CorpusBatch:
    """Like :func:`corpus_midi`, also returning the pieces that failed and why."""
    from tqdm import tqdm

    names = list_corpus_pieces(composers)
    n_free = len(names) - len(exclude.intersection(names))
    if not 0 < n <= n_free:
        held = f" after holding out {len(names) - n_free}" if n_free < len(names) else ""
        raise CorpusError(f"n must be in 1..{n_free} for these composers{held}, found {n}")
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))
             if names[i] not in exclude]
    root, _ = _corpus_root_and_names()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    pieces: list[CorpusPiece] = []
    failed: list[tuple[str, str]] = []
    pos = 0
    with tqdm(total=n, desc="corpus -> MIDI", unit="piece", disable=not progress) as bar:
        with ExitStack() as stack:
            pool: list[Executor] = []  # started only if something is not cached yet
            while len(pieces) < n and pos < len(order):
                chunk = order[pos : pos + n - len(pieces)]
                pos += len(chunk)
                jobs = [(str(root / c), str(_cache_path(cache_dir, c))) for c in chunk]
                for name, err in zip(chunk, _convert_many(jobs, pool, stack), strict=True):
                    if err:
                        failed.append((name, err))
                        bar.set_postfix(failed=len(failed))
                        continue
                    pieces.append(
                        CorpusPiece(name, name.split("/", 1)[0], _cache_path(cache_dir, name))
                    )
                    bar.update(1)
    if len(pieces) < n:
        raise CorpusError(
            f"only {len(pieces)} of {n} pieces converted ({len(failed)} failed); "
            f"first failure: {failed[0] if failed else None}"
        )
    return CorpusBatch(tuple(pieces), tuple(failed))


def _convert_many(jobs: list[tuple[str, str]], pool: list[Executor], stack: ExitStack) -> list[str]:
    """Reasons ("" = converted) for ``jobs``; cached ones here, the rest in a process pool.

    The pool uses "spawn": forking a process that already holds TensorFlow's threads can hang.
    """
    todo = [j for j in jobs if not _is_cached(Path(j[1]))]
    if todo and not pool:
        ctx = multiprocessing.get_context("spawn")
        pool.append(stack.enter_context(ProcessPoolExecutor(POOL_WORKERS, mp_context=ctx)))
    done = dict(zip(todo, pool[0].map(_convert_one, todo), strict=True)) if todo else {}
    return [done[j] if j in done else _convert_one(j) for j in jobs]


def _is_cached(out: Path) -> bool:
    return out.exists() or _failed_marker(out).exists()


def _cache_path(cache_dir: Path, name: str) -> Path:
    return cache_dir / (name.replace("/", "__") + ".mid")


def _failed_marker(out: Path) -> Path:
    return out.with_name(out.name + ".failed")


def _convert_one(job: tuple[str, str]) -> str:
    """Convert one corpus file to .mid (cached); return "" on success, else the reason."""
    src, out_s = job
    out = Path(out_s)
    if out.exists():
        return ""
    marker = _failed_marker(out)
    if marker.exists():
        return marker.read_text() or "failed before"
    reason = _convert_uncached(Path(src), out)
    if reason:
        write_atomic(marker, reason.encode())
    return reason


def _convert_uncached(src: Path, out: Path) -> str:
    from music21 import converter
    from music21.midi import translate

    from edge.midi import MidiError
    from edge.midi.reader import read_midi

    try:
        score = converter.parse(src)
        data = translate.music21ObjectToMidiFile(score).writestr()
    except Exception as e:  # noqa: BLE001 - music21 raises anything; the piece is skipped
        return f"music21 failed: {type(e).__name__}: {str(e)[:200]}"
    try:
        content = read_midi(data, name=src.name)
    except MidiError as e:
        return str(e)
    if not any(i.notes for i in content.instruments if not i.is_drum):
        return "converted MIDI has no pitched notes"
    write_atomic(out, data)
    return ""
