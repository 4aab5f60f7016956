"""The project's name: set by an undoable command that checks it, followed
through an event (issue 11, item 5)."""

import pytest

from mtl_studio.core.commands import SetProjectName, UndoStack
from mtl_studio.core.project import MAX_PROJECT_NAME, Project, check_project_name
from tests.helpers import two_task_project


def test_setting_the_name_is_one_undo_step_and_views_hear_of_it():
    p = two_task_project()
    stack = UndoStack(p)
    heard = []
    p.events.connect(lambda e: heard.append((e.type, e.data)))
    stack.push(SetProjectName("  Concrete slump  "))
    assert p.name == "Concrete slump" and stack.undo_text == "Rename project"
    assert heard == [("project_changed", {"field": "name", "old": "two tasks"})]
    stack.undo()
    assert p.name == "two tasks"
    stack.redo()
    assert p.name == "Concrete slump"


@pytest.mark.parametrize(
    "name, words",
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("two\nlines", "one line"),
        ("tab\there", "one line"),
        ("x" * (MAX_PROJECT_NAME + 1), f"at most {MAX_PROJECT_NAME} characters, this one has 101"),
        (None, "cannot be empty"),
    ],
)
def test_a_bad_name_is_refused_with_a_reason_and_nothing_changes(name, words):
    p = two_task_project()
    stack = UndoStack(p)
    with pytest.raises(ValueError, match=words):
        stack.push(SetProjectName(name))
    assert p.name == "two tasks" and not stack.can_undo


def test_names_people_use_are_accepted():
    for name in ("Énergie – bâtiments (v2)", "x", "x" * MAX_PROJECT_NAME, "a/b: c?"):
        assert check_project_name(name) == name


def test_undo_puts_back_a_name_from_before_the_rules():
    p = Project("")  # as an old file could hold
    stack = UndoStack(p)
    stack.push(SetProjectName("named"))
    stack.undo()
    assert p.name == ""
