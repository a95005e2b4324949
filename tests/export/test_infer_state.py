"""Persistent state in the generated C: the KV-cache decoder step run step by step with its
caches in the persistent area (updated in place through ``{prefix}_state``) equals
tflite-micro fed the same caches; the codegen CLI's ``--persistent`` and the state API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.backends import run_model
from export.host_state import build_stateful_host
from export.planner.memory import plan_memory
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite
from export.zoo import KV_CACHE, KV_VOCAB, zoo_model
from foley_edge.cli import main

MASKED = -10.0
"""Additive mask value of cache rows not written yet."""


def _quantize(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def _row_targets(graph, states) -> dict[int, int]:
    """Output position -> state position of each new K/V row (same shape class, same quant)."""
    out = {}
    for j, t in enumerate(graph.outputs):
        tensor = graph.tensors[t]
        if tensor.shape[-2:] != (1, graph.tensors[states[0].index].shape[-1]):
            continue
        hits = [k for k, s in enumerate(states) if graph.tensors[s.index].quant == tensor.quant]
        assert len(hits) == 1, f"output {j} matches states {hits} by quantization"
        out[j] = hits[0]
    assert sorted(out.values()) == list(range(len(states)))
    return out


@pytest.mark.slow
def test_kv_decoder_steps_with_persistent_caches_match_tflm() -> None:
    path = zoo_model("kv_decoder_step")
    graph = read_tflite(path)
    caches = tuple(i for i in graph.inputs if "cache" in graph.tensors[i].name)
    plan = plan_memory(graph, persistent=caches)
    verify_plan(graph, plan)
    assert set(caches) <= set(plan.persistent_offsets) and not set(caches) & set(plan.tensor_offsets)
    model = build_stateful_host(graph, plan)
    assert [s.index for s in model.states] == sorted(caches)
    assert not any("cache" in spec.name for spec in model.inputs)
    targets = _row_targets(graph, model.states)
    rng = np.random.default_rng(11)
    ref_cache = {t: np.full(graph.tensors[t].shape, graph.tensors[t].quant.zero_point[0], np.int8)
                 for t in caches}
    memory_t = next(i for i in graph.inputs if "memory" in graph.tensors[i].name)
    memory = rng.integers(-128, 128, graph.tensors[memory_t].shape, dtype=np.int8)
    patches: list[tuple[int, int, bytes]] = []
    with model.open() as session:
        for step in range(KV_CACHE):
            mask = np.full((1, 1, KV_CACHE + 1), MASKED, np.float32)
            mask[..., :step] = 0.0
            mask[..., -1] = 0.0
            values = {"token": np.array([[rng.integers(0, KV_VOCAB)]], np.int32),
                      "position": np.array([[step]], np.int32), "memory": memory}
            full = []
            for i in graph.inputs:
                t = graph.tensors[i]
                key = next((k for k in values if k in t.name), None)
                if i in ref_cache:
                    full.append(ref_cache[i])
                elif key is None:  # the mask
                    full.append(_quantize(mask, t.quant.scale[0], t.quant.zero_point[0]))
                else:
                    full.append(values[key])
            ours = session.step([a for i, a in zip(graph.inputs, full, strict=True)
                                 if i not in ref_cache], patches)
            ref = run_model(path, full, "tflm")
            for j, (a, b) in enumerate(zip(ours, ref, strict=True)):
                assert np.array_equal(a, b), f"step {step} output {j}: max LSB diff " \
                    f"{int(np.abs(a.astype(int) - b.astype(int)).max())}"
            row = graph.tensors[model.states[0].index].shape[-1]
            patches = [(k, step * row, ours[j].tobytes()) for j, k in targets.items()]
            for j, k in targets.items():
                ref_cache[model.states[k].index][0, step] = ref[j].reshape(-1)
    assert session.steps == KV_CACHE


def test_codegen_cli_persistent_state_api(tmp_path: Path) -> None:
    path = zoo_model("kv_decoder_step")
    assert main(["codegen", str(path), "--out", str(tmp_path), "--prefix", "dec",
                 "--persistent", "cache"]) == 0
    header = (tmp_path / "dec.h").read_text()
    source = (tmp_path / "dec.c").read_text()
    assert "#define DEC_NUM_STATES 4" in header
    for fn in ("dec_state(int k)", "dec_state_find(const char *name)", "dec_input_state(int i)"):
        assert fn in header and fn in source
    graph = read_tflite(path)
    for i in graph.inputs:
        name = graph.tensors[i].name
        assert (f'"{name}"' in source) == ("cache" in name)


def test_codegen_cli_unknown_persistent_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codegen", str(zoo_model("mlp")), "--out", str(tmp_path),
                 "--persistent", "no_such_tensor"]) == 2
    assert "no_such_tensor" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
