"""What is fuzzed: a target is seed inputs, a mutator and the pipeline a mutant goes through.

Built-in targets (:data:`BUILTIN`):

- ``model``: a zoo int8 model (``mlp``, ``cnn``; ``zoo``: ``attention``, ``gcn``,
  ``kv_decoder_step``), mutated byte-wise (:func:`export.fuzz.mutate.mutate_bytes`) or
  structurally (:func:`export.fuzz.models.mutate_model`), then ``read_tflite`` ->
  ``plan_model`` -> ``verify_plan`` -> ``emit_c``, what ``foley-edge plan --no-tflm`` and
  ``foley-edge codegen`` run. A model the compiler refuses but TFLite Micro may run
  (``compiler_ops=False``) goes through ``tflm_plan``, the plan ``foley-edge plan`` writes for
  the peer.
- ``tflm``: the same mutants, those the reader accepts into TFLite Micro's arena measurement
  (``foley-edge plan`` without ``--no-tflm``); not part of ``make test``.
- ``clip``: a small ``.npz`` clip (:mod:`export.fuzz.clips`) into ``load_clip`` (what
  ``data show``, ``export --decode`` and ``play --keypoints`` read), then its MIDI field.
- ``midi``: a small Standard MIDI File (:mod:`export.fuzz.midifiles`) into ``read_midi`` ->
  ``load_pretty_midi`` -> ``encode`` -> ``decode`` (what ``midi encode|show`` run).

A result's stage is the last one started: ``read``, ``plan``, ``verify``, ``emit`` for models
(``plan-peer``: the compiler refused the model, the ReaderError reported, after TFLM's plan of
it was made), ``load``, ``midi`` for clips, ``read``, ``pretty_midi``, ``encode``, ``decode`` for
MIDI files. Another target is any :class:`FuzzTarget` named ``"package.module:ATTRIBUTE"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.fuzz import FuzzError


@dataclass(frozen=True)
class FuzzTarget:
    """Seeds, a mutator and a pipeline."""

    seeds: Callable[[], tuple[bytes, ...]]  # the well-formed inputs mutants start from
    mutate: Callable[[bytes, np.random.Generator], tuple[bytes, str]]  # -> (mutant, what changed)
    run: Callable[[bytes, list[str]], None]  # the pipeline; appends each stage's name as it starts


MODEL_SEEDS: tuple[str, ...] = ("mlp", "cnn")
"""Zoo models the ``model`` target mutates."""

ZOO_SEEDS: tuple[str, ...] = ("attention", "gcn", "kv_decoder_step")
"""Zoo models the ``zoo`` target mutates: the other operators (BATCH_MATMUL, GATHER, SOFTMAX,
MEAN, TRANSPOSE, CONCATENATION ...), band rewrites and persistent tensors, at 0.2 to 3 s a
model that gets through (``model``'s take well under 1 s)."""


def _seeds(names: tuple[str, ...]) -> Callable[[], tuple[bytes, ...]]:
    def seeds() -> tuple[bytes, ...]:
        from export.zoo import zoo_model

        return tuple(zoo_model(name).read_bytes() for name in names)

    return seeds


def _mutate_model(buf: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """45% byte-level, 45% one to three structural edits, 10% both."""
    from export.fuzz.models import mutate_model
    from export.fuzz.mutate import mutate_bytes

    pick = rng.random()
    if pick < 0.45:
        return mutate_bytes(buf, rng)
    data, what = mutate_model(buf, rng, edits=int(rng.choice((1, 1, 2, 3))))
    if pick < 0.9:
        return data, what
    data, more = mutate_bytes(data, rng, max_steps=1)
    return data, f"{what}; {more}"


def _peer_graph(data: bytes) -> Any:
    """The model read for TFLite Micro (``compiler_ops=False``), None when that fails too."""
    from export.tflite_reader import ReaderError, read_tflite

    try:
        return read_tflite(data, compiler_ops=False)
    except ReaderError:
        return None


def _run_model(data: bytes, stages: list[str]) -> None:
    from export.codegen import emit_c
    from export.planner.bands import plan_model
    from export.planner.verify import verify_plan
    from export.tflite_reader import ReaderError, read_tflite

    stages.append("read")
    try:
        graph = read_tflite(data)
    except ReaderError:
        peer = _peer_graph(data)
        if peer is None:
            raise
        from export.tflm.offline_plan import tflm_plan

        stages.append("plan-peer")  # the file is fine but an op is not ours: TFLM's plan
        tflm_plan(peer)
        raise
    stages.append("plan")
    banded, plan, _ = plan_model(graph)
    stages.append("verify")
    verify_plan(banded, plan)
    stages.append("emit")
    emit_c(banded, plan)


MODEL = FuzzTarget(seeds=_seeds(MODEL_SEEDS), mutate=_mutate_model, run=_run_model)
"""``.tflite`` mutants of :data:`MODEL_SEEDS` through the reader, the planner and the code
generator."""

ZOO = FuzzTarget(seeds=_seeds(ZOO_SEEDS), mutate=_mutate_model, run=_run_model)
"""The same for :data:`ZOO_SEEDS`."""


def _run_tflm(data: bytes, stages: list[str]) -> None:
    from export.tflite_reader import read_tflite
    from export.tflm.arena import measure_tflm_arena

    stages.append("read")
    read_tflite(data)
    stages.append("tflm-arena")
    measure_tflm_arena(data)


TFLM = FuzzTarget(seeds=_seeds(MODEL_SEEDS), mutate=_mutate_model, run=_run_tflm)
"""``model``'s mutants that the reader accepts into TFLite Micro's arena measurement (what
``foley-edge plan`` runs after planning, in its own process)."""


def clip_target() -> FuzzTarget:
    """``.npz`` clip mutants through ``load_clip`` (imported when first used)."""
    from export.fuzz import clips

    return FuzzTarget(seeds=clips.seed_clips, mutate=clips.mutate_clip, run=clips.run_clip)


def midi_target() -> FuzzTarget:
    """Standard MIDI File mutants through the MIDI reader and codec."""
    from export.fuzz import midifiles

    return FuzzTarget(seeds=midifiles.seed_midis, mutate=midifiles.mutate_midi,
                      run=midifiles.run_midi)


BUILTIN: dict[str, str] = {"model": "export.fuzz.targets:MODEL", "zoo": "export.fuzz.targets:ZOO",
                           "tflm": "export.fuzz.targets:TFLM",
                           "clip": "export.fuzz.targets:clip_target",
                           "midi": "export.fuzz.targets:midi_target"}
"""Short names of the built-in targets -> where they are."""


def resolve_target(name: str) -> FuzzTarget:
    """The target ``name``: a key of :data:`BUILTIN` or ``"package.module:ATTRIBUTE"`` naming a
    :class:`FuzzTarget` (or a function without arguments that returns one)."""
    spec = BUILTIN.get(name, name)
    module, sep, attr = spec.partition(":")
    if not sep:
        raise FuzzError(f"unknown fuzz target {name!r} (expected one of {', '.join(BUILTIN)} "
                        "or 'package.module:ATTRIBUTE')")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise FuzzError(f"fuzz target {name!r}: cannot import {spec} ({e})") from e
    target = obj if isinstance(obj, FuzzTarget) else obj() if callable(obj) else None
    if not isinstance(target, FuzzTarget):
        raise FuzzError(f"fuzz target {name!r}: {spec} is a {type(obj).__name__}, "
                        "expected a FuzzTarget")
    return target
