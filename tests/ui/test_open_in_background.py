"""A project file is read and checked off the GUI thread (issue 17): the
window paints and runs its timers meanwhile, a slow open shows a dialog
whose Cancel keeps the open project, and a loader's failure is one line."""

import threading
import time

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

from mtl_studio.core.fileformat import save
from mtl_studio.ui import app as app_module
from mtl_studio.ui import document as document_module
from mtl_studio.ui import opening
from tests.helpers import two_task_project


def saved_project(tmp_path, name="other"):
    project = two_task_project()
    project.name = name
    path = tmp_path / f"{name}.mtl.json"
    save(project, path)
    return path


def slow_load(monkeypatch, gate: threading.Event | None = None, seconds=0.0):
    """The real loader, behind a slow disk (seconds) or one that answers
    only when the test says so (gate); records the threads it ran on."""
    threads = []
    real = opening.load

    def load(path):
        threads.append(threading.current_thread())
        if gate is not None:
            gate.wait(30)
        time.sleep(seconds)
        return real(path)

    monkeypatch.setattr(opening, "load", load)
    return threads


def test_the_file_is_read_and_checked_off_the_gui_thread(make_window, tmp_path, monkeypatch):
    window = make_window()
    threads = slow_load(monkeypatch)
    checked_on = []
    real_check = opening.check
    monkeypatch.setattr(
        opening, "check", lambda *a: checked_on.append(threading.current_thread()) or real_check(*a)
    )
    validated = []
    real_validate = document_module.validate
    monkeypatch.setattr(
        document_module,
        "validate",
        lambda *a: validated.append(threading.current_thread()) or real_validate(*a),
    )
    path = saved_project(tmp_path)
    assert window.open_path(path, ask=False)
    assert window.document.project.name == "other" and window.document.path == path
    gui = threading.main_thread()
    assert threads and threads[0] is not gui
    assert checked_on and checked_on[0] is not gui
    # The Document took the thread's findings rather than checking again on
    # the GUI thread.
    assert validated == checked_on
    assert window.document.shapes


def test_the_window_runs_its_timers_while_a_slow_file_is_read(make_window, tmp_path, monkeypatch):
    window = make_window()
    slow_load(monkeypatch, seconds=1.0)
    ticks, dialogs = [], []

    def tick():
        ticks.append(time.perf_counter())
        dialogs.extend(d for d in window.findChildren(QProgressDialog) if d.isVisible())

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    started = time.perf_counter()
    assert window.open_path(saved_project(tmp_path), ask=False)
    timer.stop()
    took = time.perf_counter() - started
    assert took >= 1.0
    # The GUI thread went on: ticks all through the second the file took.
    assert len([t for t in ticks if t - started < took]) >= 8
    # Past SHOW_AFTER_MS a dialog said what is going on; it is gone now.
    assert dialogs and "Opening other.mtl.json" in dialogs[0].labelText()
    assert not [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
    assert window.document.project.name == "other"


@pytest.mark.parametrize("how", ["button", "escape"])
def test_cancel_keeps_the_open_project(make_window, tmp_path, monkeypatch, qtbot, how):
    window = make_window()
    before = window.document
    gate = threading.Event()
    slow_load(monkeypatch, gate=gate)

    def cancel_when_shown():
        shown = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        if shown and how == "button":
            shown[0].findChild(QPushButton).click()  # as the user does
        elif shown:
            qtbot.keyClick(shown[0], Qt.Key_Escape)
        else:
            QTimer.singleShot(20, cancel_when_shown)

    QTimer.singleShot(20, cancel_when_shown)
    try:
        assert not window.open_path(saved_project(tmp_path), ask=False)
    finally:
        gate.set()  # the abandoned read ends; what it read is dropped
    assert window.document is before
    assert "cancelled" in window.notice.text()
    # The abandoned thread's late news changes nothing.
    qtbot.wait(200)
    assert window.document is before


def test_a_loader_bug_is_one_line_naming_the_file(make_window, tmp_path, monkeypatch):
    window = make_window()
    before = window.document

    def broken(path):
        raise RuntimeError("an unforeseen\nfailure")

    monkeypatch.setattr(opening, "load", broken)
    path = saved_project(tmp_path)
    assert not window.open_path(path, ask=False)
    assert window.document is before
    message = window.messages[-1]
    assert str(path) in message and "RuntimeError" in message and "\n" not in message


def test_the_start_opens_the_named_file_or_says_why(qtbot, tmp_path, monkeypatch):
    warnings = []
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    monkeypatch.setenv(app_module.PROBE, "1")  # no recovery question at start
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    path = saved_project(tmp_path)
    window = app_module.open_window(str(path), settings)
    qtbot.addWidget(window)
    assert window.document.project.name == "other" and window.document.path == path
    assert str(path.resolve()) in window.recent_files()

    bad = tmp_path / "bad.mtl.json"
    bad.write_text("{")
    second = app_module.open_window(str(bad), settings)
    qtbot.addWidget(second)
    assert second.document.path is None and not second.document.project.nodes
    assert warnings and str(bad) in warnings[-1]
    for w in (window, second):
        w.close()
    QApplication.processEvents()
