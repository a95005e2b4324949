"""End to end with a short hop: the firmware streams the encoder, hop by hop, on qemu-m7.

A tiny UNTRAINED student with a 4-frame hop over a 16-frame window (temporal strides 2 and 2:
the hop is a multiple of both, so ``build_firmware`` emits the streamed encoder) is exported
through the real int8 pipeline (:func:`firmware_bridge.boards.default_model.export_pair`,
calibrated on the tiny dataset of ``tests/export/test_int8_tiny.py``; ~30 s, no training: the
test is about bit-exactness, and an untrained decoder emits many tokens per hop, which exercises
every decoder position). Its tokens and raw logits on the board must equal the windowed host
reference (``export.host_decode.decode_clip``) from the first hop — the firmware primes each
stream from its first frame — and the same image built windowed (``stream=False``).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from firmware_bridge.boards.registry import get_board  # noqa: E402
from firmware_bridge.build import build_firmware  # noqa: E402
from firmware_bridge.player import PlaySettings, PlayTarget, play  # noqa: E402
from firmware_bridge.sinks import MemorySink  # noqa: E402
from firmware_bridge.sources import Frame  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.firmware]
HOP, WINDOW = 4, 16
N_FRAMES = 24  # six hops; the first three complete the stream's warm-up (W / H = 4 hops)
FRAME_BYTES = 65 * 3
TINY = Path(__file__).resolve().parents[1] / "export" / "test_int8_tiny.py"


def _tiny_dataset(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("tiny_fixture_for_stream", TINY)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.tiny_dataset(root)


@pytest.fixture(scope="module")
def short_hop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(export folder of the hop-4 tiny student, float keypoints [N_FRAMES, 65, 3])."""
    from edge.data.dataset import load_split
    from edge.model.config import StudentConfig
    from firmware_bridge.boards.default_model import export_pair, untrained_run

    base = tmp_path_factory.getbasetemp()
    data = _tiny_dataset(base / "tiny_data")
    cfg = StudentConfig(window_frames=WINDOW, hop_frames=HOP, gcn_channels=(6, 8),
                        gcn_strides=(2, 2), d_model=32, heads=2, layers=1, ffn=48, max_tokens=16,
                        joint_groups=2, dropout=0.0)
    out = base / "short_hop_export"
    if not (out / "config.json").exists():
        export_pair(untrained_run(base / "short_hop_run", cfg), out, data, waive_targets=True)
    clip = load_split(data, "test")[1]
    return out, clip.keypoints[:N_FRAMES].astype(np.float32)


@pytest.fixture(scope="module")
def reference(short_hop: tuple[Path, np.ndarray]) -> tuple[tuple[int, ...], ...]:
    """The windowed host reference's tokens per hop (our C on the host)."""
    from export.host_decode import decode_clip, load_pair

    export, kp = short_hop
    cfg, enc, step = load_pair(export, "c")
    return decode_clip(cfg, enc, step, kp).hop_tokens


@pytest.fixture(scope="module")
def images(short_hop, tmp_path_factory: pytest.TempPathFactory) -> dict:  # noqa: ANN001
    """{stream: BuildResult} of the model on qemu-m7, streamed (True) and windowed (False),
    both printing every decoder step's logits (FE_DEBUG_LOGITS)."""
    export, _ = short_hop
    work = tmp_path_factory.mktemp("short_hop_fw")
    return {s: build_firmware("qemu-m7", model_dir=export, out_dir=work / str(s), stream=s,
                              defines=("FE_DEBUG_LOGITS",)) for s in (True, False)}


def _play(built, kp: np.ndarray, work: Path):  # noqa: ANN001, ANN202
    target = PlayTarget(board=get_board("qemu-m7"), elf=built.elf, workdir=work / "q")
    frames = [Frame(i, i / 22.0, kp[i]) for i in range(len(kp))]
    res = play(frames, MemorySink(), target, PlaySettings(pace=False))
    logits = [ln for ln in (work / "q" / "qemu.stderr").read_text().splitlines()
              if ln.startswith("logits ")]
    return res, logits


