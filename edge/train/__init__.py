"""Training and distillation: windows, augmentation, schedules, the distributed loop, runs.

Modules: :mod:`windows` (clips -> encoder windows + per-hop token sequences), :mod:`augment`,
:mod:`schedule` (Noam warm-up), :mod:`strategy` (one|mirrored|multiworker), :mod:`loop`
(custom ``tf.distribute`` loop with checkpoints/resume/progress bar), :mod:`run` (run folder),
:mod:`api` (train_teacher, distill_student).
"""

from edge.errors import FoleyEdgeError


class TrainError(FoleyEdgeError, ValueError):
    """Bad training data, configuration or run folder."""
