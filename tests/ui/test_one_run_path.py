"""The command line, the window's worker and the Python API train through
one run path (training/run.py): the same project and seed give the same
run folder from each."""

import csv
import json

import numpy as np

import mtl_studio as mtl
from mtl_studio.cli import main
from mtl_studio.ui.run_worker import TrainingWorker
from tests.training.test_results import results_project

SAME = (
    "status",
    "steps",
    "epochs",
    "mode",
    "weighting",
    "steps_per_epoch",
    "best_epoch",
    "early_stopped",
    "classes",
    "standardization",
)


def losses(folder):
    rows = list(csv.DictReader((folder / "history.csv").open()))
    return [(r["step"], r["task"], r["split"]) for r in rows], np.array(
        [float(r["loss"]) for r in rows]
    )


def test_cli_worker_and_api_make_the_same_run(qtbot, tmp_path):
    project = results_project(tmp_path, epochs=2)
    path = mtl.save(project, tmp_path / "p.mtl.json")

    assert main(["train", str(path), "--out", str(tmp_path / "cli")]) == 0
    worker = TrainingWorker(project.copy(), tmp_path, tmp_path / "worker")
    with qtbot.waitSignal(worker.finished, timeout=120000):
        worker.start()
    run = mtl.train(mtl.load(path), out=tmp_path / "api")

    folders = [tmp_path / "cli", tmp_path / "worker", run.folder]
    summaries = [json.loads((f / "summary.json").read_text()) for f in folders]
    for summary in summaries[1:]:
        assert {k: summary.get(k) for k in SAME} == {k: summaries[0].get(k) for k in SAME}
    keys0, values0 = losses(folders[0])
    for folder in folders[1:]:
        keys, values = losses(folder)
        assert keys == keys0
        np.testing.assert_allclose(values, values0, rtol=1e-6)
    names = [sorted(p.name for p in f.iterdir()) for f in folders]
    assert names[0] == names[1] == names[2]