def _symbol(elf: Path, name: str) -> tuple[str, int]:
    """(section, size) of a symbol of ``elf`` (arm-none-eabi-objdump -t)."""
    out = subprocess.run(["arm-none-eabi-objdump", "-t", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[-1] == name:
            m = re.search(r"\s(\.\S+)\s+([0-9a-f]{8})\s+\S+$", line)
            assert m is not None, line
            return m.group(1), int(m.group(2), 16)
    raise AssertionError(f"{name} not in {elf}")


def test_streamed_and_windowed_boards_equal_the_host_reference_from_the_first_hop(
        short_hop, reference, images, tmp_path: Path) -> None:  # noqa: ANN001
    _, kp = short_hop
    sb, wb = images[True], images[False]
    streamed, s_logits = _play(sb, kp, tmp_path / "stream")
    windowed, w_logits = _play(wb, kp, tmp_path / "window")
    # the build chose the streamed encoder for hop 4 (strides 2 x 2), and the windowed one when told
    assert sb.size.stream_hop == HOP and "4-frame hop" in sb.size.stream_note
    assert wb.size.stream_hop == 0 and "--no-stream" in wb.size.stream_note
    assert streamed.hello.hop == HOP and streamed.hello.context_frames == WINDOW
    # token for token, every hop from the first, and the same raw logits at every decoder step
    assert len(reference) == N_FRAMES // HOP and sum(map(len, reference)) > 0
    assert streamed.tokens == reference == windowed.tokens
    assert len(s_logits) == streamed.stats.dec_tokens > 0 and s_logits == w_logits
    assert streamed.stats.enc_runs == windowed.stats.enc_runs == N_FRAMES // HOP
    assert streamed.stats.guard_broken == windowed.stats.guard_broken == 0
    # a hop of the streamed encoder costs a fraction of a windowed invoke
    s_enc = streamed.stats.enc_instr_total / streamed.stats.enc_runs
    w_enc = windowed.stats.enc_instr_total / windowed.stats.enc_runs
    assert s_enc < 0.5 * w_enc


def test_tflm_streams_the_same_hops_as_the_generated_c(
        short_hop, reference, images, tmp_path: Path) -> None:  # noqa: ANN001
    """--runtime tflm streams too (export/tflm/stream.py: the rings' states as explicit inputs
    and outputs, copied over after each invoke): the same tokens and logits from the first hop
    (what a hop costs each runtime is the bench's streamed table)."""
    from firmware_bridge.tflm.sources import peer_missing

    if (why := peer_missing()) is not None:
        pytest.skip(why)
    export, kp = short_hop
    built = build_firmware("qemu-m7", model_dir=export, out_dir=tmp_path / "tflm",
                           runtime="tflm", defines=("FE_DEBUG_LOGITS",))
    assert built.size.stream_hop == HOP and "encoder_stream.cc" in \
        {p.name for p in (tmp_path / "tflm").rglob("*.cc")}
    peer, p_logits = _play(built, kp, tmp_path / "tflm-stream")
    ours, o_logits = _play(images[True], kp, tmp_path / "c-stream")
    assert peer.tokens == ours.tokens == reference
    assert len(p_logits) == peer.stats.dec_tokens > 0 and p_logits == o_logits
    assert peer.stats.guard_broken == 0 and not peer.progress.errors
    assert peer.stats.enc_runs == N_FRAMES // HOP


def test_streamed_image_keeps_its_state_in_the_persistent_area(short_hop, images) -> None:  # noqa: ANN001
    from firmware_bridge.boards.model_sources import model_sources

    export, _ = short_hop
    gen = model_sources(export)
    assert gen.stream_hop == HOP and gen.state_bytes > 0
    assert "encoder_stream.c" in gen.files and "#define FE_MC_PRIME_HOPS 3u" in \
        gen.files["fe_model_config.h"]
    s, w = images[True], images[False]
    section, size = _symbol(s.elf, "encoder_persistent")  # the rings' blocks
    assert section == ".persistent" and size >= gen.persistent_bytes["encoder"] >= gen.state_bytes
    # the keypoint ring shrinks from the window to one hop of frames
    assert _symbol(s.elf, "window_frames") == (".persistent", HOP * FRAME_BYTES)
    assert _symbol(w.elf, "window_frames") == (".persistent", WINDOW * FRAME_BYTES)
    # the streamed encoder's kept rows replace most of the window ring and the windowed arena
    assert s.size.stream_state_bytes == gen.state_bytes
    assert s.size.arena_bytes < w.size.arena_bytes


def test_host_streamed_encoder_equals_the_windowed_one_from_the_first_hop(short_hop) -> None:  # noqa: ANN001
    """export.host_stream.StreamedEncoder (primed as the firmware primes) against the windowed
    encoder on every hop's window, byte for byte; without the priming the first hops differ."""
    from edge.train.windows import hop_ends, window_keypoints
    from export.host_decode import encode_window, load_pair, quantize_keypoints
    from export.host_stream import build_stream_host, stream_inputs
    from export.planner.stream import longest_cut, plan_stream
    from export.tflite_reader import read_tflite

    export, kp = short_hop
    cfg, enc, _ = load_pair(export, "c")
    _, streamed, _ = load_pair(export, "c", stream=True)
    ends = hop_ends(len(kp), cfg, cfg.hop_frames)
    frames = quantize_keypoints(enc.io.inputs["keypoints"], kp)[0]
    hops = streamed.encode_hops(frames, ends)
    for e, got in zip(ends, hops, strict=True):
        want = encode_window(enc, window_keypoints(kp, e, cfg.window_frames))
        assert set(got) == set(want) and all(np.array_equal(got[n], want[n]) for n in want)
    graph = read_tflite((export / "encoder.tflite").read_bytes())
    g2, plan, info = plan_stream(graph, HOP, cut=longest_cut(graph))
    cold = build_stream_host(g2, plan, info, prefix="encoder").run(
        [[x] for x in stream_inputs(frames, HOP, len(ends), 0)])  # no priming: zero state
    first = {n: cold[0][s.position] for n, s in streamed.io.outputs.items()}
    assert any(not np.array_equal(first[n], hops[0][n]) for n in first)


@pytest.mark.parametrize(("hop", "streams"), [(4, True), (8, True), (2, False), (6, False)])
def test_stream_choice_follows_the_encoder_strides(short_hop, hop: int, streams: bool) -> None:  # noqa: ANN001
    """The encoder streams whole only at hops that are multiples of its strides (2 x 2 = 4);
    any other hop keeps the windowed encoder, with the planner's reason (like the shipped
    students' 22-frame hop over strides of 4)."""
    from firmware_bridge.boards.model_sources import stream_choice

    export, _ = short_hop
    choice = stream_choice((export / "encoder.tflite").read_bytes(), hop)
    assert (choice.plan is not None) == streams
    if not streams:
        assert choice.note.startswith("windowed encoder:") and "multiple" in choice.note


def test_hop_override_shortens_the_hop_only(short_hop, tmp_path: Path) -> None:  # noqa: ANN001
    """``--hop H`` (default_model.with_hop): a copy of the export decoding every H frames, the
    models byte for byte the same; a longer hop than the model's is refused (its decoder's
    clock has no bins past its own hop)."""
    from edge.model.config import load_config
    from firmware_bridge.boards.default_model import with_hop
    from firmware_bridge.errors import BoardError

    export, _ = short_hop
    two = with_hop(export, 2, tmp_path)
    assert load_config(two / "config.json").hop_frames == 2
    for name in ("encoder.tflite", "decoder_step.tflite"):
        assert (two / name).read_bytes() == (export / name).read_bytes()
    assert with_hop(export, HOP, tmp_path) == export.resolve()
    with pytest.raises(BoardError, match=r"--hop 5: expected 1\.\.4"):
        with_hop(export, 5, tmp_path)
