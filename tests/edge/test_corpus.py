"""music21 corpus -> cached MIDI: deterministic picks, live conversion, failures remembered."""

from __future__ import annotations

import pytest

from edge.data import corpus
from edge.data.corpus import CorpusError, corpus_midi, list_corpus_pieces
from edge.midi.codec import encode


def test_listing_and_composer_filter() -> None:
    names = list_corpus_pieces()
    assert len(names) > 3000 and names == sorted(names)
    bach = list_corpus_pieces(("bach",))
    assert len(bach) > 300 and all(n.startswith("bach/") for n in bach)
    with pytest.raises(CorpusError, match=r"unknown composer\(s\) \['nobody'\]"):
        list_corpus_pieces(("nobody",))


def test_live_conversion_is_cached_and_deterministic(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(corpus.CACHE_ENV, str(tmp_path))
    first = corpus_midi(1, seed=3, composers=("bach",), progress=False)
    assert len(first) == 1 and first[0].composer == "bach"
    path = first[0].midi_path
    assert path.parent == tmp_path / "corpus" and path.read_bytes()[:4] == b"MThd"
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left over
    stamp = path.stat().st_mtime_ns
    again = corpus_midi(1, seed=3, composers=("bach",), progress=False)
    assert again == first and path.stat().st_mtime_ns == stamp  # from the cache
    other = corpus_midi(1, seed=3, composers=("bach",), progress=False,
                        exclude=frozenset({first[0].name}))
    assert other[0].name != first[0].name  # held out: the next piece of the order instead
    enc = encode(path)
    assert enc.report.notes_kept > 20 and enc.report.max_onset_error_s <= 0.010


def test_a_failing_piece_is_remembered(tmp_path) -> None:
    out = tmp_path / "x.mid"
    reason = corpus._convert_one((str(tmp_path / "no_such_piece.krn"), str(out)))
    assert reason.startswith("music21 failed") and not out.exists()
    assert (tmp_path / "x.mid.failed").read_text() == reason
    assert corpus._convert_one((str(tmp_path / "no_such_piece.krn"), str(out))) == reason


def test_bad_n(tmp_path) -> None:
    with pytest.raises(CorpusError, match=r"n must be in 1\.\.\d+ for these composers, found 0"):
        corpus_midi(0, cache_dir=tmp_path, progress=False)
    bach = frozenset(list_corpus_pieces(("bach",)))
    with pytest.raises(CorpusError, match=r"n must be in 1\.\.0 .* after holding out \d+, found 1"):
        corpus_midi(1, composers=("bach",), exclude=bach, cache_dir=tmp_path, progress=False)
