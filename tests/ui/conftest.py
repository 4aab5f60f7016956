"""Fixtures for the widget tests: documents, and a check that no window
outlives its test."""

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from mtl_studio.ui.document import Document
from tests.helpers import two_task_project


@pytest.fixture
def no_leaked_widgets(qapp):
    """Fail if a test leaves a top-level widget behind. pytest-qt closes and
    deletes the widgets given to qtbot.addWidget before fixtures tear down;
    the deletions are posted, so deliver them before counting."""
    before = set(QApplication.topLevelWidgets())
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
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
