"""``python -m export.fuzz``: a fuzz run of the model, clip and MIDI readers, or one case
replayed (see :mod:`export.fuzz`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edge.errors import FoleyEdgeError
from export.fuzz import FuzzError
from export.fuzz.case import FAILURES, CaseResult, case_input
from export.fuzz.harness import DEFAULT_LIMIT_S, DEFAULT_MEMORY_BYTES, run_fuzz
from export.fuzz.targets import resolve_target


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m export.fuzz", description=__doc__)
    p.add_argument("--models", type=int, default=1000, help="mutated .tflite models")
    p.add_argument("--clips", type=int, default=200, help="mutated .npz clips")
    p.add_argument("--midi", type=int, default=200, help="mutated MIDI files")
    p.add_argument("--zoo", type=int, default=0,
                   help="mutated larger zoo models (attention, gcn, kv_decoder_step; slower)")
    p.add_argument("--tflm", type=int, default=0,
                   help="mutated models the reader accepts, into TFLite Micro's arena measurement")
    p.add_argument("--seed", type=int, default=0, help="seed of every mutant")
    p.add_argument("--first", type=int, default=0, help="index of the first case")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--limit-s", type=float, default=DEFAULT_LIMIT_S,
                   help="time limit of one case (over it: a hang)")
    p.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_BYTES >> 20,
                   help="memory one case may allocate (over it: a MemoryError traceback)")
    p.add_argument("--replay", metavar="TARGET:INDEX",
                   help="run one case here, with its full traceback")
    p.add_argument("--save", type=Path, metavar="FILE", help="with --replay: write the mutant")
    return p


def _replay(spec: str, seed: int, save: Path | None) -> int:
    name, sep, index = spec.rpartition(":")
    if not sep or not index.isdigit():
        raise FuzzError(f"--replay {spec!r}: expected TARGET:INDEX, e.g. model:1234")
    target = resolve_target(name)
    data, what = case_input(name, target, target.seeds(), seed, int(index))
    print(f"{spec} (seed {seed}): {len(data)} bytes; {what}")
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_bytes(data)
        print(f"wrote {save}")
    stages: list[str] = []
    try:
        target.run(data, stages)
    except FoleyEdgeError as e:  # the outcome a mutant should have; anything else: traceback
        print(f"stages: {' -> '.join(stages)}\nclear error: {type(e).__name__}: {e}")
        return 0
    except BaseException:
        print(f"stages: {' -> '.join(stages)}")
        raise
    print(f"stages: {' -> '.join(stages)}\nok")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz command line; 1 when a case failed."""
    args = _parser().parse_args(argv)
    if args.replay:
        return _replay(args.replay, args.seed, args.save)
    done = 0
    shown = time.monotonic()

    def progress(r: CaseResult) -> None:
        nonlocal done, shown
        done += 1
        if r.outcome in FAILURES:
            print(f"FAIL {r.target}:{r.index} {r.outcome} at {r.stage}: {r.error}: {r.message}",
                  file=sys.stderr, flush=True)
        if time.monotonic() - shown > 10:
            shown = time.monotonic()
            print(f"... {done} cases", file=sys.stderr, flush=True)

    cases = {"model": args.models, "zoo": args.zoo, "tflm": args.tflm, "clip": args.clips,
             "midi": args.midi}
    report = run_fuzz(cases,
                      seed=args.seed, jobs=args.jobs, first=args.first, limit_s=args.limit_s,
                      memory_bytes=args.memory_mb << 20, on_result=progress)
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
