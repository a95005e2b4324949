"""Give every LayerNorm's centred input its own int8 range (the converter gives it the norm's).

A :class:`edge.model.layers.LayerNorm` converts to MEAN, SQUARED_DIFFERENCE, MEAN, ADD, RSQRT,
SUB, MUL (gamma and beta fold into the Dense layers that read it). The converter quantizes the
SUB — the centred input ``x - mean`` — with the scale and zero point of the MUL after it, the
normalised output ``(x - mean) · rsqrt(var + eps)``, not with the range calibration saw for it.
Where the variance is small the centred values are a fraction of the normalised ones and get
a few dozen int8 steps: measured on the shipped student's first decoder norm, 0.05 per step
for values whose standard deviation is 0.2–0.7. Where it is large (> 1) they overflow the range
and clip.

:func:`norm_ranges` records the float range of every norm's seven internal tensors over the
export's own calibration feeds (the norms' QAT hook, :class:`edge.model.qat.NormQuant`, in
recording mode), and :func:`pin_norm_centres` rewrites each SUB's output to its own range.
MUL and SUB derive their fixed-point multipliers from the tensors' scales when they are
prepared, so the edited model is exact integer arithmetic, as with :mod:`export.int8.pin`:
TFLite Micro, the LiteRT reference and the generated C compute it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from edge.model.build import Models
from export.int8.errors import ExportError
from export.int8.flat import edit_model, op_name
from export.int8.pin import _set_group

CENTRED = 5
"""Index of the centred input (``x - mean``) in :attr:`edge.model.layers.LayerNorm.INTERNALS`."""


def norm_ranges(models: Models, encoder_feeds: Sequence[Mapping[str, np.ndarray]],
                step_feeds: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``{norm layer name: [7, 2] float (min, max) of each internal tensor}`` over the float
    batch-1 ``models``' encoder and decoder-step runs on these feeds (the calibration's)."""
    from edge.model.layers import LayerNorm
    from edge.model.qat import NormQuant

    norms = [layer for layer in models.train.layers if isinstance(layer, LayerNorm)]
    hooks = {layer.name: NormQuant() for layer in norms}
    before = [layer.internals for layer in norms]
    for layer in norms:
        layer.internals = hooks[layer.name]
        hooks[layer.name].start()
    try:
        for feed in encoder_feeds:
            models.encoder(feed["keypoints"], training=False)
        for feed in step_feeds:
            models.step(dict(feed), training=False)
    finally:
        for layer, hook in zip(norms, before, strict=True):
            layer.internals = hook
    out = {name: h.seen() for name, h in hooks.items()}
    missed = sorted(name for name, r in out.items() if not np.isfinite(r).all())
    if missed:
        raise ExportError(f"LayerNorm ranges: the calibration feeds never reached {missed}")
    return out


def _norm_of(tensor_name: str, names: Iterable[str]) -> str | None:
    """The norm whose scope names ``tensor_name`` (``.../<norm>_1/sub``), if any."""
    parts = tensor_name.split("/")
    for name in names:
        if any(p == name or p.startswith(name + "_") and p[len(name) + 1:].isdigit()
               for p in parts[:-1]):
            return name
    return None


def pin_norm_centres(flat: bytes, ranges: Mapping[str, np.ndarray], *, where: str) -> bytes:
    """``flat`` with every LayerNorm's SUB (the SUB whose output one MUL multiplies by an
    RSQRT) given its own calibrated range from ``ranges`` (:func:`norm_ranges`). Raises
    :class:`ExportError` for such a SUB no norm in ``ranges`` names."""
    def edit(model: Any) -> None:
        sg = model.subgraphs[0]
        ops = [(op_name(model, op), op) for op in sg.operators or []]
        made = {int(op.outputs[0]): name for name, op in ops}
        for name, op in ops:
            if name != "SUB":
                continue
            out = int(op.outputs[0])
            muls = [m for n, m in ops if n == "MUL" and out in [int(i) for i in m.inputs]]
            if len(muls) != 1 or not any(made.get(int(i)) == "RSQRT" for i in muls[0].inputs):
                continue
            tname = sg.tensors[out].name
            norm = _norm_of(tname.decode() if isinstance(tname, bytes) else str(tname), ranges)
            if norm is None:
                raise ExportError(f"{where}: LayerNorm SUB '{tname!r}' (tensor {out}) matches none "
                                  f"of the calibrated norms {sorted(ranges)}")
            lo, hi = (float(v) for v in ranges[norm][CENTRED])
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            scale = max(hi - lo, 1e-9) / 255.0
            _set_group(model, out, scale, int(np.clip(round(-128 - lo / scale), -128, 127)), where)

    return edit_model(flat, edit)
