"""The stock Keras zoo: full int8 in and out, cached by a hash of the builders."""

from __future__ import annotations

import pytest

from export.tflite_reader import read_tflite
from export.zoo import ZOO_MODELS, ZooError, zoo_model


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_model_is_full_int8(zoo, name: str) -> None:
    g = read_tflite(zoo[name])
    for i in (*g.inputs, *g.outputs):
        assert g.tensors[i].dtype in ("int8", "int32"), (name, g.tensors[i].name)
    assert any(g.tensors[i].dtype == "int8" for i in g.inputs)
    assert all(g.tensors[i].dtype == "int8" for i in g.outputs)


def test_cache_reuses_the_file(zoo) -> None:
    path = zoo["mlp"]
    stamp = path.stat().st_mtime_ns
    assert zoo_model("mlp", path.parent) == path
    assert path.stat().st_mtime_ns == stamp


def test_unknown_name() -> None:
    with pytest.raises(ZooError, match="unknown zoo model 'resnet'.*expected one of cnn, gcn, mlp"):
        zoo_model("resnet")


def test_build_is_deterministic(zoo) -> None:
    from export.zoo import build_zoo_model

    first = build_zoo_model("mlp")
    assert build_zoo_model("mlp") == first  # same process (Keras name counters reset)
    assert zoo["mlp"].read_bytes() == first  # the cached file, possibly built by another process
