"""`mtl-studio train` end to end on tiny runs."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mtl_studio.cli import main
from mtl_studio.core.fileformat import dumps, load
from mtl_studio.core.settings import OptimizerSpec
from mtl_studio.examples import example_path


@pytest.fixture
def tiny_energy(tmp_path):
    """The energy example, shrunk: small trunk, 2 epochs, data path kept
    pointing at the bundled CSV."""
    project = load(example_path("energy"))
    project.node("trunk_1").params["units"] = 8
    project.node("trunk_2").params["units"] = 8
    project.training.epochs = 2
    project.training.batch_size = 64
    project.training.test_split = 0.0  # 768 rows, 20 % held out for validation only
    project.data.path = str(example_path("energy").parent / project.data.path)
    path = tmp_path / "tiny.mtl.json"
    path.write_text(dumps(project))
    return path


def test_train_writes_the_run_folder(capsys, tmp_path, tiny_energy):
    out = tmp_path / "run"
    code = main(["train", str(tiny_energy), "--out", str(out), "--seed", "3"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "heating_load: train loss" in stdout and "trained 2 epoch(s)" in stdout
    assert "epoch 2:" in stderr  # progress on stderr
    # What it trains on: this machine has no GPU.
    assert f"training on CPU ({os.cpu_count()} cores)" in stderr
    assert json.loads((out / "summary.json").read_text())["devices"] == [
        f"CPU ({os.cpu_count()} cores)"
    ]
    assert {p.name for p in out.iterdir()} >= {
        "history.csv",
        "summary.json",
        "model-best.keras",
        "model-last.keras",
        "checkpoint.npz",
        "tensorboard",
        "project.mtl.json",
    }

    rows = list(csv.DictReader((out / "history.csv").open()))
    assert list(rows[0]) == [
        "step",
        "epoch",
        "task",
        "split",
        "loss",
        "weight",
        "wall_seconds",
        "mae",
    ]
    train_rows = [r for r in rows if r["split"] == "train"]
    val_rows = [r for r in rows if r["split"] == "val"]
    steps = 614 // 64  # 768 rows, 20 % held out
    assert len(train_rows) == 2 * 2 * steps
    assert [(r["epoch"], r["task"]) for r in val_rows] == [
        ("1", "heating_load"),
        ("1", "cooling_load"),
        ("2", "heating_load"),
        ("2", "cooling_load"),
    ]
    assert float(val_rows[-1]["mae"]) > 0

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 2 * steps
    assert summary["epochs"] == 2 and summary["mode"] == "joint"
    assert summary["weighting"] == "fixed" and summary["steps_per_second"] > 0
    for task in ("heating_load", "cooling_load"):
        values = summary["tasks"][task]
        assert values["final_train_loss"] > 0 and values["val_loss"] > 0
        assert set(values["val_metrics"]) == {"mae"}
    assert load(out / "project.mtl.json").training.seed == 3

    from mtl_studio.training.tf_import import keras, tf

    model = keras().models.load_model(out / "model-last.keras", safe_mode=True)
    out_of_raw_rows = model.predict({"features": np.zeros((2, 8)) + 300}, verbose=0)
    assert sorted(out_of_raw_rows) == ["cooling_load", "heating_load"]
    tags = set()
    for f in (out / "tensorboard").iterdir():
        for record in tf().compat.v1.train.summary_iterator(str(f)):
            tags |= {v.tag for v in record.summary.value}
    assert {
        "train_loss/heating_load",
        "val_loss/cooling_load",
        "val_mae/heating_load",
        "gradient_cosine/heating_load__cooling_load",
    } <= tags


def test_mode_and_weighting_from_the_command_line(capsys, tmp_path, tiny_energy):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            str(tiny_energy),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--mode",
            "joint",
            "--weighting",
            "gradnorm",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weighting"] == "gradnorm" and summary["epochs"] == 1
    weights = [s["weight"] for s in summary["tasks"].values()]
    assert sum(weights) == pytest.approx(2.0, rel=1e-4)  # renormalised to K


def test_warnings_are_printed_and_the_summary_says_what_trained(capsys, tmp_path, tiny_energy):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            str(tiny_energy),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--mode",
            "alternating",
            "--weighting",
            "pcgrad",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "warning:" in err and "weighting 'pcgrad' applies to joint training" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weighting"] == "fixed" and summary["weighting_set"] == "pcgrad"


def test_invalid_project_exits_1(capsys, tmp_path, tiny_energy):
    project = load(tiny_energy)
    project.remove_task("cooling_load")
    bad = tmp_path / "bad.mtl.json"
    bad.write_text(dumps(project))
    code = main(["train", str(bad), "--out", str(tmp_path / "run")])
    out, _ = capsys.readouterr()
    assert code == 1 and "belongs to no task" in out


def test_bad_data_exits_1_with_file_row_and_column(capsys, tmp_path, tiny_energy):
    csv_path = tmp_path / "energy.csv"
    lines = (
        (example_path("energy").parent / "../data/energy_efficiency.csv").read_text().splitlines()
    )
    lines[5] = "abc" + lines[5][lines[5].index(",") :]  # spreadsheet row 6
    csv_path.write_text("\n".join(lines) + "\n")
    project = load(tiny_energy)
    project.data.path = str(csv_path)
    path = tmp_path / "p.mtl.json"
    path.write_text(dumps(project))
    code = main(["train", str(path), "--out", str(tmp_path / "run")])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"{csv_path}: row 6, column 'relative_compactness'" in err


def test_nan_loss_exits_3_and_keeps_the_model(capsys, tmp_path, tiny_energy):
    project = load(tiny_energy)
    project.data.standardize_inputs = False
    project.training.optimizer = OptimizerSpec("sgd", 1e6)
    path = tmp_path / "p.mtl.json"
    path.write_text(dumps(project))
    out = tmp_path / "run"
    code = main(["train", str(path), "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 3
    assert "became NaN or infinite at step" in err and "task '" in err
    assert json.loads((out / "summary.json").read_text())["status"] == "nan"


def test_unreadable_project_and_bad_resume_exit_2(capsys, tmp_path):
    (tmp_path / "x.mtl.json").write_text("{")
    assert main(["train", str(tmp_path / "x.mtl.json")]) == 2
    assert main(["train", "--resume", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert "not valid JSON" in err and "not a run folder to resume" in err


def test_ctrl_c_stops_cleanly_and_resume_goes_on(tmp_path, tiny_energy):
    project = load(tiny_energy)
    project.training.epochs = 100000
    path = tmp_path / "long.mtl.json"
    path.write_text(dumps(project))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtl_studio", "train", str(path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    history = out / "history.csv"
    deadline = time.time() + 120
    while time.time() < deadline and (not history.exists() or history.stat().st_size < 2000):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "mtl-studio train --resume" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "stopped"
    stopped_at = summary["steps"]
    assert (out / "checkpoint.npz").exists() and (out / "model-last.keras").exists()

    code = main(["train", "--resume", str(out), "--epochs", str(stopped_at // 9 + 2)])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] > stopped_at
    steps = [int(r["step"]) for r in csv.DictReader(history.open()) if r["split"] == "train"]
    assert steps == sorted(steps) and steps[-1] == summary["steps"]
