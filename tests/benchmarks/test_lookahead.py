"""The look-ahead curve from evaluation JSONs: table, picture, and the same-clips check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.lookahead import LookaheadError, load_points, main, render_markdown

CLIPS = ["a", "b"]


def _eval(path: Path, hop: int, onset: float, only: float, sens: float | None,
          clips: list[str] = CLIPS) -> Path:
    doc = {"run": f"runs/hop-{hop}", "data": "data/synth", "split": "test", "kind": "student",
           "hop_frames": hop, "hop_seconds": hop / 22.0, "token_accuracy": 0.5,
           "onset_f1": onset, "onset_only_f1": only, "onset_offset_f1": onset / 2,
           "motion_sensitivity": sens, "clips": len(clips),
           "per_clip": [{"clip": c, "onset_f1": onset} for c in clips]}
    path.write_text(json.dumps(doc))
    return path


def test_curve_table_and_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [_eval(tmp_path / "h22.json", 22, 0.49, 0.9, 8.3),
             _eval(tmp_path / "h4.json", 4, 0.41, 0.8, None)]
    points = load_points(files)
    assert [p.hop_frames for p in points] == [4, 22]  # sorted by hop
    assert [p.hop_ms for p in points] == [181.8, 1000.0]
    table = render_markdown(points)
    rows = table.splitlines()
    assert len(rows) == 4 and rows[2].startswith("| 4 | 182 | 0.410 | 0.800 | 0.205 | — |")
    assert rows[3].startswith("| 22 | 1000 | 0.490 | 0.900 | 0.245 | 8.30 |")
    out = tmp_path / "out"
    assert main([str(f) for f in files] + ["--out", str(out)]) == 0
    assert "| 4 | 182 |" in capsys.readouterr().out
    assert (out / "lookahead.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "lookahead.json").read_text())
    assert [p["onset_f1"] for p in saved["points"]] == [0.41, 0.49]
    assert (out / "lookahead.md").read_text().startswith(table)


def test_curve_refuses_other_clips_repeated_hops_and_old_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _eval(tmp_path / "a.json", 22, 0.5, 0.9, 8.0)
    with pytest.raises(LookaheadError, match="the curve needs the same clips for every hop"):
        load_points([a, _eval(tmp_path / "b.json", 4, 0.4, 0.8, 5.0, ["a", "c"])])
    with pytest.raises(LookaheadError, match=r"a hop appears twice among the evaluations: hops \[22, 22\]"):
        load_points([a, _eval(tmp_path / "c.json", 22, 0.4, 0.8, 5.0)])
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"onset_f1": 0.5, "per_clip": []}))
    assert main([str(old), "--out", str(tmp_path / "o")]) == 2
    assert "missing ['onset_only_f1', 'onset_offset_f1', 'token_accuracy']" in capsys.readouterr().err
    with pytest.raises(LookaheadError, match="no such evaluation file"):
        load_points([tmp_path / "nothing.json"])
