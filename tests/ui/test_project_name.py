"""The project's name in the window, and where Save As starts (issue 11,
items 5 and 9)."""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from mtl_studio.core.settings import DataSource
from tests.helpers import two_task_project


def answer_save_as(monkeypatch, answers: list, seen: list) -> None:
    """The Save As dialog answers the next path of `answers` ("" cancels)
    and keeps where it was asked to start in `seen`."""
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        lambda parent, title, start, filters: seen.append(start) or (str(answers.pop(0)), ""),
    )


def untitled():
    project = two_task_project()
    project.name = "untitled"
    return project


def test_the_name_is_edited_in_the_tool_bar_as_one_undo_step(make_window, qtbot):
    window = make_window(untitled())
    assert window.document.project.name == "untitled"
    assert window.name_field.text() == "" and window.name_field.placeholderText() == "untitled"
    window.name_field.setFocus()
    qtbot.keyClicks(window.name_field, "concrete slump")
    qtbot.keyClick(window.name_field, Qt.Key_Return)
    assert window.document.project.name == "concrete slump"
    assert window.document.is_modified
    window.document_undo()
    assert window.document.project.name == "untitled"
    window.view.setFocus()
    qtbot.waitUntil(lambda: window.name_field.text() == "", timeout=1000)


def test_a_refused_name_says_why_and_keeps_the_old_one(make_window, qtbot):
    window = make_window(untitled())
    window.name_field.setText("x" * 500)
    window.name_field.setModified(True)  # as typing does
    window.name_field.editingFinished.emit()
    assert window.document.project.name == "untitled"
    assert window.name_field.text() == ""  # untitled: the placeholder says so
    assert window.notice.text()  # the reason


def test_save_as_of_an_untitled_project_takes_the_file_name(make_window, tmp_path, monkeypatch):
    window = make_window(untitled())
    seen = []
    target, other = tmp_path / "slump test.mtl.json", tmp_path / "copy.mtl.json"
    answer_save_as(monkeypatch, [target, other], seen)
    assert window.save_as()
    assert window.document.project.name == "slump test"
    assert window.name_field.text() == "slump test"
    assert target.exists() and not window.document.is_modified
    # A named project keeps its name under another file name.
    assert window.save_as()
    assert window.document.project.name == "slump test"
    # Save As starts at the project's own file once it has one.
    assert Path(seen[-1]) == target


def test_save_as_of_a_new_project_starts_beside_its_data_file(make_window, tmp_path, monkeypatch):
    data = tmp_path / "data" / "slump.csv"
    data.parent.mkdir()
    data.write_text("a,b\n1,2\n")
    project = untitled()
    project.data = DataSource("csv", path=str(data))
    window = make_window(project)
    seen = []
    answer_save_as(monkeypatch, [""], seen)
    assert not window.save_as()  # cancelled
    assert Path(seen[0]).parent == data.parent
    assert Path(seen[0]).name == "untitled.mtl.json"
