"""Autosave and recovery (issue 17): a recovery copy while there are
unsaved changes, gone on save and on a clean close, offered after a crash
or a kill; a window killed with SIGKILL gets its edit back at the next
start."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mtl_studio.core import recovery as core
from mtl_studio.core.commands import SetProjectName
from mtl_studio.core.fileformat import load, save
from mtl_studio.ui import app as app_module
from mtl_studio.ui import recovery
from tests.helpers import two_task_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def unsaved_folder(tmp_path, monkeypatch):
    """Copies of never-saved projects go to the test's folder."""
    folder = tmp_path / "recovery"
    monkeypatch.setenv(recovery.FOLDER_VARIABLE, str(folder))
    return folder


def copies(folder):
    if not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.name.endswith(core.SUFFIX))


def settle(window):
    window.autosave.writer.wait()


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def orphan_copy(path, project, original, pid, made=None):
    """A copy as a window of process `pid` would have left it."""
    record = json.loads(core.snapshot(project, original))
    record["pid"] = pid
    if made is not None:
        record["made"] = made
    core.write(path, json.dumps(record))
    return path


def saved_window(make_window, tmp_path, name="p.mtl.json"):
    window = make_window()
    path = tmp_path / name
    assert window._save_to(path)
    return window, path


def test_a_copy_while_unsaved_gone_on_save(make_window, tmp_path):
    window, path = saved_window(make_window, tmp_path)
    window.autosave.tick()
    settle(window)
    assert copies(tmp_path) == []  # nothing unsaved: no copy
    window.document.push(SetProjectName("edited"))
    window.autosave.tick()
    settle(window)
    (copy,) = copies(tmp_path)
    assert copy.name.startswith(f".p.mtl.json.{os.getpid()}.")
    header = core.read_header(copy)
    assert header.original == path and header.pid == os.getpid() and header.alive
    assert core.read_project(header).name == "edited"
    assert window.save()
    settle(window)
    assert copies(tmp_path) == []


def test_an_unsaved_project_goes_to_the_data_folder_and_undo_to_clean_removes_it(
    make_window, unsaved_folder
):
    window = make_window()
    window.document.push(SetProjectName("edited"))
    window.autosave.tick()
    settle(window)
    (copy,) = copies(unsaved_folder)
    assert copy.name.startswith(f"untitled.{os.getpid()}.")
    assert core.read_header(copy).original is None
    window.document.undo()  # back to the state the window started with
    settle(window)
    assert copies(unsaved_folder) == []
    window.document.push(SetProjectName("edited again"))
    window.autosave.tick()
    settle(window)
    assert len(copies(unsaved_folder)) == 1
    window.close()  # "Save the changes?" is answered Discard: a clean close
    assert copies(unsaved_folder) == []


def test_the_timer_writes_the_copy(make_window, unsaved_folder, qtbot):
    window = make_window()
    window.autosave.timer.setInterval(50)
    window.document.push(SetProjectName("edited"))
    qtbot.waitUntil(lambda: len(copies(unsaved_folder)) == 1, timeout=5000)


def test_two_windows_of_one_project_keep_their_own_copies(make_window, tmp_path):
    first, path = saved_window(make_window, tmp_path)
    second = make_window(name="second.ini")
    assert second.open_path(path)
    for window, name in ((first, "one"), (second, "two")):
        window.document.push(SetProjectName(name))
        window.autosave.tick()
        settle(window)
    assert len(copies(tmp_path)) == 2
    # Both are this process' live windows: neither copy is offered.
    assert recovery.copies_at_start(first) == []
    first.document.undo_stack.set_clean()
    settle(first)
    (left,) = copies(tmp_path)
    assert core.read_project(core.read_header(left)).name == "two"


