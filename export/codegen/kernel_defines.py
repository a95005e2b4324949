"""``-DCG_MAX_K=N`` and its Helium twins: the kernels' stack buffers sized for the calls a
model's generated C makes, not for any model's.

CONV_2D's GEMM family keeps per-call buffers on the stack, sized by constants with defaults
for any model: ``edge/kernels/fe_conv_gemm.h`` a pair of widened input rows (4 k bytes) and one
gathered int8 row (k bytes), ``CG_MAX_K`` (:data:`export.codegen.ops_linear.CONV_WIDE_MAX_K`,
192); ``edge/kernels/fe_gemm_mve.h`` two im2col rows, ``FE_MVE_MAX_K`` (576), and the folded
biases, ``FE_MVE_MAX_OC`` (256). A build that knows every call can set less: the bench images
(``benchmarks/toolchain.py``) and the firmware (``firmware_bridge/build.py``) both read them
from the generated C with :func:`kernel_defines`; every call takes the path it takes with the
defaults, only the stack bound shrinks.
"""

from __future__ import annotations

import re

from export.codegen.ops_linear import CONV_WIDE_MAX_K

CG_MAX_K = CONV_WIDE_MAX_K
"""edge/kernels/fe_conv_gemm.h's default CG_MAX_K (the widened paths' largest k)."""

MVE_MAX_K = 576
"""edge/kernels/fe_gemm_mve.h's default FE_MVE_MAX_K (the im2col row fe_mve_conv2d gathers)."""
MVE_MAX_OC = 256
"""edge/kernels/fe_gemm_mve.h's default FE_MVE_MAX_OC (the output channels whose folded biases
the Helium convolutions keep on the stack)."""

_GEMM_CALL = re.compile(r"\b(fe_conv2d|fe_fully_connected_rows)\(\s*&(\w+)\s*,")
_PARAMS = re.compile(r"\b(fe_conv_params|fe_fc_params)\s+(\w+)\s*=\s*\{([^{}]*)\}")
_FIELD = re.compile(r"\.(\w+)\s*=\s*(-?\d+)\b")


def gemm_bounds(files: dict[str, str]) -> tuple[int, int] | None:
    """The most values per output (filter_h * filter_w * in_c; a FULLY_CONNECTED's accum_depth)
    and the most outputs per pixel (out_c; output_depth) of any call the generated C makes into
    CONV_2D's GEMM family (``fe_conv2d``, ``fe_fully_connected_rows``), read from its parameter
    initialisers (every build variant's); (0, 0) without such calls, None when a call's
    parameters are not all constant initialisers."""
    called = {m[2] for text in files.values() for m in _GEMM_CALL.finditer(text)}
    found: dict[str, list[tuple[int, int]]] = {}
    for text in files.values():
        for kind, name, body in _PARAMS.findall(text):
            if name not in called:
                continue
            f = {k: int(v) for k, v in _FIELD.findall(body)}
            conv = kind == "fe_conv_params"
            keys = ("filter_h", "filter_w", "in_c", "out_c") if conv else ("accum_depth",
                                                                           "output_depth")
            if not all(k in f for k in keys):
                return None
            k = f["filter_h"] * f["filter_w"] * f["in_c"] if conv else f["accum_depth"]
            found.setdefault(name, []).append((k, f["out_c"] if conv else f["output_depth"]))
    if called - found.keys():
        return None
    calls = [c for v in found.values() for c in v]
    return (max((k for k, _ in calls), default=0), max((oc for _, oc in calls), default=0))


def _up(n: int, step: int) -> int:
    return max(step, -(-n // step) * step)


def kernel_defines(files: dict[str, str]) -> tuple[str, ...]:
    """The stack buffers of CONV_2D's GEMM family sized for this model's calls rather than any
    model's (:func:`gemm_bounds`), each only where it is below the default: ``CG_MAX_K`` (the
    DSP kernels' widened pair, 4 N bytes, and im2col row; the largest k rounded up to 4),
    ``FE_MVE_MAX_K`` (the Helium im2col rows, 2 N bytes; rounded up to 16) and
    ``FE_MVE_MAX_OC`` (the Helium folded biases, 4 N bytes; rounded up to 4). Every call takes
    the path it takes with the defaults (bit-exact, same instructions); () when the calls
    cannot be read."""
    b = gemm_bounds(files)
    if b is None:
        return ()
    k, oc = b
    out = []
    for name, n, default in (("CG_MAX_K", _up(k, 4), CG_MAX_K), ("FE_MVE_MAX_K", _up(k, 16), MVE_MAX_K),
                             ("FE_MVE_MAX_OC", _up(oc, 4), MVE_MAX_OC)):
        if n < default:
            out.append(f"-D{name}={n}")
    return tuple(out)
