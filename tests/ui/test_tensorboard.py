"""Open in TensorBoard: a real TensorBoard on a runs folder with one event
file, found at its port, listing the run; and the ways it cannot start."""

import json
import os
import sys
import urllib.request

import pytest
from PySide6.QtGui import QDesktopServices

from mtl_studio.training.tf_import import tf
from mtl_studio.ui import tensorboard
from mtl_studio.ui.tensorboard import TensorBoardLauncher

# Straight to 127.0.0.1, whatever proxy the environment names.
_local = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get_json(url: str):
    with _local.open(url, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def _write_run(runs, name: str) -> None:
    """One run folder as a training run leaves it: NAME/tensorboard/events..."""
    t = tf()
    writer = t.summary.create_file_writer(str(runs / name / "tensorboard"))
    with writer.as_default(step=1):
        t.summary.scalar("train_loss/total", 0.5)
    writer.flush()
    writer.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def launcher(qtbot, monkeypatch):
    """A launcher whose messages and opened addresses are kept (no browser opens)."""
    opened = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True)
    )
    launcher = TensorBoardLauncher()
    launcher.messages = []
    launcher.opened = opened
    launcher.message.connect(launcher.messages.append)
    yield launcher
    launcher.stop()
    launcher.deleteLater()


def _wait_started(qtbot, launcher) -> None:
    qtbot.waitUntil(lambda: launcher.url is not None or not launcher.running, timeout=60_000)
    assert launcher.url is not None, launcher.messages


def test_opens_tensorboard_on_the_runs_folder(qtbot, tmp_path, launcher):
    runs = tmp_path / "runs"
    _write_run(runs, "run-1")
    launcher.open(runs, "demo.mtl.json")
    assert launcher.starting
    _wait_started(qtbot, launcher)

    url = f"http://127.0.0.1:{launcher.port}/"
    assert launcher.url == url
    assert launcher.opened == [url]
    assert launcher.messages[-1] == f"TensorBoard at {url} (runs/ of demo.mtl.json)"
    # TensorBoard reads the folder in the background: the run shows soon.
    qtbot.waitUntil(lambda: "run-1/tensorboard" in _get_json(url + "data/runs"), timeout=30_000)
    tags = _get_json(url + "data/plugin/scalars/tags")
    assert "train_loss/total" in tags["run-1/tensorboard"]

    # Again on the same folder: the same TensorBoard, the browser again.
    pid = launcher.process.processId()
    launcher.open(runs, "demo.mtl.json")
    assert launcher.opened == [url, url]
    assert launcher.process.processId() == pid

    # Another project's folder: a new TensorBoard; the old one ends.
    other = tmp_path / "other" / "runs"
    _write_run(other, "run-2")
    launcher.open(other, "other.mtl.json")
    assert not _alive(pid)
    _wait_started(qtbot, launcher)
    assert launcher.messages[-1].endswith("(runs/ of other.mtl.json)")
    second = launcher.url
    qtbot.waitUntil(lambda: "run-2/tensorboard" in _get_json(second + "data/runs"), timeout=30_000)

    pid = launcher.process.processId()
    launcher.stop()
    assert not launcher.running and launcher.process is None
    assert not _alive(pid)
    with pytest.raises(OSError):
        _local.open(second, timeout=5)


def test_no_runs_folder_says_so_and_starts_nothing(tmp_path, launcher):
    launcher.open(tmp_path / "runs", "demo.mtl.json")
    assert launcher.process is None
    assert "no runs yet: train first" in launcher.messages[-1]
    (tmp_path / "runs").mkdir()
    launcher.open(tmp_path / "runs", "demo.mtl.json")
    assert launcher.process is None
    assert "no runs yet: train first" in launcher.messages[-1]
    assert launcher.opened == []


def test_stop_when_never_started_is_harmless(launcher):
    launcher.stop()
    launcher.stop()
    assert launcher.process is None and launcher.messages == []


def test_missing_package_gives_the_pip_command(tmp_path, launcher, monkeypatch):
    _write_run(tmp_path / "runs", "run-1")
    monkeypatch.setattr(tensorboard, "tensorboard_installed", lambda: False)
    launcher.open(tmp_path / "runs", "demo.mtl.json")
    assert launcher.process is None
    assert launcher.messages[-1] == (
        f'TensorBoard is not installed: install it with "{sys.executable}" -m pip install '
        "tensorboard"
    )


def test_early_exit_reports_its_last_error_line(qtbot, tmp_path, launcher, monkeypatch):
    _write_run(tmp_path / "runs", "run-1")
    script = (
        "import sys; print('a warning', file=sys.stderr); "
        "print('ERROR: could not bind to port', file=sys.stderr); sys.exit(3)"
    )
    monkeypatch.setattr(
        tensorboard, "tensorboard_command", lambda logdir, port: (sys.executable, ["-c", script])
    )
    launcher.open(tmp_path / "runs", "demo.mtl.json")
    qtbot.waitUntil(lambda: not launcher.running, timeout=20_000)
    assert launcher.messages[-1] == (
        "TensorBoard could not start (exited with code 3): ERROR: could not bind to port"
    )
    assert launcher.opened == [] and launcher.process is None


def test_no_answer_in_time_stops_it(qtbot, tmp_path, launcher, monkeypatch):
    _write_run(tmp_path / "runs", "run-1")
    monkeypatch.setattr(
        tensorboard,
        "tensorboard_command",
        lambda logdir, port: (sys.executable, ["-c", "import time; time.sleep(60)"]),
    )
    launcher.timeout_ms = 1000
    launcher.open(tmp_path / "runs", "demo.mtl.json")
    pid = launcher.process.processId()
    qtbot.waitUntil(lambda: launcher.process is None, timeout=10_000)
    assert launcher.messages[-1] == "TensorBoard did not answer within 1 s; stopped it"
    assert not _alive(pid)
    assert launcher.opened == []
