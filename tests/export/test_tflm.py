"""TFLM side: arena measurement, our plan as OfflineMemoryAllocation run by tflite-micro."""

from __future__ import annotations

import numpy as np
import pytest

from export.planner.memory import plan_memory
from export.tflite_reader import read_tflite
from export.tflm import TflmError
from export.tflm.arena import measure_tflm_arena, tflm_interpreter
from export.tflm.offline_plan import METADATA_NAME, tflm_plan, write_offline_plan


def _random_inputs(graph, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for t in graph.inputs:
        tensor = graph.tensors[t]
        hi = 16 if tensor.dtype == "int32" else 128
        lo = 0 if tensor.dtype == "int32" else -128
        out.append(rng.integers(lo, hi, tensor.shape).astype(tensor.dtype))
    return out


def _run(interp, inputs: list[np.ndarray], n_out: int) -> list[np.ndarray]:
    for k, x in enumerate(inputs):
        interp.set_input(x, k)
    interp.invoke()
    return [interp.get_output(k).copy() for k in range(n_out)]


@pytest.mark.parametrize("name", ["cnn", "mlp", "attention", "kv_decoder_step"])
def test_planned_model_runs_in_tflm_with_identical_outputs(zoo, name: str) -> None:
    model = zoo[name].read_bytes()
    graph = read_tflite(model)
    plan = tflm_plan(graph)
    planned = write_offline_plan(model, graph, plan)
    meta = read_tflite(planned).metadata[METADATA_NAME]
    words = np.frombuffer(meta, dtype="<i4")
    assert list(words[:3]) == [0, 1, len(graph.tensors)]
    assert all(words[3 + t] == off for t, off in plan.tensor_offsets.items())
    plain, ours = tflm_interpreter(model), tflm_interpreter(planned)
    rng = np.random.default_rng(7)
    for _ in range(10):
        x = _random_inputs(graph, rng)
        for a, b in zip(_run(plain, x, len(graph.outputs)), _run(ours, x, len(graph.outputs)),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    before, after = measure_tflm_arena(model), measure_tflm_arena(planned)
    assert after.head_bytes == plan.arena_bytes  # TFLM uses exactly our plan
    assert after.head_bytes <= before.head_bytes
    assert after.total_bytes == after.head_bytes + after.tail_bytes


def test_searched_order_with_persistent_caches_runs_in_tflm(zoo) -> None:
    model = zoo["kv_decoder_step"].read_bytes()
    graph = read_tflite(model)
    caches = tuple(t for t in graph.inputs if "cache" in graph.tensors[t].name)
    plan = tflm_plan(graph, persistent=caches)
    assert plan.order != tuple(range(len(graph.operators)))  # the search reordered this model
    planned = write_offline_plan(model, graph, plan)
    assert [o.op for o in read_tflite(planned).operators] == [graph.operators[k].op for k in plan.order]
    plain, ours = tflm_interpreter(model), tflm_interpreter(planned)
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = _random_inputs(graph, rng)
        for a, b in zip(_run(plain, x, len(graph.outputs)), _run(ours, x, len(graph.outputs)),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert measure_tflm_arena(planned).head_bytes == plan.arena_bytes + plan.persistent_bytes


def test_offline_plan_refuses_partial_overlaps_tflm_cannot_run(zoo) -> None:
    model = zoo["cnn"].read_bytes()
    graph = read_tflite(model)
    ours = plan_memory(graph)  # slides: outputs start inside their dying inputs
    assert ours.arena_bytes < tflm_plan(graph).arena_bytes
    with pytest.raises(TflmError, match="only the generated C runs that safely"):
        write_offline_plan(model, graph, ours)


def _data_positions(model: bytes) -> list[tuple[int, int]]:
    """(file offset, size) of every non-empty buffer's data vector."""
    from ai_edge_litert import schema_py_generated as fb

    m = fb.Model.GetRootAs(model, 0)
    out = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength() > 0:
            o = b._tab.Offset(4)  # field "data"
            out.append((b._tab.Vector(o), b.DataLength()))
    return out


@pytest.mark.parametrize("name", ["cnn", "kv_decoder_step"])
def test_planned_model_buffers_are_16_byte_aligned(zoo, name: str) -> None:
    model = zoo[name].read_bytes()
    graph = read_tflite(model)
    planned = write_offline_plan(model, graph, tflm_plan(graph))
    spans = _data_positions(planned)
    assert len(spans) == len(_data_positions(model)) + 1  # + the plan's metadata buffer
    misaligned = [(pos, n) for pos, n in spans if pos % 16]
    assert not misaligned, f"{len(misaligned)} of {len(spans)} buffers not 16-byte aligned"
    for t in graph.tensors:  # the bytes did not move inside their vectors
        if t.data is not None:
            assert read_tflite(planned).tensors[t.index].data == t.data
