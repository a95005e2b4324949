"""foley-edge codegen / infer: C sources for a .tflite, and inference on c | tflm | litert."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import FoleyEdgeError

if TYPE_CHECKING:
    import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``codegen`` and ``infer`` sub-commands."""
    c = sub.add_parser("codegen", help="C sources (model.c/.h) for an int8 .tflite")
    c.add_argument("model", type=Path, help="int8 .tflite model")
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--prefix", default="model",
                   help="C prefix of every symbol and of the file names (default: model)")
    c.add_argument("--persistent", nargs="*", default=[], metavar="TENSOR",
                   help="tensors kept in the persistent area, exposed as {prefix}_state(k): "
                        "indices, tensor names, or a substring of graph input names (e.g. "
                        "'cache' for KV cache inputs); same as plan --persistent")
    c.add_argument("--bands", default="auto", metavar="auto|off|N",
                   help="stream the leading row-wise segment (a GCN encoder's blocks, a CNN's "
                        "first stages) N bands of rows at a time; auto: where it lowers the "
                        "arena by 10%% or more (default: auto; see foley-edge plan)")
    c.add_argument("--patches", default="auto", metavar="auto|off|N",
                   help="run a CNN's leading stage one NxN spatial tile at a time (2-D patches); "
                        "auto: where it plans below the bands' choice (default: auto; see "
                        "foley-edge plan)")
    c.add_argument("--kernels", action="store_true",
                   help="also copy the int8 kernel library sources into --out")
    c.set_defaults(func=run_codegen)
    i = sub.add_parser("infer", help="run an int8 .tflite on .npy inputs with c | tflm | litert")
    i.add_argument("model", type=Path, help="int8 .tflite model")
    i.add_argument("--input", type=Path, action="append", required=True, metavar="X.npy",
                   help="one .npy per model input, in model order (repeat the option)")
    i.add_argument("--output", type=Path, required=True, metavar="Y.npy",
                   help="output .npy (several outputs: Y.npy, Y.1.npy, ...)")
    i.add_argument("--backend", default="c", choices=("c", "tflm", "litert"))
    i.set_defaults(func=run_infer)


def run_codegen(args: argparse.Namespace) -> int:
    """Write the generated C (and optionally the kernels) into ``args.out``."""
    from edge.data.clip import write_atomic
    from export.codegen import KERNEL_DIR, emit_c
    from export.planner.bands import plan_model
    from export.planner.persistent import resolve_persistent
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite
    from foley_edge.commands.plan import parse_bands, parse_patches

    source = read_tflite(args.model)
    graph, plan, banding = plan_model(source, persistent=resolve_persistent(source, args.persistent),
                                      bands=parse_bands(args.bands),
                                      patches=parse_patches(args.patches))
    verify_plan(graph, plan)
    files = emit_c(graph, plan, prefix=args.prefix)
    if args.kernels:
        files.update({k.name: k.read_text() for k in sorted(KERNEL_DIR.glob("*.[ch]"))})
    for name, text in files.items():
        write_atomic(args.out / name, text.encode())
    flash = sum(t.nbytes for t in source.tensors if t.is_constant)
    kind = "tiles" if getattr(banding, "grid", None) else "bands"
    bands = f" ({banding.bands} {kind}: {len(graph.operators)} calls)" if banding else ""
    print(f"{args.model}: {len(source.operators)} operators{bands} -> "
          f"{', '.join(sorted(files)[:2])}{' + kernels' if args.kernels else ''} in {args.out}")
    caller = sum(graph.tensors[t].nbytes for t in plan.caller_tensors)
    p = args.prefix.rstrip("_")
    extra = f", caller's buffers {caller} B ({p}_set_input / _set_output)" if caller else ""
    print(f"arena {plan.arena_bytes} B, persistent {plan.persistent_bytes} B, "
          f"constants {flash} B{extra}")
    return 0


def _load_npy(path: Path) -> np.ndarray:
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise FoleyEdgeError(f"{path}: not a readable .npy file ({e})") from e


def _save_npy(path: Path, arr: np.ndarray) -> None:
    import numpy as np

    from edge.data.clip import write_atomic

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    write_atomic(path, buf.getvalue())


def run_infer(args: argparse.Namespace) -> int:
    """Run one inference and write the outputs."""
    from export.backends import run_model

    outs = run_model(args.model, [_load_npy(p) for p in args.input], args.backend)
    for k, arr in enumerate(outs):
        path = args.output if k == 0 else args.output.with_suffix(f".{k}{args.output.suffix}")
        _save_npy(path, arr)
        print(f"output {k}: {arr.dtype} {arr.shape} -> {path}")
    return 0
