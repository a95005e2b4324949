"""Speed figure: per-token and per-hop instructions and the real-time factor they imply.

Per hop the board runs the encoder once and the decoder step once per token. At Foley Music's
worst case of :data:`benchmarks.board.FOLEY_TOKENS_PER_S` tokens per second, one second of
music costs ``tokens_per_s * step + encoder / hop_seconds`` instructions. Assuming one
instruction per cycle at the board's clock, the real-time factor is that count divided by the
clock: below 1.0 the board keeps up (1 - rtf is the idle share). This is an estimate: QEMU counts
instructions, not cycles.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealTime:
    """What the measured instructions imply for live decoding on one board."""

    board: str  # emulated board the counts come from
    model: str  # "student", "teacher", "zoo kv_decoder_step", ...
    encoder_instructions: int  # one encoder run (0 when the model has none)
    step_instructions: int  # one decoder step (one token)
    hop_seconds: float  # seconds of music per encoder run
    tokens_per_hop: float  # tokens decoded per hop at the worst-case rate
    hop_instructions: int  # encoder + tokens_per_hop * step
    clock_hz: int  # reference clock (216 MHz STM32F746 class)
    tokens_per_s: float  # worst-case token rate
    step_ms: float  # one step at clock_hz, milliseconds
    realtime_factor: float  # compute seconds per second of music (< 1: keeps up)


def real_time(board: str, model: str, encoder: int, step: int, hop_seconds: float,
              clock_hz: int, tokens_per_s: float) -> RealTime:
    """The :class:`RealTime` of one encoder/step pair (see the module docstring)."""
    per_hop = tokens_per_s * hop_seconds
    hop = int(round(encoder + per_hop * step))
    return RealTime(board=board, model=model, encoder_instructions=encoder,
                    step_instructions=step, hop_seconds=hop_seconds, tokens_per_hop=per_hop,
                    hop_instructions=hop, clock_hz=clock_hz, tokens_per_s=tokens_per_s,
                    step_ms=round(1000.0 * step / clock_hz, 4),
                    realtime_factor=round(hop / hop_seconds / clock_hz, 4))
