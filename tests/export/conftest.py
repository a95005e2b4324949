"""Shared fixtures of the export tests: the stock Keras int8 zoo, built once and cached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stream_data import STREAM_WINDOW

from export.zoo import zoo_model


@pytest.fixture(scope="session")
def zoo() -> dict[str, Path]:
    """Lazy map zoo name -> cached .tflite path (built on first use, cached across runs)."""

    class _Zoo(dict):
        def __missing__(self, name: str) -> Path:
            self[name] = path = zoo_model(name)
            return path

    return _Zoo()


def _repack(buf: bytes, edit: Callable[[Any], None]) -> bytes:
    """Return ``buf`` with its object-API model changed by ``edit`` (for corrupt-model tests)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromPackedBuf(buf, 0)
    edit(model)
    b = flatbuffers.Builder(len(buf) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.fixture
def repack() -> Callable[[bytes, Callable[[Any], None]], bytes]:
    """``repack(buf, edit)``: the model in ``buf`` re-serialised after ``edit(ModelT)``."""
    return _repack


@pytest.fixture(scope="session")
def stream_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's encoder architecture at a tiny size (export.zoo.tiny_encoder_int8, hop 4),
    full int8: what the streaming tests (C and TFLite Micro) stream."""
    pytest.importorskip("tensorflow")
    from export.zoo import tiny_encoder_int8

    path = tmp_path_factory.getbasetemp() / "stream_encoder.tflite"
    if not path.exists():
        path.write_bytes(tiny_encoder_int8(STREAM_WINDOW, 4, samples=16))
    return path


@pytest.fixture(scope="session")
def op_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, frozenset[str]]]:
    """Case name -> (converted .tflite, operators it must contain), converted once."""
    from op_models import convert_case, op_cases

    folder = tmp_path_factory.mktemp("ops")
    out = {}
    for case in op_cases():
        path = folder / f"{case.name}.tflite"
        path.write_bytes(convert_case(case))
        out[case.name] = (path, case.ops)
    return out
