"""The training curves in the window: every plot reachable for 1 to 12 tasks
at the default size and a small one, the side panels out of the way for the
curves tab, the run's state in words. Recorded curves are fed to the
window's plots (no TensorFlow); test_training.py trains for real."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect

from mtl_studio.core.tasks import TASK_COLORS
from mtl_studio.training import events as ev
from mtl_studio.ui.plot_grid import MIN_PLOT_HEIGHT
from mtl_studio.ui.run_curves import RunCurves
from mtl_studio.ui.run_panel import run_state_text


def recorded_run(tasks: int, epochs: int = 20, steps_per_epoch: int = 10) -> RunCurves:
    """A finished joint run of `tasks` tasks: losses, validation, weights,
    gradient cosines of every pair."""
    names = [f"task_{i + 1}" for i in range(tasks)]
    run = RunCurves(
        "Run 1: joint, fixed",
        names,
        {t: TASK_COLORS[i % len(TASK_COLORS)] for i, t in enumerate(names)},
    )
    total_steps = epochs * steps_per_epoch
    run.add(
        [
            ev.RunStarted(names, "joint", "fixed", total_steps, steps_per_epoch, epochs),
            ev.Weights(0, {t: 1.0 for t in names}),
        ]
    )
    steps = np.arange(1, total_steps + 1)
    losses = {t: (i + 1) * (0.2 + np.exp(-steps / 50)) for i, t in enumerate(names)}
    run.add([ev.StepLosses(steps, epochs, losses, sum(losses.values()), wall=steps * 0.01)])
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    for epoch in range(1, epochs + 1):
        step = epoch * steps_per_epoch
        run.add(
            [
                ev.EpochEnd(epoch, step, {}, {t: losses[t][step - 1] for t in names}),
                ev.GradientCosine(step, {p: 0.1 for p in pairs}),
            ]
        )
    run.add([ev.RunFinished("completed", total_steps, epochs, "trained")])
    return run


def inside(outer: QRect, inner: QRect) -> bool:
    return outer.contains(inner)


@pytest.mark.parametrize("size", [(1400, 880), (1024, 700)])
@pytest.mark.parametrize("tasks", [1, 2, 3, 5, 8, 12])
def test_every_plot_is_in_view_or_reachable_by_scrolling(make_window, qtbot, size, tasks):
    window = make_window()
    window.resize(*size)
    window.tabs.setCurrentWidget(window.plots)
    run = recorded_run(tasks)
    window.plots.show_run(run)
    plots, grid = window.plots, window.plots.grid
    views = [plots.plots[key].view for key in plots.shown_plots]
    # Overview (two tasks or more), total, weights, cosine (a pair or more).
    assert len(views) == tasks + (2 if tasks == 1 else 4)
    qtbot.waitUntil(lambda: all(v.height() >= MIN_PLOT_HEIGHT for v in views), timeout=3000)
    central = QRect(
        window.centralWidget().mapTo(window, QPoint(0, 0)), window.centralWidget().size()
    )
    # The scroll area is whole inside the window's middle: nothing under a dock.
    area = QRect(grid.mapTo(window, QPoint(0, 0)), grid.size())
    assert inside(central, area), (central, area)
    assert inside(window.rect(), central)
    viewport = grid.viewport().rect()
    host = grid.host.rect()
    assert grid.horizontalScrollBar().maximum() == 0  # never a plot beside the view
    assert host.width() <= viewport.width()
    for view in views:
        place = QRect(view.mapTo(grid.host, QPoint(0, 0)), view.size())
        assert inside(host, place)  # in the scrolled area: reachable
        assert view.height() >= MIN_PLOT_HEIGHT  # never squeezed below readable
    if host.height() > viewport.height():  # more than shows: a scroll bar reaches it
        qtbot.waitUntil(grid.verticalScrollBar().isVisible, timeout=2000)
        assert grid.verticalScrollBar().maximum() >= host.height() - viewport.height()
    # The last plot, scrolled to, is drawn and shows.
    last = views[-1]
    grid.ensureWidgetVisible(last)
    qtbot.waitUntil(lambda: grid.on_screen(last), timeout=3000)


def test_the_side_panels_hide_for_the_curves_tab_in_one_action(make_window, qtbot):
    window = make_window()
    shown_before = [d for d in window.docks if d.isVisible()]
    assert shown_before
    window.act_plots_room.trigger()  # on, while the network shows: nothing hides yet
    assert window.act_plots_room.isChecked()
    assert [d for d in window.docks if d.isVisible()] == shown_before
    width_before = window.plots.width()
    window.act_show_curves.trigger()
    assert not any(d.isVisible() for d in window.docks)
    qtbot.waitUntil(lambda: window.plots.width() > width_before, timeout=2000)
    window.act_show_network.trigger()  # the network gets its panels back
    assert [d for d in window.docks if d.isVisible()] == shown_before
    window.act_show_curves.trigger()
    assert not any(d.isVisible() for d in window.docks)
    window.act_plots_room.trigger()  # off: back at once
    assert [d for d in window.docks if d.isVisible()] == shown_before
    # The action is in the View menu and on the plots' tool bar.
    assert window.act_plots_room in window.plots.bar.actions()


def test_panels_hidden_for_the_curves_are_saved_as_the_user_left_them(make_window, tmp_path):
    from PySide6.QtCore import QSettings

    window = make_window()
    window.act_plots_room.trigger()
    window.act_show_curves.trigger()
    assert not any(d.isVisible() for d in window.docks)
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    assert settings.value("hide_panels_for_curves") in (True, "true")
    again = make_window(name="settings.ini")
    assert again.act_plots_room.isChecked()
    assert again.docks[1].isVisible()  # the Inspector: the network tab shows first


def test_the_run_says_how_it_is_going_and_how_it_ended():
    run = recorded_run(2)
    run.progress = ev.Progress(120, 200, 12, 20, 104.0, 0.8)
    run.step = 120
    assert run_state_text(run, "running") == "104 steps/s \u00b7 1s left"
    run.devices = ["CPU (2 cores)"]  # as RunStarted said
    assert run_state_text(run, "running") == "104 steps/s \u00b7 on CPU (2 cores) \u00b7 1s left"
    assert run_state_text(run, "paused") == "paused at step 120"
    assert "steps/s" not in run_state_text(run, "paused")
    run.status, run.wall = "completed", 16.2
    assert run_state_text(run, "idle") == "finished in 16s"
    run.status = "stopped"
    assert run_state_text(run, "idle") == "stopped after 16s"
    assert run_state_text(None, "idle") == ""


def test_a_refusal_stays_readable_after_a_status_tip(make_window, qtbot):
    from mtl_studio.ui import main_window

    window = make_window()
    window.show_notice("Cannot connect 'a' to 'b': a test refusal")
    window.statusBar().showMessage("a menu's status tip")  # the mouse over a menu
    window.statusBar().clearMessage()  # and off it
    assert window.notice.text() == "Cannot connect 'a' to 'b': a test refusal"
    assert window._notice_timer.interval() == main_window.NOTICE_MS >= 10_000
    window.show_notice("short", msecs=10)
    qtbot.waitUntil(lambda: window.notice.text() == "", timeout=2000)
