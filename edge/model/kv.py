"""The decoder step's explicit state: self-attention K/V caches, the additive mask, the clock.

The device keeps exactly this state in persistent SRAM: per layer a K and a V cache of
``L-1`` rows of ``d`` values, and the hop's clock (:mod:`edge.model.clock`). Per hop: reset
(:func:`empty_cache`, cursor 0); per token at position ``p``: build the mask
(:func:`step_mask`), feed the token with the clock bin of the cursor after it, run the step,
write its new rows to row ``p`` (:func:`write_rows`). Pure numpy; batch rows advance in lock
step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge.model.build import cache_names
from edge.model.clock import clock_bin
from edge.model.config import ModelConfig


def empty_cache(cfg: ModelConfig, batch: int) -> dict[str, np.ndarray]:
    """Zeroed caches ``cache_k{i}``/``cache_v{i}``: float32 ``[batch, L-1, d]`` each."""
    shape = (batch, cfg.cache_len, cfg.d_model)
    return {name: np.zeros(shape, np.float32) for name in cache_names(cfg, "cache")}


def step_mask(cfg: ModelConfig, position: int, batch: int) -> np.ndarray:
    """float32 ``[batch, L]``: 0 for cache rows ``< position`` and the last (current) slot,
    ``mask_value`` for cache rows ``>= position``."""
    if not 0 <= position < cfg.max_tokens:
        raise ValueError(f"position must be in 0..{cfg.max_tokens - 1}, found {position}")
    row = np.zeros(cfg.max_tokens, np.float32)
    row[position : cfg.cache_len] = cfg.mask_value
    return np.broadcast_to(row, (batch, cfg.max_tokens)).copy()


def write_rows(
    cfg: ModelConfig, cache: dict[str, np.ndarray], outputs: dict[str, Any], position: int
) -> None:
    """Store the step's ``new_k{i}``/``new_v{i}`` rows at cache row ``position`` (in place).

    The row of the last position (``L-1``) is never needed again and is dropped.
    """
    if position >= cfg.cache_len:
        return
    for cname, nname in zip(cache_names(cfg, "cache"), cache_names(cfg, "new"), strict=True):
        cache[cname][:, position, :] = np.asarray(outputs[nname])[:, 0, :]


def step_inputs(
    cfg: ModelConfig, tokens: np.ndarray, position: int, cache: dict[str, np.ndarray],
    cross: dict[str, Any], cursor_us: np.ndarray,
) -> dict[str, Any]:
    """The step model's input dict for ``tokens [B]`` at ``position``; ``cursor_us [B]`` is each
    sequence's clock after its token (the ``position`` input carries its frame bin)."""
    batch = int(tokens.shape[0])
    return {
        "token": np.asarray(tokens, np.int32).reshape(batch, 1),
        "position": clock_bin(np.asarray(cursor_us), cfg).reshape(batch, 1),
        "mask": step_mask(cfg, position, batch),
        **cache,
        **{name: np.asarray(cross[name]) for name in cache_names(cfg, "cross")},
    }
