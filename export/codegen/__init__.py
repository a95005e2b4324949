"""C code generator: a planned int8 graph -> ``model.c`` / ``model.h`` over the kernel library.

``emit_c(graph, plan, *, prefix) -> dict[str, str]`` (:mod:`export.codegen.emit`) is a pure
function; only the command line writes files. Each operator has a render function
(:mod:`export.codegen.ops_linear`, :mod:`export.codegen.ops_elementwise`,
:mod:`export.codegen.ops_data`) that turns it into a const parameter struct and one direct call
into ``edge/kernels``. Requantization constants are computed here exactly as TFLite computes
them (:mod:`export.codegen.quant`).
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class CodegenError(FoleyEdgeError, ValueError):
    """A graph or plan the code generator cannot turn into C."""


from export.codegen.emit import KERNEL_DIR, emit_c  # noqa: E402

__all__ = ["KERNEL_DIR", "CodegenError", "emit_c"]
