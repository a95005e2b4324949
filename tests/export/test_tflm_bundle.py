"""The TFLM bundle: aligned model array that compiles back to the same bytes, exact resolver."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from export.tflite_reader import read_tflite
from export.tflm import TflmError
from export.tflm.bundle import emit_tflm_bundle, resolver_method

_STUB = """#pragma once
typedef int TfLiteStatus;
enum { kTfLiteOk = 0, kTfLiteError = 1 };
namespace tflite { template <unsigned N> struct MicroMutableOpResolver {
%s
}; }
"""


def test_resolver_method_names() -> None:
    assert resolver_method("CONV_2D") == "AddConv2D"
    assert resolver_method("DEPTHWISE_CONV_2D") == "AddDepthwiseConv2D"
    assert resolver_method("FULLY_CONNECTED") == "AddFullyConnected"
    assert resolver_method("BATCH_MATMUL") == "AddBatchMatMul"
    assert resolver_method("SQUARED_DIFFERENCE") == "AddSquaredDifference"
    with pytest.raises(TflmError, match="custom operator 'Foo'"):
        resolver_method("CUSTOM:Foo")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_bundle_compiles_and_holds_the_model(zoo, tmp_path) -> None:
    model = zoo["attention"].read_bytes()
    graph = read_tflite(model)
    files = emit_tflm_bundle(model, graph, 13568, "attention block")
    assert set(files) == {"attention_block_model_data.h", "attention_block_model_data.cc",
                          "attention_block_op_resolver.h"}
    assert "#define ATTENTION_BLOCK_ARENA_SIZE 13584" in files["attention_block_model_data.h"]
    resolver = files["attention_block_op_resolver.h"]
    used = sorted({resolver_method(op.op) for op in graph.operators})
    assert re.findall(r"resolver\.(\w+)\(\)", resolver) == used
    assert f"MicroMutableOpResolver<{len(used)}>" in resolver
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    stub = tmp_path / "tensorflow/lite/micro/micro_mutable_op_resolver.h"
    stub.parent.mkdir(parents=True)
    stub.write_text(_STUB % "\n".join(f"TfLiteStatus {m}() {{ return kTfLiteOk; }}" for m in used))
    (tmp_path / "main.cc").write_text(
        '#include <cstdio>\n#include "attention_block_model_data.h"\n'
        '#include "attention_block_op_resolver.h"\n'
        "int main() { AttentionBlockOpResolver r; if (register_attention_block_ops(r)) return 1;\n"
        "  if (reinterpret_cast<unsigned long>(g_attention_block_model) % 16) return 2;\n"
        "  fwrite(g_attention_block_model, 1, g_attention_block_model_len, stdout); return 0; }\n")
    exe = tmp_path / "a.out"
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
                    str(tmp_path / "main.cc"), str(tmp_path / "attention_block_model_data.cc"),
                    "-o", str(exe)], check=True, capture_output=True)
    assert subprocess.run([str(exe)], check=True, capture_output=True).stdout == model
