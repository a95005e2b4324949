"""End to end on the emulated boards: the tiny trained model, exported, compiled, streamed.

The tiny model of ``tests/export/test_int8_tiny.py`` (trained once per session) is exported,
built for qemu-m4/m7/m55 through ``build_firmware(model_dir=EXPORT)`` (planner + code generator
+ the generic glue) and a test clip is streamed unpaced through ``firmware_bridge.player.play``.
The device's tokens must equal the host reference (``export.host_decode.decode_clip``) on the
tflm and c backends token for token, the DIN bytes must parse (mido.Parser) into the host's
per-hop TokenToMidi messages, a stream stopped mid-way must leave no note held, and the ACLE and
portable kernels must give the same tokens and the same raw logits (FE_DEBUG_LOGITS).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mido
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from firmware_bridge.boards.registry import get_board  # noqa: E402
from firmware_bridge.build import build_firmware  # noqa: E402
from firmware_bridge.player import PlaySettings, PlayTarget, hop_messages, play  # noqa: E402
from firmware_bridge.player.latency import AUTO_SAFETY_S  # noqa: E402
from firmware_bridge.sinks import MemorySink  # noqa: E402
from firmware_bridge.sources import Frame  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.firmware]
N_FRAMES = 36  # six hops of the tiny model (hop 6, window 12)
TINY = Path(__file__).resolve().parents[1] / "export" / "test_int8_tiny.py"


def _tiny_module():  # noqa: ANN202 - the fixture module
    spec = importlib.util.spec_from_file_location("tiny_fixture_for_firmware", TINY)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(export folder, float keypoints [N_FRAMES, 65, 3] of a held-out clip)."""
    from edge.data.dataset import load_split

    base = tmp_path_factory.getbasetemp()
    _, export = _tiny_module().tiny_export(base)
    clip = load_split(base / "tiny_data", "test")[1]
    return export, clip.keypoints[:N_FRAMES].astype(np.float32)


