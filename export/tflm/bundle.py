"""A TFLM bundle for firmware built on TensorFlow Lite Micro (+ CMSIS-NN).

``emit_tflm_bundle(model, graph, arena_bytes, name) -> dict[file name, text]``:

- ``<name>_model_data.h/.cc``: the model as a 16-byte aligned ``const unsigned char`` array
  (flash) and ``<NAME>_ARENA_SIZE``, the measured TFLM arena plus alignment margin;
- ``<name>_op_resolver.h``: ``tflite::MicroMutableOpResolver<N>`` with exactly the N builtin
  operators the model uses (``AddFullyConnected()`` ...), registered by one inline function.

Rendered from the jinja2 templates beside this module. Complexity O(model size).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from export.ir import Graph
from export.tflm import TflmError

ARENA_MARGIN = 16
"""Bytes added to the measured arena so a firmware can align its arena buffer."""

_SPECIAL = {"BATCH_MATMUL": "AddBatchMatMul", "PADV2": "AddPadV2"}
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
)


def render(template: str, **context: object) -> str:
    """Render one of the templates beside this module."""
    return _ENV.get_template(template).render(**context)


def resolver_method(op: str) -> str:
    """TFLM ``MicroMutableOpResolver`` method registering builtin ``op`` (``AddConv2D`` ...)."""
    if op.startswith("CUSTOM:"):
        raise TflmError(f"custom operator {op[7:]!r}: expected builtin operators only")
    if op in _SPECIAL:
        return _SPECIAL[op]
    words = [w.upper() if re.fullmatch(r"\d+D", w) else w.capitalize() for w in op.split("_")]
    return "Add" + "".join(words)


def identifier(name: str) -> str:
    """``name`` as a lower-case C identifier (the bundle's file and symbol stem)."""
    ident = re.sub(r"\W", "_", name).strip("_").lower() or "model"
    return f"m_{ident}" if ident[0].isdigit() else ident


def _hex_rows(data: bytes, per_row: int = 16) -> list[str]:
    return [" ".join(f"0x{b:02x}," for b in data[i:i + per_row]) for i in range(0, len(data), per_row)]


def emit_tflm_bundle(model: bytes, graph: Graph, arena_bytes: int, name: str, *,
                     planned: bool = False) -> dict[str, str]:
    """The bundle's files (name -> text); ``arena_bytes`` is TFLM's measured total arena."""
    ident = identifier(name)
    guard = ident.upper()
    ops = sorted({resolver_method(op.op) for op in graph.operators})
    header = f"{ident}_model_data.h"
    common = {"name": name, "guard": guard, "symbol": f"g_{ident}_model"}
    return {
        header: _ENV.get_template("model_data.h.j2").render(
            **common, arena_size=arena_bytes + ARENA_MARGIN, margin=ARENA_MARGIN, planned=planned),
        f"{ident}_model_data.cc": _ENV.get_template("model_data.cc.j2").render(
            **common, header=header, rows=_hex_rows(model), size=len(model)),
        f"{ident}_op_resolver.h": _ENV.get_template("op_resolver.h.j2").render(
            **common, ops=ops, type_name=f"{ident.title().replace('_', '')}OpResolver",
            func=f"register_{ident}_ops"),
    }
