"""Generated C vs tflite-micro on the stock Keras zoo: bit-exact on many random inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.backends import run_model, run_model_many
from export.host_runner import build_host
from export.planner.bands import plan_model
from export.tflite_reader import read_tflite
from export.zoo import zoo_model
from foley_edge.cli import main

SAMPLES = 40


def _random_inputs(graph, rng: np.random.Generator, n: int) -> list[list[np.ndarray]]:
    out = []
    for _ in range(n):
        sample = []
        for i in graph.inputs:
            t = graph.tensors[i]
            if t.dtype == "int8":
                sample.append(rng.integers(-128, 128, t.shape, dtype=np.int8))
            else:  # int32 token / position ids: stay inside the smallest embedding table
                sample.append(rng.integers(0, 16, t.shape, dtype=np.int32))
        out.append(sample)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlp", "cnn", "gcn", "attention", "kv_decoder_step"])
def test_zoo_bit_exact_vs_tflm(name: str) -> None:
    path = zoo_model(name)
    graph = read_tflite(path)
    banded, plan, _ = plan_model(graph)  # as the c backend runs it: gcn streamed in bands
    model = build_host(banded, plan)
    samples = _random_inputs(graph, np.random.default_rng(7), SAMPLES)
    ours = model.run(samples)
    ref = run_model_many(path, samples, "tflm")
    for k, (o, r) in enumerate(zip(ours, ref, strict=True)):
        assert len(o) == len(r)
        for j, (a, b) in enumerate(zip(o, r, strict=True)):
            assert a.dtype == b.dtype and a.shape == b.shape
            diff = int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())
            assert diff == 0, f"{name} sample {k} output {j}: max LSB diff {diff}"


def test_infer_cli_c_matches_tflm(tmp_path: Path) -> None:
    path = zoo_model("mlp")
    graph = read_tflite(path)
    x = _random_inputs(graph, np.random.default_rng(3), 1)[0][0]
    np.save(tmp_path / "x.npy", x)
    for backend in ("c", "tflm"):
        assert main(["infer", str(path), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / f"{backend}.npy"), "--backend", backend]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "tflm.npy"))
    assert np.array_equal(run_model(path, [x], "c")[0], np.load(tmp_path / "c.npy"))


def test_infer_cli_rejects_wrong_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = zoo_model("mlp")
    np.save(tmp_path / "x.npy", np.zeros((3, 3), np.float32))
    rc = main(["infer", str(path), "--input", str(tmp_path / "x.npy"), "--output",
               str(tmp_path / "y.npy")])
    assert rc == 2
    assert "expected int8" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()
