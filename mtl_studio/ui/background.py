"""Run slow work (TensorFlow above all) off the GUI thread.

`run_in_background(fn, on_done, on_error)` runs fn in Qt's thread pool and
calls back on the GUI thread. The training worker of the live-training
panels is a different, longer-lived thing; this is for one-off jobs such as
exporting a Keras model.
"""

from __future__ import annotations

import traceback
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported to the window, never lost
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.signals.failed.emit(detail)
            return
        self.signals.done.emit(result)


_running: set = set()  # keeps the signal objects alive until they fire


def run_in_background(
    fn: Callable[[], object], on_done: Callable[[object], None], on_error: Callable[[str], None]
) -> None:
    job = _Job(fn)
    signals = job.signals
    _running.add(signals)

    def finish(callback, value):
        _running.discard(signals)
        callback(value)

    # Queued across threads: the callbacks run on the GUI thread.
    signals.done.connect(lambda value: finish(on_done, value))
    signals.failed.connect(lambda message: finish(on_error, message))
    QThreadPool.globalInstance().start(job)


def wait_for_background(msecs: int = 30000) -> bool:
    """For closing the window and for tests."""
    return QThreadPool.globalInstance().waitForDone(msecs)
