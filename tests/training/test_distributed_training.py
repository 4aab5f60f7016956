"""Training under tf.distribute (training/distribute.py): a mirrored run on
2 logical CPU devices and a multi-worker run of 2 processes on 127.0.0.1
take the steps of a one-device run on the same global batches."""

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mtl_studio.cli import main
from mtl_studio.core.fileformat import dumps
from tests.helpers import with_data
from tests.training.conftest import regression_project

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5  # relative, per step and task
# The cases: joint with fixed weights, adaptive weightings, alternating.
# GradNorm reads gradient norms and moves its weights, RLW draws random
# weights in the step; the checkpoint cases train uncertainty weighting.
CASES = ["joint/fixed", "joint/gradnorm", "joint/rlw", "alternating/fixed", "soft_sharing/fixed"]


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    return env


def test_mirrored_on_two_cpu_devices_takes_the_one_device_steps():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests/training/mirrored_runs.py"), *CASES],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, done.stderr[-3000:]
    report = json.loads(lines[0][len("REPORT ") :])
    assert report["replicas"] == 2
    assert set(report["status"].values()) == {"completed"}
    for case, difference in report["differences"].items():
        assert difference <= TOLERANCE, (case, difference)
    # Both directions of a moved checkpoint were compared.
    assert {"checkpoint mirrored->one", "checkpoint one->mirrored"} <= set(report["differences"])
    status, message = report["refused"]
    assert status == "invalid"
    assert "a batch of 1 row (the project's data) cannot be split across 2 replicas" in message


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _project_file(tmp_path, mode, weighting) -> Path:
    project = with_data(regression_project(mode, weighting), tmp_path, rows=48)
    project.training.validation_split = 0.25
    path = tmp_path / f"{mode}-{weighting}.mtl.json"
    path.write_text(dumps(project))
    return path


def _train_losses(folder: Path) -> np.ndarray:
    """history.csv's training losses, by (step, task)."""
    rows = [r for r in csv.DictReader((folder / "history.csv").open()) if r["split"] == "train"]
    return np.array([[float(r["step"]), float(r["loss"])] for r in rows])


@pytest.mark.parametrize(
    "mode, weighting", [("joint", "fixed"), ("joint", "uncertainty"), ("alternating", "fixed")]
)
def test_two_worker_processes_take_the_one_device_steps(tmp_path, mode, weighting):
    project = _project_file(tmp_path, mode, weighting)
    cluster = tmp_path / "cluster.json"
    cluster.write_text(json.dumps({"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "mtl_studio", "train", str(project), "--out", str(out)]
    workers = [
        subprocess.Popen(
            [*command, "--strategy", "multi-worker", "--cluster", str(cluster)]
            + ["--task-index", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for i in range(2)
    ]
    ends = [w.communicate(timeout=300) for w in workers]
    for w, (_, stderr) in zip(workers, ends):
        assert w.returncode == 0, stderr[-3000:]
    assert "training on 2 replicas on 2 workers (this is worker 0)" in ends[0][1]
    assert "worker 0 (the chief) writes the run folder" in ends[1][1]

    single = tmp_path / "single"
    code = main(["train", str(project), "--out", str(single)])
    assert code == 0
    one, two = _train_losses(single), _train_losses(out)
    assert one.shape == two.shape and len(one) > 0
    assert np.array_equal(one[:, 0], two[:, 0])
    assert np.max(np.abs(one[:, 1] - two[:, 1]) / np.abs(one[:, 1])) <= TOLERANCE
    # The chief's run folder says where it trained.
    assert json.loads((out / "summary.json").read_text())["devices"] == [
        "2 replicas on 2 workers (this is worker 0) on CPU"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cluster", "c.json"], "--cluster and --task-index go together"),
        (["--cluster", "c.json", "--task-index", "0"], "--cluster needs --strategy multi-worker"),
        (["--cpu-devices", "0", "--strategy", "mirrored"], "--cpu-devices: expected 1 to 64"),
        (
            ["--strategy", "multi-worker"],
            "a multi-worker run needs its cluster: start it on each worker with",
        ),
    ],
)
def test_strategy_options_that_do_not_fit_are_refused(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    project = _project_file(tmp_path, "joint", "fixed")
    code = main(["train", str(project), "--out", str(tmp_path / "run"), *args])
    assert code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_cluster_file_that_does_not_fit_is_named(tmp_path):
    from mtl_studio.training.distribute import DistributionError, cluster_config

    bad = tmp_path / "c.json"
    bad.write_text('{"worker": "127.0.0.1:1"}')
    with pytest.raises(DistributionError, match="c.json: a cluster file lists its workers"):
        cluster_config(bad, 0)
    bad.write_text('{"worker": ["127.0.0.1:1", "127.0.0.1:2"]}')
    with pytest.raises(
        DistributionError, match="--task-index 2: the cluster in .* has workers 0 to 1"
    ):
        cluster_config(bad, 2)
    # TF_CONFIG's own shape is read too.
    good = tmp_path / "tf_config.json"
    good.write_text(
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}'
    )
    assert cluster_config(good, 1) == {
        "cluster": {"worker": ["a:1", "b:2"]},
        "task": {"type": "worker", "index": 1},
    }


def test_a_worker_that_dies_ends_the_run_with_a_checkpoint_to_resume_from(tmp_path):
    project = _project_file(tmp_path, "joint", "fixed")
    cluster = tmp_path / "cluster.json"
    cluster.write_text(json.dumps({"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "mtl_studio", "train", str(project), "--out", str(out)]
    command += ["--epochs", "100000", "--strategy", "multi-worker", "--cluster", str(cluster)]
    chief, worker = (
        subprocess.Popen(
            [*command, "--task-index", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for i in range(2)
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (out / "checkpoint.npz").exists(), "no epoch ended"
        worker.kill()
        _, stderr = chief.communicate(timeout=150)
    finally:
        for p in (chief, worker):
            p.kill()
            p.wait()
    assert chief.returncode != 0
    assert "worker 1 of the cluster stopped answering" in stderr, stderr[-2000:]
    assert "is whole: start every worker again with --resume to go on" in stderr
    assert "Traceback" not in stderr
    # The checkpoint goes on on one device.
    code = main(["train", "--resume", str(out), "--strategy", "default", "--epochs", "3"])
    assert code == 0
