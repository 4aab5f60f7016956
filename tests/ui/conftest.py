"""Fixtures for the widget tests: documents, and a check that no window
outlives its test."""

import gc

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from mtl_studio.core.layout import auto_layout
from mtl_studio.ui import data_files
from mtl_studio.ui.document import Document
from mtl_studio.ui.main_window import MainWindow
from tests.helpers import two_task_project


@pytest.fixture
def no_leaked_widgets(qapp):
    """Fail if a test leaves a top-level widget behind. pytest-qt closes and
    deletes the widgets given to qtbot.addWidget before fixtures tear down;
    the deletions are posted, so deliver them before counting."""
    before = set(QApplication.topLevelWidgets())
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # pyqtgraph's context menus are parentless QMenus owned by their Python
    # plot items: they go when the items are collected.
    gc.collect()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before]
    assert not leaked, f"widgets left open: {leaked}"


@pytest.fixture
def make_document(no_leaked_widgets):
    """make_document(project=None) -> a Document (two_task_project by default),
    closed at teardown."""
    documents = []

    def make(project=None):
        document = Document(two_task_project() if project is None else project)
        documents.append(document)
        return document

    yield make
    for document in documents:
        document.close()
        document.deleteLater()


@pytest.fixture
def data_panel(qtbot, make_document):
    """A shown Data panel on the two-task project (x(10) -> ... a: mse, b: 3
    classes); its background reads end with the test."""
    from mtl_studio.ui.background import wait_for_background
    from mtl_studio.ui.data_panel import DataPanel

    panel = DataPanel(make_document())
    qtbot.addWidget(panel)
    panel.resize(450, 800)
    panel.show()
    yield panel
    panel.shutdown()
    wait_for_background()


@pytest.fixture
def document(make_document):
    return make_document()


@pytest.fixture(autouse=True, scope="session")
def _empty_clipboard_at_exit():
    """Qt's offscreen platform (the tests' only) crashes at exit while it
    still holds clipboard data; real platforms do not. Empty it at the end."""
    yield
    app = QApplication.instance()
    if app is not None:
        app.clipboard().clear()


@pytest.fixture
def make_window(qtbot, tmp_path, no_leaked_widgets, monkeypatch):
    """make_window(project) -> a shown MainWindow with its own settings file.
    Message boxes are answered and their texts kept in window.messages, so
    a failing test can never hang on a modal dialog. Runs go to tmp_path."""
    windows = []
    messages = []
    # A question is answered Yes where Yes is offered (stop the run and
    # close?), else Discard (save the changes?).
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda *a, **k: (
            messages.append(a[2])
            or (QMessageBox.Yes if len(a) > 3 and a[3] & QMessageBox.Yes else QMessageBox.Discard)
        ),
    )
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: messages.append(a[2]))
    # A missing or changed data file after opening: noted, and left as is.
    monkeypatch.setattr(
        data_files, "ask", lambda parent, report: messages.append(report.message) or data_files.KEEP
    )

    def make(project=None, name="settings.ini"):
        project = project if project is not None else two_task_project()
        if len({(n.x, n.y) for n in project.nodes.values()}) < len(project.nodes):
            # Test projects are built at (0, 0): spread them out to click on.
            for node_id, (x, y) in auto_layout(project).items():
                project.node(node_id).x, project.node(node_id).y = x, y
        settings = QSettings(str(tmp_path / name), QSettings.IniFormat)
        window = MainWindow(Document(project), settings)
        window.messages = messages
        window.runs.runs_root = tmp_path / "runs"
        qtbot.addWidget(window)
        window.resize(1300, 800)
        window.show()
        qtbot.waitExposed(window)
        activate(qtbot, window)
        window.view.setFocus()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.document.undo_stack.set_clean()  # no "save changes?" at teardown
        window.close()


def activate(qtbot, window) -> None:
    """Shortcuts only reach the active window."""
    with qtbot.waitActive(window):
        window.activateWindow()
