"""Analytic size of a model on the device: parameters, int8 flash, SRAM (activations + state).

Counts follow the layers of :mod:`edge.model.encoder` and :mod:`edge.model.decoder` exactly
(a test checks the parameter count against Keras). Bytes assume full int8: weights 1 byte,
biases int32 (4 bytes), activations and caches 1 byte per value.

The activation peak is an *estimate* for a simple sequential schedule: for every op, its input
plus its output plus whatever must stay alive around it (a block's input until its residual add;
the encoder's cross K/V while later layers are projected). The memory planner
(``export/planner``) computes the real arena of a converted model; this function is for picking
sizes before training. Persistent state = keypoint window + self-attention K/V caches + cross
K/V + logits, all alive across decoder steps.
"""

from __future__ import annotations

from edge import vocab
from edge.model.config import ModelConfig, StudentConfig
from edge.skeleton import N_JOINTS

FLASH_BUDGET_BYTES = 700 * 1024
"""int8 weights the student may use (the firmware needs the rest of the 1 MB flash)."""
SRAM_BUDGET_BYTES = 320 * 1024
"""Activations + persistent state on the STM32F746 class board."""
SRAM_TARGET_BYTES = 128 * 1024
"""The stretch goal for activations + state."""

_K = 3  # ST-GCN partition subsets


def _dense(n_in: int, n_out: int) -> tuple[int, int]:
    """(weights, biases) of a Dense layer."""
    return n_in * n_out, n_out


def _encoder_params(cfg: ModelConfig) -> tuple[int, int]:
    w = b = 0
    c_in = cfg.input_channels
    for i, c in enumerate(cfg.gcn_channels):
        w += N_JOINTS * N_JOINTS * _K  # edge importance (folds with A into a constant)
        dw, db = _dense(_K * c_in, c)
        w, b = w + dw + cfg.temporal_kernel * c * c, b + db + c
        if i and c != c_in:
            dw, db = _dense(c_in, c)
            w, b = w + dw, b + db
        c_in = c
    d = cfg.d_model
    for n_in, n_out in ((N_JOINTS, cfg.joint_groups), (c_in * cfg.joint_groups, d)):
        dw, db = _dense(n_in, n_out)
        w, b = w + dw, b + db
    w += cfg.n_memory * d + 2 * d  # memory positions, final norm
    w += cfg.layers * 2 * d * d  # cross K/V projections
    b += cfg.layers * 2 * d
    return w, b


def _decoder_params(cfg: ModelConfig) -> tuple[int, int]:
    d, f = cfg.d_model, cfg.ffn
    w = vocab.VOCAB_SIZE * d + cfg.clock_bins * d + 2 * d
    b = 0
    per_w = 6 * d * d + 2 * d * f + 6 * d  # 4 self + 2 cross projections, FFN, 3 norms
    per_b = 6 * d + f + d
    w, b = w + cfg.layers * per_w, b + cfg.layers * per_b
    return w + d * vocab.VOCAB_SIZE, b + vocab.VOCAB_SIZE


def _encoder_peak(cfg: ModelConfig) -> int:
    t, c_in, peak = cfg.window_frames, cfg.input_channels, 0
    v = N_JOINTS
    if cfg.motion_gain:  # window [W,V,3] -> scaled -> motion features [W-1,V,4]
        peak = 2 * t * v * 3 + (t - 1) * v * c_in
        t -= 1
    for i, (c, s) in enumerate(zip(cfg.gcn_channels, cfg.gcn_strides, strict=True)):
        t_out = (t - cfg.temporal_kernel) // s + 1
        x = t * v * c_in
        held = t_out * v * c if i else 0  # residual branch (sliced first) awaits the add
        agg = t * c_in * v * _K
        steps = [(x, x), (x, agg), (agg, agg), (agg, t * v * c), (t * v * c, t_out * v * c)]
        peak = max(peak, *(a + o + held for a, o in steps))
        t, c_in = t_out, c
    m, d = cfg.n_memory, cfg.d_model
    tail = [(t * v * c_in, t * v * c_in), (t * v * c_in, m * c_in * cfg.joint_groups),
            (m * c_in * cfg.joint_groups, m * d)]
    return max(peak, *(a + o for a, o in tail))


def _step_peak(cfg: ModelConfig) -> int:
    d, length = cfg.d_model, cfg.max_tokens
    attention = 2 * length * d + 2 * length * d + cfg.heads * length * 2  # K,V concat + heads
    return max(attention, cfg.ffn + 3 * d, d + 2 * vocab.VOCAB_SIZE)


def estimate_budget(cfg: ModelConfig) -> dict[str, int | bool]:
    """Parameters, int8 flash and SRAM estimate of ``cfg`` and whether they fit the budgets."""
    ew, eb = _encoder_params(cfg)
    dw, db = _decoder_params(cfg)
    kv_cache = 2 * cfg.layers * cfg.cache_len * cfg.d_model
    cross = 2 * cfg.layers * cfg.n_memory * cfg.d_model
    window = cfg.window_frames * N_JOINTS * 3
    state = kv_cache + cross + window + vocab.VOCAB_SIZE
    activations = max(_encoder_peak(cfg), _step_peak(cfg))
    weight_bytes = ew + dw + 4 * (eb + db)
    return {
        "params": ew + eb + dw + db,
        "encoder_params": ew + eb,
        "decoder_params": dw + db,
        "int8_weight_bytes": weight_bytes,
        "kv_cache_bytes": kv_cache,
        "cross_kv_bytes": cross,
        "window_bytes": window,
        "persistent_bytes": state,
        "encoder_peak_activation_bytes": _encoder_peak(cfg),
        "step_peak_activation_bytes": _step_peak(cfg),
        "peak_activation_bytes": activations,
        "sram_bytes": activations + state,
        "fits_flash": weight_bytes <= FLASH_BUDGET_BYTES,
        "fits_sram": activations + state <= SRAM_BUDGET_BYTES,
        "fits_sram_target": activations + state <= SRAM_TARGET_BYTES,
    }


def estimate_student_budget(cfg: StudentConfig | None = None) -> dict[str, int | bool]:
    """:func:`estimate_budget` of the student (default config when ``cfg`` is None)."""
    return estimate_budget(cfg or StudentConfig())
