"""Start the window: `mtl-studio` (the default example) or `mtl-studio PROJECT`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Set by the start-up benchmark: print when the window is first on screen
# (seconds since the epoch), then quit.
PROBE = "MTL_STUDIO_STARTUP_PROBE"


def open_window(project: str | None = None, settings=None):
    """Make and show the window of `project` (None: the default example),
    with `settings` (a QSettings; None: the user's). Once it shows, it
    offers the recovery copies that a crashed or killed window left
    (ui/recovery.py)."""
    from PySide6.QtCore import QTimer

    from ..examples import DEFAULT_EXAMPLE, example_path
    from .document import Document
    from .main_window import MainWindow

    if project is None:
        document = Document.from_example(example_path(DEFAULT_EXAMPLE))
    else:
        document = Document()  # until the file is read, off the GUI thread
    window = MainWindow(document, settings)
    window.show()
    if project is not None:
        # A file that cannot be read says why in a dialog; the window stays
        # with an empty project.
        window.load_path(Path(project))
    if not os.environ.get(PROBE):
        QTimer.singleShot(0, window.offer_recovery)
    return window


def run(project: str | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import APP_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    window = open_window(project)  # noqa: F841 - kept alive until exec returns
    if os.environ.get(PROBE):

        def report():
            heavy = "tensorflow" in sys.modules
            print(f"shown {time.time():.4f} tensorflow_imported={heavy}", flush=True)
            app.quit()

        QTimer.singleShot(0, report)
    return app.exec()
