"""The Study tab in the window: Ctrl+4, Train refused while a study runs
and the study refused while a run trains, closing during a study."""

from PySide6.QtCore import Qt

from tests.training.test_results import results_project


def test_the_study_tab_and_train_take_turns(qtbot, make_window, tmp_path):
    window = make_window(results_project(tmp_path, epochs=1))
    qtbot.keyClick(window, Qt.Key_4, Qt.ControlModifier)
    assert window.tabs.currentWidget() is window.study
    study = window.study
    study.baselines_box.setChecked(False)
    assert study.start() is None
    assert not window.act_train.isEnabled()
    window.train()
    assert "study is running" in window.notice.text()
    qtbot.waitUntil(lambda: not study.busy, timeout=120000)
    assert window.act_train.isEnabled()
    window.train()
    qtbot.waitUntil(lambda: window.runs.busy, timeout=5000)
    assert "training run is in progress" in (study.start() or "")
    assert not study.start_button.isEnabled()
    qtbot.waitUntil(lambda: not window.runs.busy, timeout=120000)
    assert study.start_button.isEnabled()
    # Closing while a study runs stops it and waits for it.
    assert study.start() is None
    qtbot.waitUntil(lambda: bool(study._current.startswith("Run")), timeout=60000)
    window.document.undo_stack.set_clean()
    window.close()
    qtbot.waitUntil(lambda: not study.busy, timeout=60000)
    assert any("A study is in progress" in m for m in window.messages)
