"""foley-edge search: the best student that fits a board (hardware-aware search).

::

    foley-edge search --board nucleo-f411re --out DIR [--data D] [--budget-minutes 150]
                      [--teacher RUN] [--space default|tiny] [--engine local|ray]

Without ``--data`` the shipped student's dataset recipe is performed once into
``out/cache/synth-50-seed0`` (50 music21 corpus pieces, seed 0: about 2 minutes on a fresh
machine).

Phases, result files and budget rules: :mod:`foley_edge.search.run` and
:mod:`foley_edge.search.result`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from edge.errors import FoleyEdgeError

DEFAULT_COST_CACHE = Path.home() / ".cache" / "foley-edge" / "search"
"""Measured candidate costs, by board and configuration."""
SPACE_NAMES = ("default", "tiny")
"""--space choices (foley_edge.search.space.SPACES, named here so --help imports nothing heavy)."""
DEFAULT_DATA = Path("out") / "cache" / "synth-50-seed0"
"""The dataset a search uses when none is named: the shipped student's recipe."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``search``."""
    from firmware_bridge.boards.registry import BOARDS

    p = sub.add_parser("search", help="hardware-aware student search under a board's budget",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--board", required=True, choices=sorted(BOARDS),
                   help="board whose flash, SRAM and real-time budgets apply")
    p.add_argument("--data", type=Path, default=None,
                   help=f"dataset folder (default: {DEFAULT_DATA}, performed on first use)")
    p.add_argument("--out", type=Path, required=True, help="result folder")
    p.add_argument("--teacher", type=Path, default=None,
                   help="run folder to distil from (default: the shipped student)")
    p.add_argument("--space", choices=SPACE_NAMES, default="default",
                   help="candidate space (default: 1,008 combinations; tiny: 2)")
    p.add_argument("--budget-minutes", type=float, default=150.0,
                   help="bound on the whole search (default 150)")
    p.add_argument("--seeds", type=int, default=5, help="candidates measured to fit the predictor")
    p.add_argument("--finalists", type=int, default=6, help="predicted finalists measured next")
    p.add_argument("--trained", type=int, default=3, help="finalists distilled briefly")
    p.add_argument("--brief-epochs", type=int, default=2, help="epochs of a short trial")
    p.add_argument("--final-epochs", type=int, default=12, help="most epochs of the fine-tuning")
    p.add_argument("--eval-clips", type=int, default=6, help="held-out clips per score")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=400, help="Noam warm-up steps of each trial")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where trials run: here, one after another (default), or as Ray tasks")
    p.add_argument("--ray-address", default=None,
                   help="Ray cluster to join ('auto', 'ray://host:10001'); default: start one")
    p.add_argument("--cache", type=Path, default=DEFAULT_COST_CACHE,
                   help=f"cost cache (default {DEFAULT_COST_CACHE})")
    p.add_argument("--no-inherit", action="store_true",
                   help="trials start from fresh weights (default: the teacher's where they fit)")
    p.add_argument("--resume", action="store_true",
                   help="finish a search whose trials and fine-tuning are in --out (e.g. one "
                        "stopped during export): rebuild its state, run only the last phase")
    p.add_argument("--json", action="store_true", help="print search.json on stdout")
    p.add_argument("--ship", action="store_true",
                   help="copy the winner into edge/model/shipped/<the board's student>/ (what "
                        "build, play and demo use for that board class)")
    p.set_defaults(func=run)


def _data(data: Path | None) -> Path:
    """``data``, or the default dataset, performed now when it is not there yet."""
    if data is not None:
        return data
    if not (DEFAULT_DATA / "manifest.json").is_file():
        from edge.data.synth.build import build_synth_dataset, pieces_from_corpus
        from edge.data.synth.params import PerformerParams

        print(f"performing the default dataset into {DEFAULT_DATA} (50 corpus pieces, seed 0)",
              file=sys.stderr)
        pieces = pieces_from_corpus(50, seed=0, progress=True)
        build_synth_dataset(DEFAULT_DATA, pieces, instrument="piano", seed=0,
                            params=PerformerParams(), source="music21-corpus", workers=2,
                            progress=True)
    return DEFAULT_DATA


def _teacher(args: argparse.Namespace) -> Path:
    if args.teacher is not None:
        return args.teacher
    from edge.model.shipped import shipped_run

    return shipped_run("student")


def settings(args: argparse.Namespace):  # type: ignore[no-untyped-def] # SearchSettings
    """The :class:`~foley_edge.search.run.SearchSettings` of the parsed options."""
    from edge.train.loop import TrainSettings
    from firmware_bridge.boards.registry import get_board
    from foley_edge.search.run import SearchSettings
    from foley_edge.search.space import SPACES
    from foley_edge.search.trials import make_engine

    for name in ("seeds", "finalists", "trained", "brief_epochs", "final_epochs", "eval_clips"):
        if getattr(args, name) < 1:
            raise FoleyEdgeError(f"--{name.replace('_', '-')} must be >= 1, "
                                 f"found {getattr(args, name)}")
    if args.budget_minutes <= 0:
        raise FoleyEdgeError(f"--budget-minutes must be > 0, found {args.budget_minutes}")
    data = _data(args.data)
    if not (data / "manifest.json").is_file():
        raise FoleyEdgeError(f"{data}: not a dataset folder (expected manifest.json from "
                             "'foley-edge data synth')")
    train = TrainSettings(batch_size=args.batch_size, warmup=args.warmup, seed=args.seed)
    return SearchSettings(
        board=get_board(args.board), data=data.resolve(), teacher=_teacher(args).resolve(),
        out=args.out.resolve(), space=SPACES[args.space], cache=args.cache.resolve(),
        train=train, budget_minutes=args.budget_minutes, seeds=args.seeds,
        finalists=args.finalists, trained=args.trained, brief_epochs=args.brief_epochs,
        final_epochs=args.final_epochs, eval_clips=args.eval_clips, inherit=not args.no_inherit,
        engine=make_engine(args.engine, args.ray_address))


def run(args: argparse.Namespace) -> int:
    """Search, write the result folder, print where it is and what won."""
    from foley_edge.search.result import clear_result, finish, ship_winner
    from foley_edge.search.run import run_search

    s = settings(args)
    s.out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        clear_result(s.out)
    start = time.monotonic()

    def progress(line: str) -> None:
        m, sec = divmod(int(time.monotonic() - start), 60)
        print(f"[search {m:3d}:{sec:02d}] {line}", file=sys.stderr, flush=True)

    if args.resume:
        from foley_edge.search.resume import resume_state

        state = resume_state(s)
        progress(f"resumed {s.out}: {len(state.costs)} measured, {len(state.trials)} trials, "
                 f"winner {state.costs[state.winner].label}")
    else:
        state = run_search(s, progress)
    progress("exporting the winner and building its firmware")
    summary = finish(s, state)
    if args.ship:
        progress(f"shipped the winner into {ship_winner(s, summary)}")
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    w = summary["winner"]
    print(f"winner for {s.board.name}: {w['label']} — test onset F1 "
          f"{w['final']['onset_f1']:.3f}, RTF {w['cost']['realtime_factor']:.3f} at "
          f"{s.board.target_hz / 1e6:.0f} MHz, firmware {w['size']['flash_bytes']:,} B flash / "
          f"{w['size']['sram_bytes']:,} B SRAM on {summary['twin']}; results in {s.out}",
          file=sys.stderr)
    return 0
