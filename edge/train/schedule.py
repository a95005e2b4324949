"""The Noam warm-up schedule of "Attention is all you need" (used by Foley Music)."""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable("foley_edge")
class Noam(keras.optimizers.schedules.LearningRateSchedule):
    """``factor · d^-0.5 · min(step^-0.5, step · warmup^-1.5)``; peaks at ``step = warmup``."""

    def __init__(self, d_model: int, warmup: int = 400, factor: float = 1.0) -> None:
        self.d_model, self.warmup, self.factor = d_model, warmup, factor

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32") + 1.0
        arg = keras.ops.minimum(keras.ops.rsqrt(step), step * (self.warmup**-1.5))
        return self.factor * (self.d_model**-0.5) * arg

    def get_config(self) -> dict[str, Any]:
        return {"d_model": self.d_model, "warmup": self.warmup, "factor": self.factor}
