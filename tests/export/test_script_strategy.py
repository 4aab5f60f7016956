"""The exported script's --strategy option (training/distribute.py, copied),
and image folders in the script.

A mirrored run of the script on 2 logical CPU devices takes the steps of
the Trainer's one-device run on the same global batches: each replica
takes its share of each batch, the task losses are the whole batch's, the
gradients the mean over the replicas. Each mirrored script runs in a
process of its own: the CPU must be split before TensorFlow places
anything, and TensorFlow's collectives allow one strategy per process. The
Trainer's reference losses are computed in this process meanwhile.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtl_studio.data import images as image_files
from mtl_studio.export import script_parts as parts
from mtl_studio.export.script import ScriptExportError, script_text, write_script
from mtl_studio.training import distribute
from mtl_studio.training import images as image_decoding
from tests.data.test_image_source_files import image_project, make_folder
from tests.export.test_script import RTOL, assert_same_data, exported, tiny, trainer_run

STEPS = 10  # crosses the end of the first epoch (8 steps)
CASES = {
    "fixed": ("joint", "fixed"),
    "gradnorm": ("joint", "gradnorm"),  # looks at the task gradients
    "alternating": ("alternating", "fixed"),  # one compiled step per task
}
# The functions of distribute.py every script carries, verbatim.
CARRIED = list(parts.DISTRIBUTED)


def _losses(path: Path) -> dict[str, np.ndarray]:
    data = json.loads(path.read_text())
    return {
        task: np.array([np.nan if v is None else v for v in values])
        for task, values in data["losses"].items()
    }


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """For each case: the mirrored script's step losses, the Trainer's, and
    the script's output."""
    folder = tmp_path_factory.mktemp("strategy")
    projects, processes = {}, {}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    for name, (mode, weighting) in CASES.items():
        project = tiny(folder, mode, weighting)
        project.training.steps_per_call = 10000  # speed only
        script = folder / f"{name}.py"
        write_script(project, folder, script)
        projects[name] = project
        args = ["--strategy", "mirrored", "--cpu-devices", "2", "--steps", str(STEPS)]
        args += ["--losses-json", str(folder / f"{name}.json"), "--no-save"]
        processes[name] = subprocess.Popen(
            [sys.executable, str(script), *args],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    results = {}
    try:
        reference = {name: trainer_run(p, folder, STEPS)[0] for name, p in projects.items()}
    finally:
        outputs = {name: p.communicate(timeout=300)[0] for name, p in processes.items()}
    for name in CASES:
        path = folder / f"{name}.json"
        got = _losses(path) if path.exists() else None
        results[name] = (got, reference[name], outputs[name], processes[name].returncode)
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_a_mirrored_script_takes_the_trainer_s_one_device_steps(mirrored, name):
    got, expected, output, code = mirrored[name]
    assert code == 0 and got is not None, output[-3000:]
    for task, values in expected.items():
        assert len(got[task]) == STEPS
        np.testing.assert_array_equal(np.isnan(got[task]), np.isnan(values), err_msg=task)
        np.testing.assert_allclose(
            got[task], values, rtol=RTOL, atol=0, equal_nan=True, err_msg=f"{name}: task {task}"
        )


def test_every_script_carries_distribute_s_functions_verbatim(tmp_path):
    text = script_text(tiny(tmp_path), tmp_path)
    for fn in CARRIED:
        source = inspect.getsource(fn)
        assert text.count(source) == 1, fn.__name__
    assert f"WORKER_TIMEOUT_SECONDS = {distribute.WORKER_TIMEOUT_SECONDS!r}\n" in text
    # The step uses them as the Trainer does; XLA only without a strategy.
    for line in (
        "rows, fraction = local_rows(",
        "parts = loss_parts(SUMS_BATCH, fraction)",
        "losses = share(losses, parts)",
        "tape = ReducedTape(recording)",
        "apply_update(optimizer, grads, variables)",
        "self.first = not tf.distribute.has_strategy()",
        "with (distribution or tf.distribute.get_strategy()).scope():",
    ):
        assert line in text, line
    # Every update goes through apply_update.
    assert "optimizer.apply(" not in text.replace(inspect.getsource(distribute.apply_update), "")
    assert 'STRATEGY = "default"' in text


def test_the_project_s_strategy_is_the_script_s_default(tmp_path):
    project = tiny(tmp_path, "joint", "gradnorm")
    project.training.strategy = "mirrored"
    text = script_text(project, tmp_path)
    assert 'STRATEGY = "mirrored"  # where it trains' in text
    # GradNorm's own optimizer goes through apply_update too.
    assert "apply_update(weight_optimizer, " in text
    assert "[--strategy default|mirrored|multi-worker]" in text


def test_the_script_refuses_options_that_do_not_fit_in_one_line(tmp_path):
    script = tmp_path / "train.py"
    write_script(tiny(tmp_path), tmp_path, script)
    main = exported(script)["main"]
    for args, message in (
        (["--cluster", "c.json"], "--cluster and --task-index go together"),
        (["--task-index", "0"], "--cluster and --task-index go together"),
        (["--cluster", "c.json", "--task-index", "0"], "--cluster needs --strategy multi-worker"),
        (["--cpu-devices", "2"], "--strategy default: --cpu-devices splits the CPU for"),
    ):
        with pytest.raises(SystemExit) as refused:
            main(args)
        text = str(refused.value.code)
        assert text.startswith(message) and "\n" not in text, text


def test_a_cluster_file_that_names_no_workers_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    script = tmp_path / "train.py"
    write_script(tiny(tmp_path), tmp_path, script)
    (tmp_path / "c.json").write_text('{"workers": []}')
    args = ["--strategy", "multi-worker", "--cluster", str(tmp_path / "c.json")]
    with pytest.raises(SystemExit, match="a cluster file lists its workers as"):
        exported(script)["main"]([*args, "--task-index", "0"])
    with pytest.raises(SystemExit, match="needs its cluster"):
        exported(script)["main"](["--strategy", "multi-worker"])


def test_a_worker_other_than_the_chief_writes_no_files(tmp_path, monkeypatch):
    """Worker 1 of a cluster trains and writes neither the losses nor the
    model (the strategy itself is left out here: one device)."""
    script = tmp_path / "train.py"
    write_script(tiny(tmp_path), tmp_path, script)
    main = exported(script)["main"]
    monkeypatch.setitem(main.__globals__, "new_distribution", lambda *args: None)
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}
    for index, written in ((1, False), (0, True)):
        config = {**cluster, "task": {"type": "worker", "index": index}}
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
        losses = tmp_path / f"losses{index}.json"
        main(["--strategy", "multi-worker", "--steps", "1", "--losses-json", str(losses)])
        assert losses.exists() == written
        assert script.with_suffix(".trained.keras").exists() == written


