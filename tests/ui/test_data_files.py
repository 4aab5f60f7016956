"""Opening a project whose data files are missing or changed: the window
says which, and the user can point to the file (one undo step)."""

from pathlib import Path

from mtl_studio.core import fileformat as ff
from mtl_studio.core.settings import DataSource
from mtl_studio.ui import data_files
from mtl_studio.ui.background import wait_for_background
from tests.helpers import two_task_project


def saved_project(tmp_path: Path, own_data_for_b=False) -> Path:
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "d.csv"
    data.write_text("a,b\n1,2\n")
    project = two_task_project()
    project.data = DataSource("csv", path=str(data), inputs={"x": ["a"]})
    if own_data_for_b:
        other = tmp_path / "data" / "b.csv"
        other.write_text("a,k\n1,x\n")
        project.tasks[1].data = DataSource("csv", path=str(other), inputs={"x": ["a"]})
    ff.save(project, tmp_path / "p.mtl.json")
    return tmp_path / "p.mtl.json"


def open_and_wait(qtbot, window, path: Path) -> None:
    assert window.open_path(path, ask=False)
    wait_for_background()
    qtbot.wait(50)  # the check's answer is queued to the GUI thread


def test_a_missing_file_is_reported_when_the_project_opens(qtbot, make_window, tmp_path):
    path = saved_project(tmp_path)
    (tmp_path / "data" / "d.csv").unlink()
    window = make_window()
    open_and_wait(qtbot, window, path)
    assert any("is missing" in m and "d.csv" in m for m in window.messages)
    assert not window.document.is_modified  # nothing changed without the user


def test_a_changed_file_is_reported(qtbot, make_window, tmp_path):
    path = saved_project(tmp_path)
    (tmp_path / "data" / "d.csv").write_text("a,b\n1,2\n5,6\n")
    window = make_window()
    open_and_wait(qtbot, window, path)
    assert any("changed since the project was saved" in m for m in window.messages)


def test_an_unchanged_project_opens_without_a_word(qtbot, make_window, tmp_path):
    path = saved_project(tmp_path, own_data_for_b=True)
    window = make_window()
    before = len(window.messages)
    open_and_wait(qtbot, window, path)
    assert len(window.messages) == before


def test_locating_a_moved_file_is_one_undo_step(qtbot, make_window, tmp_path, monkeypatch):
    path = saved_project(tmp_path, own_data_for_b=True)
    moved = tmp_path / "elsewhere.csv"
    (tmp_path / "data" / "b.csv").rename(moved)
    window = make_window()
    asked = []
    monkeypatch.setattr(
        data_files, "ask", lambda parent, report: asked.append(report) or data_files.LOCATE
    )
    monkeypatch.setattr(data_files, "choose_file", lambda parent, report, kind: str(moved))
    open_and_wait(qtbot, window, path)
    assert [r.task for r in asked] == ["b"]
    project = window.document.project
    assert project.task("b").data.path == str(moved)
    assert project.task("b").data.inputs == {"x": ["a"]}  # the mapping is kept
    window.document.undo()
    assert project.task("b").data.path == str(tmp_path / "data" / "b.csv")


def test_cancelling_the_file_dialog_changes_nothing(qtbot, make_window, tmp_path, monkeypatch):
    path = saved_project(tmp_path)
    (tmp_path / "data" / "d.csv").unlink()
    window = make_window()
    monkeypatch.setattr(data_files, "ask", lambda parent, report: data_files.LOCATE)
    monkeypatch.setattr(data_files, "choose_file", lambda parent, report, kind: "")
    open_and_wait(qtbot, window, path)
    assert not window.document.is_modified
