"""Fuzzing of everything that reads a file: .tflite models, .npz clips, MIDI files.

Issue #19's promise: every malformed input gives a clear error of the project's tree
(:class:`~edge.errors.FoleyEdgeError`: ``ReaderError``, ``PlanError``, ``CodegenError``,
``ClipError``, ``MidiError`` ...), never a traceback, a hang, a crash or a multi-gigabyte
allocation. A fuzz run regenerates seeded mutants of small well-formed inputs
(:mod:`export.fuzz.targets`), runs each through its pipeline in a worker process under a time
and memory limit (:mod:`export.fuzz.harness`) and counts the outcomes
(:mod:`export.fuzz.case`).

Runs:

- ``make test`` runs ``tests/export/test_reader_fuzz.py`` (800 models) and
  ``tests/edge/test_loaders_fuzz.py`` (1000 clips, 1000 MIDI files), seed 0, about 20 s on two
  cores, besides the hand-made cases of ``tests/export/test_reader_malformed.py`` and the
  harness's own tests (``tests/export/test_fuzz_harness.py``).
- The long run, by hand::

      .venv/bin/python -m export.fuzz --models 10000 --clips 2000 --midi 2000 --jobs 2

  prints the counts and every failure with a replay command, and exits 1 when there is one.
  ``--seed`` and ``--first`` pick other mutants; the same seed gives the same mutants.
  ``--zoo N`` adds mutants of the larger zoo models (attention, gcn, kv_decoder_step: the
  other operators, band rewrites, persistent state; about 0.4 s each). ``--tflm N`` sends
  mutants the reader accepts into TFLite Micro's arena measurement, which ``foley-edge plan``
  runs in its own process: the tflite-micro wheel aborts on some of them (a few in 10,000).
- One case, in this process with its full traceback, the mutant saved::

      .venv/bin/python -m export.fuzz --seed 0 --replay model:1234 --save /tmp/case.tflite

- The fuzz tests with more cases: ``FOLEY_EDGE_FUZZ_N=10000 .venv/bin/pytest
  tests/export/test_reader_fuzz.py tests/edge/test_loaders_fuzz.py`` (that many of each).
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class FuzzError(FoleyEdgeError, ValueError):
    """A fuzz run cannot start: an unknown target, a worker that does not start, a bad
    argument."""
