"""Short decoding hops (issue #20 part 2): the windows and the clock of a hop of H frames,
fine-tuning a run to another hop (clock embedding remapped), evaluation hop by hop, bad hops."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pretty_midi = pytest.importorskip("pretty_midi")

from test_train_helpers import TINY_STUDENT, fake_clip, fake_dataset  # noqa: E402

from edge import vocab  # noqa: E402
from edge.data.bodyframe import model_keypoints  # noqa: E402
from edge.model.build import build_models  # noqa: E402
from edge.model.clock import clock_graph, clock_of_inputs, resize_clock_table  # noqa: E402
from edge.model.config import ModelConfigError, StudentConfig  # noqa: E402
from edge.model.decoding import hop_windows  # noqa: E402
from edge.train import TrainError  # noqa: E402
from edge.train.api import copy_weights_by_name, distill_student, train_teacher  # noqa: E402
from edge.train.loop import TrainSettings  # noqa: E402
from edge.train.run import load_run  # noqa: E402
from edge.train.windows import make_windows  # noqa: E402
from foley_edge.cli import main  # noqa: E402

SHORT = replace(TINY_STUDENT, hop_frames=2, max_tokens=8)  # 91 ms hops in a 12-frame window
FAST = TrainSettings(epochs=1, batch_size=8, warmup=10, lr_factor=2.0, seed=0)
FAST_ARGS = ["--epochs", "1", "--batch-size", "8", "--warmup", "10", "--quiet"]


def _ts(k: int) -> int:
    return vocab.TIME_SHIFT_OFFSET + k


def test_short_hop_targets_are_the_events_of_the_windows_last_frames() -> None:
    clip = fake_clip(0)  # 88 frames, a note at 0.05 + 0.5 k s
    notes = pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)).instruments[0].notes
    w = make_windows([clip], SHORT)
    assert w.hop_end.tolist() == list(range(2, 89, 2)) and w.keypoints.shape[1:] == (12, 65, 3)
    seen = model_keypoints(clip.keypoints, clip.fps, SHORT.input_frame)  # the model's input frame
    total = 0
    for i, e in enumerate(w.hop_end):
        np.testing.assert_array_equal(w.keypoints[i, -1], seen[e - 1])  # no look-ahead
        want = sorted(n.pitch for n in notes if (e - 2) / 22 <= n.start < e / 22)
        t = w.targets[i]
        ons = t[(t >= vocab.NOTE_ON_OFFSET) & (t < vocab.NOTE_OFF_OFFSET)]
        got = sorted(vocab.describe(int(x)).value for x in ons)
        assert got == want, f"hop ending at frame {e}"
        total += len(got)
        shifts = t[(t >= vocab.TIME_SHIFT_OFFSET) & (t < vocab.SOS)] - vocab.TIME_SHIFT_OFFSET
        assert sum(vocab.TIME_SHIFT_US[k] for k in shifts) <= 2 / 22 * 1e6 + 7700  # inside the hop
    assert total == len(notes) == 8 and w.truncated == 0
    # the clock never leaves 0..H, and the training graph's clock is the step callers' clock
    bins = clock_of_inputs(w.inputs, SHORT)
    assert bins.min() == 0 and bins.max() <= 2
    np.testing.assert_array_equal(np.asarray(clock_graph(w.inputs, SHORT)), bins)


def test_clock_bins_of_a_short_hop_by_hand() -> None:
    # 30.944 ms shifts: cursors 0, 30.9, 61.9, 92.8 ms, then + 251.8 ms; frames at 22 fps
    seq = np.array([[vocab.SOS, _ts(5), _ts(5), _ts(5), _ts(20)]])
    assert clock_of_inputs(seq, SHORT).tolist() == [[0, 0, 1, 2, 2]]  # capped at H = 2
    assert clock_of_inputs(seq, replace(SHORT, hop_frames=12)).tolist() == [[0, 0, 1, 2, 7]]
    table = build_models(SHORT).train.get_layer("student_clock_embedding").table
    assert tuple(table.shape) == (3, SHORT.d_model)  # bins 0..H


def test_resize_clock_table_by_hand() -> None:
    old = np.arange(7, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)  # H0 = 6
    assert resize_clock_table(old, 2)[:, 0].tolist() == [0, 1, 6]  # frames 0, 1; end row
    assert resize_clock_table(old, 9)[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 5, 5, 5, 6]
    with pytest.raises(ValueError, match=r"hop_frames must be >= 1, found 0"):
        resize_clock_table(old, 0)
    with pytest.raises(ValueError, match=r"clock table must be \[H0 \+ 1 >= 2, d\], found shape \(7,\)"):
        resize_clock_table(old[:, 0], 2)


@pytest.fixture(scope="module")
def long_hop_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hop")
    data = fake_dataset(root / "data", 4, 1, 2)
    train_teacher(data, root / "hop6", FAST, TINY_STUDENT, progress=False)  # a hop-6 student
    return data, root / "hop6"


def test_init_maps_the_clock_and_copies_every_other_weight(long_hop_run: tuple[Path, Path]) -> None:
    _, run6 = long_hop_run
    src = load_run(run6)[1].train
    dst = build_models(SHORT).train
    copy_weights_by_name(src, dst, str(run6))
    old = {w.path: w.numpy() for w in src.weights}
    for w in dst.weights:
        want = (resize_clock_table(old[w.path], 2) if w.path.endswith("clock_embedding/table")
                else old[w.path])
        np.testing.assert_array_equal(w.numpy(), want, err_msg=w.path)
    with pytest.raises(TrainError, match=r"weight 'student_.*' \(.*\) not found there \(shape .*\); "
                                         r"the model configs must match"):
        copy_weights_by_name(src, build_models(replace(SHORT, d_model=8)).train, str(run6))


def test_fine_tune_to_a_short_hop_and_evaluate_hop_by_hop(
        long_hop_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run6 = long_hop_run
    out = tmp_path / "hop2"
    assert main(["train", "--init", str(run6), "--data", str(data), "--out", str(out),
                 "--set", "hop_frames=2", "--set", "max_tokens=8", "--stride", "2",
                 *FAST_ARGS]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["init"] == str(run6)
    model = cfg["model"]  # the init run's model, changed only by --set
    assert (model["kind"], model["hop_frames"], model["max_tokens"]) == ("student", 2, 8)
    assert (model["d_model"], model["gcn_channels"]) == (16, [6, 8])
    # resuming the finished fine-tune keeps its model and where it started (no --set, no --init)
    assert main(["train", "--resume", "--data", str(data), "--out", str(out), "--stride", "2",
                 *FAST_ARGS]) == 0
    again = json.loads((out / "config.json").read_text())
    assert again["model"] == model and again["init"] == str(run6)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--data", str(data), "--split", "test",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["hop_frames"], res["hop_seconds"]) == (2, pytest.approx(2 / 22))
    assert res["clips"] == 2 and 0.0 <= res["onset_f1"] <= res["onset_only_f1"] <= 1.0
    for row in res["per_clip"]:
        assert row["onset_f1"] <= row["onset_only_f1"]
    # evaluation decodes every 2-frame hop of the 88-frame clip, each window ending at its hop
    cfg2, _ = load_run(out)
    kp = fake_clip(200).keypoints
    windows, ends = hop_windows(kp, cfg2)
    assert ends == list(range(2, 89, 2)) and windows.shape == (44, 12, 65, 3)
    seen = model_keypoints(kp, cfg2.fps, cfg2.input_frame)  # the model's input frame
    np.testing.assert_array_equal(windows[:, -1], seen[np.asarray(ends) - 1])


def test_bad_hops_give_clear_errors(long_hop_run: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    data, run6 = long_hop_run
    for h in (0, 45):
        with pytest.raises(ModelConfigError, match=rf"'hop_frames' must be in 1..window_frames=44, "
                                                   rf"found {h}"):
            StudentConfig(hop_frames=h)
    assert main(["train", "--init", str(run6), "--data", str(data), "--out", str(tmp_path / "x"),
                 "--set", "hop_frames=13", *FAST_ARGS]) == 2
    assert "'hop_frames' must be in 1..window_frames=12, found 13" in capsys.readouterr().err
    with pytest.raises(TrainError, match=r"student 'hop_frames' must equal the teacher's 6 \(.*\), "
                                         r"found 2; .* foley-edge train --init .* --set hop_frames=2"):
        distill_student(run6, data, tmp_path / "y", FAST, SHORT)
    clip = fake_clip(0, seconds=0.05)  # one frame: shorter than a hop of 2
    with pytest.raises(TrainError, match="needs at least one hop of 2 frames, found 1"):
        make_windows([clip], SHORT)
