"""``-DCG_MAX_K=N``: the kernels' widened-pair stack buffer sized for the calls a model's
generated C makes, not for any model's.

``edge/kernels/fe_conv_gemm.h`` keeps a pair of widened input rows (4 k bytes) and one gathered
int8 row (k bytes) on the stack for CONV_2D's GEMM family, sized by ``CG_MAX_K`` (default
:data:`export.codegen.ops_linear.CONV_WIDE_MAX_K`, 192). A build that knows every call's k can
set less: the bench images (``benchmarks/toolchain.py``) and the firmware
(``firmware_bridge/build.py``) both read it from the generated C with :func:`kernel_defines`;
every call takes the path it takes with the default (bit-exact, same instructions), only the
stack bound shrinks.
"""

from __future__ import annotations

import re

from export.codegen.ops_linear import CONV_WIDE_MAX_K

CG_MAX_K = CONV_WIDE_MAX_K
"""edge/kernels/fe_conv_gemm.h's default CG_MAX_K (the widened paths' largest k)."""

_GEMM_CALL = re.compile(r"\b(fe_conv2d|fe_fully_connected_rows)\(\s*&(\w+)\s*,")
_PARAMS = re.compile(r"\b(fe_conv_params|fe_fc_params)\s+(\w+)\s*=\s*\{([^{}]*)\}")
_FIELD = re.compile(r"\.(\w+)\s*=\s*(-?\d+)\b")


def gemm_max_k(files: dict[str, str]) -> int | None:
    """The most values per output (filter_h * filter_w * in_c; a FULLY_CONNECTED's accum_depth)
    of any call the generated C makes into CONV_2D's GEMM family (``fe_conv2d``,
    ``fe_fully_connected_rows``), read from its parameter initialisers (every build variant's);
    0 without such calls, None when a call's parameters are not all constant initialisers."""
    called = {m[2] for text in files.values() for m in _GEMM_CALL.finditer(text)}
    ks: dict[str, list[int]] = {}
    for text in files.values():
        for kind, name, body in _PARAMS.findall(text):
            f = {k: int(v) for k, v in _FIELD.findall(body)}
            keys = ("filter_h", "filter_w", "in_c") if kind == "fe_conv_params" else ("accum_depth",)
            if name in called:
                if not all(k in f for k in keys):
                    return None
                k = f[keys[0]] * f[keys[1]] * f[keys[2]] if len(keys) == 3 else f[keys[0]]
                ks.setdefault(name, []).append(k)
    if called - ks.keys():
        return None
    return max((k for v in ks.values() for k in v), default=0)


def kernel_defines(files: dict[str, str]) -> tuple[str, ...]:
    """``-DCG_MAX_K=N`` for a model whose GEMM calls all have k <= N < 192 (N: the largest
    rounded up to a multiple of 4): the kernels' widened-pair buffer (4 N bytes) and im2col row
    (N bytes) sized for this model's calls rather than any model's, every call taking the path
    it takes with the default (bit-exact, same instructions); () when the default is needed or
    the calls cannot be read (:func:`gemm_max_k`)."""
    k = gemm_max_k(files)
    if k is None:
        return ()
    n = max(4, -(-k // 4) * 4)
    return (f"-DCG_MAX_K={n}",) if n < CG_MAX_K else ()
