"""TFLite Micro + CMSIS-NN on the emulated board (issue #15): the peer every figure compares with.

Fast tests: where the sources come from and what is said when they are missing, which files an
operator set compiles, the bench image's output parser. Slow test (needs ``../shared`` or
``$FOLEY_EDGE_TFLM_SRC``, arm-none-eabi-g++ and QEMU): the library built for qemu-m7 runs the
zoo models and the shipped student's exported pair, and every output byte equals the
``tflite-micro`` wheel's on the same planned model and seeded random inputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import BenchError
from benchmarks.peer import parse_peer_output
from firmware_bridge.tflm.sources import (
    LAYOUT,
    SRC_ENV,
    PeerUnavailable,
    compile_units,
    locate_sources,
)

REPO = Path(__file__).resolve().parents[2]


def _sources_or_skip():  # noqa: ANN202 - PeerSources
    try:
        return locate_sources()
    except PeerUnavailable as e:
        pytest.skip(f"no TFLite Micro sources here: {e}")


def test_missing_sources_name_the_variable_the_layout_and_the_pins(tmp_path: Path,
                                                                   monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(SRC_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(PeerUnavailable) as e:
        locate_sources()
    text = str(e.value)
    assert f"{SRC_ENV}={tmp_path / 'nowhere'} does not exist" in text
    assert all(f"{d}/" in text for d in LAYOUT)
    assert "90b983c2b3f1480642e040bbd2ddb37b998f3424" in text  # the tflite-micro pin
    partial = tmp_path / "partial"
    (partial / "tflite-micro").mkdir(parents=True)
    monkeypatch.setenv(SRC_ENV, str(partial))
    with pytest.raises(PeerUnavailable, match="has no cmsis-nn/, flatbuffers/, gemmlowp/, ruy/"):
        locate_sources()


def test_a_folder_laid_out_like_the_tarball_is_accepted(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    src = _sources_or_skip()
    copy = tmp_path / "src"
    shutil.copytree(src.root, copy, symlinks=True)
    monkeypatch.setenv(SRC_ENV, str(copy))
    found = locate_sources()
    assert found.root == copy.resolve() and len(found.digest) == 64
    assert [p.relative_to(copy) for p in compile_units(found)] == \
        [p.relative_to(src.root) for p in compile_units(src)]


def test_an_operator_set_compiles_its_kernels_and_the_shared_helpers() -> None:
    src = _sources_or_skip()
    every = {p.name for p in compile_units(src)}
    fc = [p for p in compile_units(src, {"FULLY_CONNECTED", "SOFTMAX"})]
    names = {p.name for p in fc}
    assert len(every) > 250 and len(fc) < len(every)
    assert "micro_interpreter.cc" in names and "kernel_util.cc" in names  # core, helpers
    assert "fully_connected_common.cc" in names and "conv_common.cc" in names  # helpers: all
    assert "conv.cc" not in names and "depthwise_conv.cc" not in names
    cmsis_fc = [p for p in fc if p.name == "fully_connected.cc"]
    assert len(cmsis_fc) == 1 and cmsis_fc[0].parent.name == "cmsis_nn"  # CMSIS-NN's version
    assert any(p.name == "arm_fully_connected_s8.c" for p in fc)
    assert {p.name for p in compile_units(src, {"NOT_AN_OP"})} == every  # unknown: keep all


def test_parse_peer_output_and_its_errors() -> None:
    text = "TOTAL 900\nARENA 1764\nOUT 0 0a0bff\nCAL 40\nOP 0 140\nOP 1 90\nSTATUS 0\nEND\n"
    found = parse_peer_output(text, 2, 1)
    assert found["total"] == 900 and found["arena"] == 1764 and found["cal"] == 40
    assert found["ops"] == {0: 140, 1: 90} and found["outputs"] == {0: bytes([10, 11, 255])}
    with pytest.raises(BenchError, match="expected CAL, TOTAL, ARENA, 3 OP and 1 OUT"):
        parse_peer_output(text, 3, 1)
    with pytest.raises(BenchError, match=r"status 13 \(AllocateTensors"):
        parse_peer_output("STATUS 13\nEND\n", 2, 1)
    with pytest.raises(BenchError, match="expected STATUS and END"):
        parse_peer_output(text.replace("END\n", ""), 2, 1)


def _toolchain_or_skip() -> None:
    for tool in ("arm-none-eabi-g++", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (make setup)")


@pytest.mark.slow
@pytest.mark.firmware
def test_tflm_cmsis_nn_on_qemu_m7_matches_the_wheel_byte_for_byte() -> None:
    pytest.importorskip("tflite_micro")
    _sources_or_skip()
    _toolchain_or_skip()
    from benchmarks.models import persistent_inputs
    from benchmarks.peer import bench_inputs, run_peer_on_board, wheel_outputs
    from export.tflite_reader import read_tflite
    from export.tflm.runtime import tflm_model_sources
    from export.zoo import zoo_model
    from firmware_bridge.boards.default_model import DEFAULT_CACHE, default_export
    from firmware_bridge.boards.registry import get_board

    pair = default_export(REPO / DEFAULT_CACHE).export_dir
    models = {n: zoo_model(n) for n in ("mlp", "cnn", "gcn", "attention", "kv_decoder_step")}
    models.update({"student encoder": pair / "encoder.tflite",
                   "student step": pair / "decoder_step.tflite"})
    board = get_board("qemu-m7")
    for name, path in models.items():
        data = path.read_bytes()
        graph = read_tflite(data)
        keep = persistent_inputs(graph)
        inputs = bench_inputs(graph)
        run = run_peer_on_board(data, name, board, persistent=keep, inputs=inputs)
        planned = tflm_model_sources(data, prefix="bench", persistent=keep).planned_model
        want = wheel_outputs(planned, inputs)
        assert run.outputs == want, f"{name}: TFLM + CMSIS-NN on qemu-m7 differs from the wheel"
        assert run.matches_wheel
        assert any(any(b) for b in want), f"{name}: all-zero outputs prove nothing"
        assert len(run.ops) == len(graph.operators)
        assert run.total_instructions > sum(o.instructions for o in run.ops) > 0
        assert 0 < run.arena_used_bytes <= run.arena_reserved_bytes
        assert run.flash_bytes > len(data)