@pytest.fixture(scope="module")
def reference(tiny: tuple[Path, np.ndarray]) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Host reference tokens per hop on tflm and c."""
    from export.host_decode import decode_clip, load_pair

    export, kp = tiny
    out = {}
    for backend in ("tflm", "c"):
        cfg, enc, step = load_pair(export, backend)
        out[backend] = decode_clip(cfg, enc, step, kp).hop_tokens
    return out


def _frames(kp: np.ndarray) -> list[Frame]:
    return [Frame(i, i / 22.0, kp[i]) for i in range(len(kp))]


def _run(board: str, export: Path, kp: np.ndarray, work: Path, defines: tuple[str, ...] = (),
         runtime: str = "c", **kw):  # noqa: ANN003, ANN202 - (StreamResult, din bytes, console text, sink)
    built = build_firmware(board, model_dir=export, out_dir=work / "fw", defines=defines,
                           runtime=runtime)
    sink = MemorySink()
    target = PlayTarget(board=get_board(board), elf=built.elf, workdir=work / "q")
    res = play(_frames(kp), sink, target, PlaySettings(pace=False), **kw)
    return res, (work / "q" / "din.bin").read_bytes(), (work / "q" / "qemu.stderr").read_text(), sink


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7", "qemu-m55"])
def test_device_tokens_equal_host_reference_and_din(board: str, tiny, reference, tmp_path: Path) -> None:  # noqa: ANN001
    export, kp = tiny
    res, din, _, sink = _run(board, export, kp, tmp_path)
    assert res.hello.board and res.hello.hop == 6 and res.hello.context_frames == 12
    assert len(res.tokens) == N_FRAMES // 6
    assert res.tokens == reference["tflm"] == reference["c"]
    assert sum(map(len, res.tokens)) > 0
    # a hop's events exist only after its last frame: the default playout waits one hop more,
    # plus the 'auto' margin: unpaced, the virtual clock never falls behind, so the safety alone
    assert res.playout_latency_s == pytest.approx(6 / 22.0 + AUTO_SAFETY_S) and res.margin_auto
    assert res.stats.enc_runs == N_FRAMES // 6 and res.stats.guard_broken == 0
    assert res.stats.dec_tokens >= sum(map(len, res.tokens))
    want = [msg for h in res.hops for _, msg in hop_messages(h.tokens, h.start_s)]
    parser = mido.Parser()
    parser.feed(din)
    got = [(x.type, x.note, x.velocity) for x in parser]
    assert got == [(x.type, x.note, x.velocity) for x in want]
    played = [(x.type, x.note) for x in sink.messages if x.type in ("note_on", "note_off")]
    assert sorted(played) == sorted((x.type, x.note) for x in want)
    assert not sink.held_notes


def test_stream_stopped_mid_note_leaves_nothing_held(tiny, tmp_path: Path) -> None:  # noqa: ANN001
    export, kp = tiny
    held_at_stop: list[frozenset] = []
    sent_at_stop: list[int] = []

    class CtrlCOnFirstNote(MemorySink):
        """Ctrl-C the moment the first note sounds (deterministic, whatever the machine's load)."""

        def send(self, msg, *, at_s=None) -> None:  # noqa: ANN001 - mido.Message, float
            super().send(msg, at_s=at_s)
            if msg.type == "note_on" and msg.velocity > 0 and not held_at_stop:
                held_at_stop.append(self.held_notes)
                sent_at_stop.append(len(self.messages))
                raise KeyboardInterrupt("test: Ctrl-C mid-note")

    sink = CtrlCOnFirstNote()
    built = build_firmware("qemu-m7", model_dir=export, out_dir=tmp_path / "fw")
    target = PlayTarget(board=get_board("qemu-m7"), elf=built.elf, workdir=tmp_path / "q")
    with pytest.raises(KeyboardInterrupt):
        # unpaced: the playout runs on a virtual clock the test drives through the stream, so
        # nothing here depends on wall-clock timing or on the machine's load (issue #19)
        play(_frames(np.concatenate([kp] * 2)), sink, target, PlaySettings(pace=False))
    assert held_at_stop and held_at_stop[0] and sink.closed and not sink.held_notes
    after = sink.messages[sent_at_stop[0]:]  # the panic: note-offs, then CC 123
    assert {(0, x.note) for x in after if x.type == "note_off"} == set(held_at_stop[0])
    assert not any(x.type == "note_on" for x in after)
    assert after[-1].type == "control_change" and after[-1].control == 123


def _logits(console: str) -> list[str]:
    return [line for line in console.splitlines() if line.startswith("logits ")]


def test_acle_and_portable_kernels_agree_on_the_board(tiny, reference, tmp_path: Path) -> None:  # noqa: ANN001
    from edge.data.bodyframe import model_keypoints
    from edge.train.windows import window_keypoints
    from export.host_decode import encode_window, load_pair, run_hop

    export, kp = tiny
    acle = _run("qemu-m4", export, kp, tmp_path / "acle", ("FE_DEBUG_LOGITS",))
    port = _run("qemu-m4", export, kp, tmp_path / "portable",
                ("FE_DEBUG_LOGITS", "FE_KERNELS_PORTABLE"))
    assert acle[0].tokens == port[0].tokens == reference["tflm"]
    la, lp = _logits(acle[2]), _logits(port[2])
    assert len(la) == acle[0].stats.dec_tokens > 0
    assert la == lp
    cfg, enc, step = load_pair(export, "tflm")
    seen = model_keypoints(kp, cfg.fps, cfg.input_frame)  # what the host sent the board
    first = run_hop(cfg, step, encode_window(enc, window_keypoints(seen, 6, 12)))
    for p, row in enumerate(first.logits):
        device = bytes.fromhex(la[p].split()[3])
        assert np.array_equal(np.frombuffer(device, np.int8), np.asarray(row, np.int8))


def test_tflm_runtime_plays_the_same_tokens_and_logits_as_the_generated_c(
        tiny, reference, tmp_path: Path) -> None:  # noqa: ANN001
    """--runtime tflm: the same firmware with TFLite Micro + CMSIS-NN running the pair."""
    from firmware_bridge.tflm.sources import peer_missing

    if (why := peer_missing()) is not None:
        pytest.skip(why)
    export, kp = tiny
    ours = _run("qemu-m7", export, kp, tmp_path / "c", ("FE_DEBUG_LOGITS",))
    peer = _run("qemu-m7", export, kp, tmp_path / "tflm", ("FE_DEBUG_LOGITS",), runtime="tflm")
    assert peer[0].hello.model_hash == ours[0].hello.model_hash
    assert peer[0].tokens == ours[0].tokens == reference["tflm"]
    assert sum(map(len, peer[0].tokens)) > 0
    assert peer[1] == ours[1]  # the same DIN MIDI bytes
    logits = _logits(peer[2])
    assert len(logits) == peer[0].stats.dec_tokens > 0 and logits == _logits(ours[2])
    assert peer[0].stats.guard_broken == 0
