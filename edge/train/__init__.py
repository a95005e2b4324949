"""Training and distillation: windows, augmentation, schedules, the distributed loop, runs.

Modules: :mod:`windows` (clips -> encoder windows + per-hop token sequences), :mod:`augment`,
:mod:`schedule` (Noam warm-up), :mod:`strategy` (one|mirrored|multiworker), :mod:`loop`
(custom ``tf.distribute`` loop with checkpoints/resume/progress bar), :mod:`run` (run folder),
:mod:`api` (train_teacher, distill_student).
"""

from edge.errors import FoleyEdgeError


class TrainError(FoleyEdgeError, ValueError):
    """Bad training data, configuration or run folder."""


MARGIN_ANCHORS = ("self", "teacher", "teacher2", "target", "neutral", "guided")
"""Whose top-1 token quantization-aware training's margin term keeps ahead (``foley-edge qat
--margin-anchor``, :func:`edge.train.losses.anchor_tokens`):

* ``self``: the model's own float top-1 as it trains;
* ``teacher``: the frozen RUN's (the fine-tune cannot drift from RUN's choices by reinforcing
  its own);
* ``teacher2``: the model's own where it is one of RUN's two best, RUN's otherwise (RUN's
  near-ties, e.g. adjacent velocity bins, may be settled either way, nothing further);
* ``target``: the ground truth (a multi-class hinge);
* ``neutral``: ``teacher2``, but the model's own wherever onset F1 cannot tell its two best
  tokens apart (:func:`edge.train.losses.onset_neutral`), weighted ``--neutral-weight``;
* ``guided``: the same on those steps, elsewhere the ground truth where it is one of RUN's two
  best and RUN's top-1 otherwise (the near-ties onset F1 scores are settled towards the right
  token).

Here, not in :mod:`edge.train.qat`, so the command line's parser can list them without importing
numpy."""

FLOAT_INPUTS = ("raw", "rounded")
"""Which keypoints quantization-aware training's float passes (the frozen RUN it distils from
and the float model its margin term reads) see (``foley-edge qat --float-input``): the
windows as they are (``raw``, what the export's float model is compared on) or rounded to the
int8 input's grid like the simulated int8 pass (``rounded``, the original behaviour, which
trains the float model only on grid points and so leaves it sensitive to the sub-step detail
the int8 model never sees)."""
