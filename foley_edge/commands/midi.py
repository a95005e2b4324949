"""foley-edge midi encode|decode|show: MIDI file <-> event tokens, listings, piano rolls."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``midi`` and its sub-commands."""
    p = sub.add_parser("midi", help="MIDI file <-> event tokens, readable listing, piano roll")
    msub = p.add_subparsers(dest="midi_command", metavar="ACTION", required=True)

    enc = msub.add_parser("encode", help="MIDI file -> int16 token array (.npy)")
    enc.add_argument("input", type=Path, help="a .mid file")
    enc.add_argument("--out", type=Path, required=True, help="tokens .npy to write")
    enc.add_argument("--instrument", type=int, default=None, help="encode only this instrument")
    enc.add_argument("--sustain", action="store_true", help="lengthen notes under the pedal")
    enc.set_defaults(func=_encode)

    dec = msub.add_parser("decode", help="token array (.npy) -> MIDI file")
    dec.add_argument("input", type=Path, help="a tokens .npy (1-D integers)")
    dec.add_argument("--out", type=Path, required=True, help=".mid to write")
    dec.add_argument("--program", type=int, default=0, help="General MIDI program (0 = piano)")
    dec.set_defaults(func=_decode)

    show = msub.add_parser("show", help="readable listing of a .mid or tokens .npy")
    show.add_argument("input", type=Path, help="a .mid file or a tokens .npy")
    show.add_argument("--plot", type=Path, default=None, help="also draw a piano roll PNG here")
    show.add_argument("--limit", type=int, default=200, help="list at most this many tokens")
    show.set_defaults(func=_show)


def _encode(args: argparse.Namespace) -> int:
    import numpy as np

    from edge.data.clip import write_atomic
    from edge.midi.codec import encode
    from edge.midi.show import report_text

    enc = encode(args.input, instrument=args.instrument, sustain=args.sustain)
    buf = io.BytesIO()
    np.save(buf, enc.tokens)
    write_atomic(args.out, buf.getvalue())
    print(report_text(enc.report))
    print(f"wrote {args.out} ({len(enc.tokens)} tokens)")
    return 0


def _load_tokens(path: Path) -> np.ndarray:
    """Read a 1-D integer token array from ``.npy``; :class:`MidiError` if it is not one."""
    import numpy as np

    from edge.midi import MidiError

    if not path.exists():
        raise MidiError(f"{path}: no such token file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise MidiError(f"{path}: not a readable .npy token array ({e})") from e
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise MidiError(
            f"{path}: expected a 1-D integer token array, found {arr.dtype} {list(arr.shape)}"
        )
    return arr


def _decode(args: argparse.Namespace) -> int:
    from edge.midi.codec import decode, write_midi

    tokens = _load_tokens(args.input)
    pm = decode(tokens, program=args.program)
    write_midi(pm, args.out)
    n = len(pm.instruments[0].notes)
    print(f"wrote {args.out} ({n} notes, {pm.get_end_time():.2f} s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from edge.midi.codec import decode, encode
    from edge.midi.notes import Note
    from edge.midi.reader import read_midi
    from edge.midi.show import content_summary, plot_piano_roll, report_text, token_listing

    if args.input.suffix.lower() == ".npy":
        tokens = _load_tokens(args.input)
        inst = decode(tokens).instruments[0]
        notes = [Note(n.pitch, n.start, n.end, n.velocity) for n in inst.notes]
        print(f"{args.input}: {len(tokens)} tokens, {len(notes)} notes")
    else:
        content = read_midi(args.input)
        print(content_summary(content))
        enc = encode(args.input)
        print(report_text(enc.report))
        tokens, notes = enc.tokens, list(enc.notes)
    print(token_listing(tokens, limit=args.limit))
    if args.plot is not None:
        plot_piano_roll(notes, args.plot, title=f"{args.input.name}: {len(notes)} notes")
        print(f"wrote {args.plot}")
    return 0
