"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train a few steps and agree on weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from test_evaluate import FAST, TINY, WINDOW  # noqa: E402
from test_train_helpers import fake_dataset  # noqa: E402

from edge.train import TrainError  # noqa: E402
from edge.train.run import load_run  # noqa: E402
from edge.train.strategy import check_tf_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_tf_config_errors() -> None:
    with pytest.raises(TrainError, match="needs TF_CONFIG in the environment, found none"):
        check_tf_config({})
    with pytest.raises(TrainError, match="TF_CONFIG must look like"):
        check_tf_config({"TF_CONFIG": '{"cluster": {}}'})
    bad = json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}})
    with pytest.raises(TrainError, match="task index must be in 0..0, found 3"):
        check_tf_config({"TF_CONFIG": bad})


@pytest.mark.slow
def test_two_workers_on_localhost_finish_and_agree(tmp_path: Path) -> None:
    data = fake_dataset(tmp_path / "data", 4, 1, 1)
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for i in range(2):
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                        "task": {"type": "worker", "index": i}})}
        cmd = [sys.executable, "-m", "foley_edge", "train", "--data", str(data),
               "--out", str(tmp_path / f"run{i}"), "--strategy", "multiworker", *FAST, *TINY,
               *WINDOW]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    try:
        outs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
    (_, a), (_, b) = load_run(tmp_path / "run0"), load_run(tmp_path / "run1")
    wa, wb = a.train.get_weights(), b.train.get_weights()
    assert len(wa) == len(wb) > 10
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-6)
    steps = [json.loads((tmp_path / f"run{i}" / "metrics.json").read_text())["history"][-1]["steps"]
             for i in range(2)]
    assert steps[0] == steps[1] > 0
