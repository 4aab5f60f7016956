"""A guard against a PySide6 release that breaks the app."""


def test_signals_do_not_leak_references_to_true():
    """PySide6 6.12.0 lost a reference to True on every emit, which crashes
    Python 3.11 after a few hundred; pyproject excludes it. Catch a return."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal()

    emitter = Emitter()
    before = sys.getrefcount(True)
    for _ in range(50):
        emitter.fired.emit()
    assert sys.getrefcount(True) >= before
