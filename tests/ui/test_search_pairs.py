"""The weight search's Pareto front of three tasks (ui/search_view.py): a
scatter of a chosen pair of tasks, the front's trials marked but not joined
(a front over three tasks is no line in a pair's plane)."""

import pytest

from mtl_studio.study.search import SearchResult, SearchTrial
from mtl_studio.ui.search_view import SearchView

FIGURES = [  # trial -> (a, b, c): lower is better for a and b, higher for c
    (0.1, 0.9, 0.5),
    (0.5, 0.2, 0.4),
    (0.6, 0.6, 0.9),
    (0.7, 0.8, 0.3),  # beaten by trial 2 on every task
]


def three_task_result() -> SearchResult:
    trials = [
        SearchTrial(
            n,
            {"a": 1.0, "b": 1.0 + n, "c": 2.0},
            None,
            list(f),
            "complete",
            dict(zip("abc", f)),
        )
        for n, f in enumerate(FIGURES)
    ]
    return SearchResult(
        "pareto",
        "p",
        "sqlite:///x",
        ["a", "b", "c"],
        {"a": "mae", "b": "mae", "c": "accuracy"},
        {"a": False, "b": False, "c": True},
        trials,
        front=trials[:3],
    )


@pytest.fixture
def view(qtbot):
    view = SearchView()
    qtbot.addWidget(view)
    view.show()
    view.show_result(three_task_result())
    return view


def test_three_tasks_plot_a_chosen_pair(view):
    assert view.plot.isVisibleTo(view) and view.pair_row.isVisibleTo(view)
    assert view.pair == ("a", "b")
    points, front = view.points()
    assert sorted(front) == [(0.1, 0.9), (0.5, 0.2), (0.6, 0.6)]
    assert (0.7, 0.8) in points and len(points) == 4
    assert view.front_line.getData()[0] is None or len(view.front_line.getData()[0]) == 0
    assert "may look beaten on the two tasks plotted" in view.heading.text()
    assert view.table.rowCount() == 3  # the front, every task's figure

    view.y_combo.setCurrentIndex(view.y_combo.findText("c"))
    view.y_combo.activated.emit(view.y_combo.currentIndex())
    assert view.pair == ("a", "c")
    assert sorted(view.points()[1]) == [(0.1, 0.5), (0.5, 0.4), (0.6, 0.9)]
    assert view.plot.getAxis("left").labelText.startswith("c: ")
    assert "higher is better" in view.plot.getAxis("left").labelText
    # The chosen trial's ring follows the pair.
    view.choose(2)
    assert list(zip(*view.chosen_item.getData())) == [(0.6, 0.9)]


def test_the_same_task_on_both_axes_swaps_them(view):
    view.x_combo.setCurrentIndex(view.x_combo.findText("b"))
    view.x_combo.activated.emit(view.x_combo.currentIndex())
    assert view.pair == ("b", "a")
    assert view.y_combo.currentText() == "a"
    assert view.plot.getAxis("bottom").labelText.startswith("b: ")


def test_two_tasks_keep_the_joined_front_and_no_pair_lists(qtbot):
    result = three_task_result()
    result.tasks = ["a", "b"]
    view = SearchView()
    qtbot.addWidget(view)
    view.show()
    view.show_result(result)
    assert not view.pair_row.isVisibleTo(view) and view.pair == ("a", "b")
    xs, ys = view.front_line.getData()
    assert list(xs) == [0.1, 0.5, 0.6]  # joined, in x order