def test_only_orphans_are_offered_and_on_open_only_newer_than_the_file(
    make_window, tmp_path, monkeypatch
):
    path = tmp_path / "p.mtl.json"
    save(two_task_project(), path)
    project = two_task_project()
    project.name = "lost_edit"
    live = orphan_copy(tmp_path / ".p.mtl.json.1.1.recovery", project, path, os.getppid())
    older = orphan_copy(tmp_path / ".p.mtl.json.2.1.recovery", project, path, dead_pid(), made=1.0)
    newer = orphan_copy(tmp_path / ".p.mtl.json.3.1.recovery", project, path, dead_pid())
    asked = []
    monkeypatch.setattr(recovery, "ask", lambda parent, copy: asked.append(copy) or recovery.LATER)
    window = make_window()
    assert window.open_path(path)
    assert [c.path for c in asked] == [newer]
    asked.clear()
    assert not window.offer_recovery()  # at start: every orphan, newest first
    assert [c.path for c in asked] == [newer, older]
    assert all(p.exists() for p in (live, older, newer))  # Later keeps them
    assert "saved after that" in recovery.question(asked[1])


def click_when_shown(qtbot, button_text, seen):
    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        for button in box.buttons():
            if button.text() == button_text:
                button.click()
                return

    QTimer.singleShot(20, click)


def test_the_question_says_when_and_later_keeps_discard_deletes(make_window, tmp_path, qtbot):
    path = tmp_path / "p.mtl.json"
    save(two_task_project(), path)
    copy_file = orphan_copy(
        tmp_path / ".p.mtl.json.9.1.recovery", two_task_project(), path, dead_pid()
    )
    window = make_window()
    window._add_recent(path)
    seen = []
    click_when_shown(qtbot, "Later", seen)
    assert not window.offer_recovery()
    assert copy_file.exists()
    assert str(path) in seen[0] and "less than a minute ago" in seen[0]
    click_when_shown(qtbot, "Discard", seen)
    assert not window.offer_recovery()
    assert not copy_file.exists()


def test_a_damaged_copy_is_left_alone(make_window, tmp_path, monkeypatch):
    path = tmp_path / "p.mtl.json"
    save(two_task_project(), path)
    (tmp_path / ".p.mtl.json.9.1.recovery").write_text("{not json")
    monkeypatch.setattr(recovery, "ask", lambda *a: pytest.fail("nothing to offer"))
    window = make_window()
    assert window.open_path(path)


KILLED_WINDOW = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from mtl_studio.core.commands import SetProjectName
    from mtl_studio.ui import app

    qapp = QApplication([])
    window = app.open_window(sys.argv[1], QSettings(sys.argv[2], QSettings.IniFormat))
    window.document.push(SetProjectName("edited_before_the_kill"))

    def autosaved():
        written = window.autosave.written
        if written is not None and written.exists():
            print("autosaved", written, flush=True)
        else:
            QTimer.singleShot(50, autosaved)

    QTimer.singleShot(50, autosaved)
    qapp.exec()
""")


def test_a_window_killed_after_an_edit_gets_it_back_at_the_next_start(
    tmp_path, qtbot, monkeypatch, unsaved_folder, no_leaked_widgets
):
    path = tmp_path / "p.mtl.json"
    save(two_task_project(), path)
    settings_file = str(tmp_path / "settings.ini")
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        **{core.AUTOSAVE_SECONDS_VARIABLE: "0.2", recovery.FOLDER_VARIABLE: str(unsaved_folder)},
    )
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WINDOW, str(path), settings_file],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        line = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert line.startswith("autosaved"), line
    (left,) = copies(tmp_path)
    assert core.read_header(left).pid == process.pid and not core.read_header(left).alive
    assert load(path).name == two_task_project().name  # the file never had the edit

    asked = []
    monkeypatch.setattr(
        recovery, "ask", lambda parent, copy: asked.append(copy) or recovery.RESTORE
    )
    window = app_module.open_window(str(path), QSettings(settings_file, QSettings.IniFormat))
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.document.project.name == "edited_before_the_kill")
        assert [c.path for c in asked] == [left]
        assert window.document.path == path and window.document.is_modified
        assert window.isWindowModified()
        settle(window)
        (own,) = copies(tmp_path)  # the killed window's copy became this one's
        assert core.read_header(own).pid == os.getpid()
        assert window.save()
        settle(window)
        assert copies(tmp_path) == []
        assert load(path).name == "edited_before_the_kill"
    finally:
        window.document.undo_stack.set_clean()
        window.close()
