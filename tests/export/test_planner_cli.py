"""``foley-edge plan``: JSON report, plot, PLANNED.tflite, TFLM bundle and errors."""

from __future__ import annotations

import json

from export.planner.memory import plan_memory
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite
from export.tflm.offline_plan import METADATA_NAME
from foley_edge.cli import main


def test_plan_json_plot_planned_and_bundle(zoo, tmp_path, capsys) -> None:
    png, planned, bundle = tmp_path / "t.png", tmp_path / "PLANNED.tflite", tmp_path / "bundle"
    rc = main(["plan", str(zoo["attention"]), "--json", "--plot", str(png),
               "--planned", str(planned), "--tflm-bundle", str(bundle)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    graph = read_tflite(zoo["attention"])
    assert doc["peak_bytes"] >= doc["lower_bound_bytes"] > 0
    assert doc["tflm_arena_bytes"] == doc["tflm_arena_head_bytes"] + doc["tflm_arena_tail_bytes"]
    assert doc["ours_over_tflm"] < 1
    assert sorted(s["operator"] for s in doc["schedule"]) == list(range(len(graph.operators)))
    offsets = {t["index"]: t["offset"] for t in doc["tensors"]}
    plan = plan_memory(graph)
    verify_plan(graph, plan)
    assert offsets == dict(plan.tensor_offsets)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert METADATA_NAME in read_tflite(planned).metadata
    assert len(list(bundle.iterdir())) == 3


def test_plan_text_with_persistent_inputs(zoo, capsys) -> None:
    assert main(["plan", str(zoo["kv_decoder_step"]), "--persistent", "cache", "--no-tflm"]) == 0
    out = capsys.readouterr().out
    # four 16 x 32 int8 caches, each grown by the one row its concatenation appends
    assert "persistent area" in out and "2,176 B" in out
    assert "4 concatenation(s) grow their persistent input 0 in place" in out


def test_plan_errors_exit_2(tmp_path, zoo, capsys) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"0123456789abcdef")
    assert main(["plan", str(bad), "--no-tflm"]) == 2
    assert "expected identifier b'TFL3'" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "none.tflite")]) == 2
    assert main(["plan", str(zoo["mlp"]), "--persistent", "cache", "--no-tflm"]) == 2
    assert "no graph input name contains it" in capsys.readouterr().err