# --- image folders ------------------------------------------------------------------


@pytest.fixture
def image_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(image_files.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path


def test_an_image_project_s_script_decodes_the_images_and_trains_as_the_trainer(image_folder):
    csv = make_folder(image_folder, rows=20, jpegs=2, color=True)
    project = image_project(csv, channels=3)
    project.training.epochs = 3  # 15 training rows: one step an epoch
    project.data.standardize_inputs = True  # never the images
    script = image_folder / "images.py"
    write_script(project, None, script)
    text = script.read_text()
    assert inspect.getsource(image_decoding.decode_images) in text
    assert inspect.getsource(image_files.ImageDecodeError) in text
    assert 'read_images(DATA_FILE, "image", (8, 8, 3))' in text
    assert '"image": table["image"],' in text
    assert_same_data(script, project, None)
    losses = image_folder / "losses.json"
    exported(script)["main"](["--steps", "3", "--no-save", "--losses-json", str(losses)])
    reference, _ = trainer_run(project, None, 3)
    got = _losses(losses)
    for task, values in reference.items():
        np.testing.assert_allclose(got[task], values, rtol=RTOL, atol=0, err_msg=task)


def test_an_image_that_does_not_decode_stops_the_script_with_its_name(image_folder):
    csv = make_folder(image_folder, rows=6)
    project = image_project(csv)
    script = image_folder / "images.py"
    write_script(project, None, script)
    # Damaged after the export (the export checks the images as validate does).
    (image_folder / "imgs" / "img_3.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(SystemExit, match="cannot decode the image imgs/img_3.png"):
        exported(script)["load_data"]()


def test_images_stacked_with_other_columns_are_refused(image_folder):
    csv = make_folder(image_folder, rows=6)
    project = image_project(csv)
    project.data.inputs = {"image": ["image", "brightness"]}
    with pytest.raises(ScriptExportError):
        script_text(project, None)
