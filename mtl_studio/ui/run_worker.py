"""The training worker: the one place where Qt meets the Trainer.

A TrainingWorker is a QThread that imports TensorFlow, builds the Trainer on
a frozen copy of the project and runs it. The Trainer's event batches go
into an EventBuffer; the GUI drains the buffer from a timer, so there is no
signal per step and the GUI thread never waits on TensorFlow. The control
calls (pause, resume, stop, set_weight, set_learning_rate) are thread-safe:
the Trainer applies them between its compiled calls.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread

from ..core.project import Project
from ..training.run import run_project

# Training runs below the window's priority: when the window has work (a
# paint, a click) the scheduler gives it a core at once instead of sharing
# one with training's threads, and training still takes every cycle the
# window leaves idle (docs/benchmarks.md). Linux's nice scale, 0 to 19.
TRAINING_NICE = 10


def lower_training_priority(nice: int = TRAINING_NICE) -> None:
    """This thread, the threads it starts from now on (they inherit it) and
    TensorFlow's thread pools already started (their names begin with
    "tf_") run at `nice`. Linux only: elsewhere a thread's priority cannot
    be set apart from the process's, and the window would go down too."""
    if not sys.platform.startswith("linux"):
        return
    tasks = "/proc/self/task"
    threads = [threading.get_native_id()]
    try:
        for tid in os.listdir(tasks):
            with open(f"{tasks}/{tid}/comm", encoding="utf-8", errors="replace") as fh:
                if fh.read().startswith("tf_"):
                    threads.append(int(tid))
    except OSError:
        pass  # the pools keep their priority; this thread is still lowered
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError:
            pass  # a thread that ended, or a system that refuses: no harm


class EventBuffer:
    """Events from the worker, taken all at once by the GUI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list = []

    def put(self, batch: list) -> None:
        with self._lock:
            self._events.extend(batch)

    def take(self) -> list:
        with self._lock:
            events, self._events = self._events, []
        return events


class TrainingWorker(QThread):
    """Trains `project` (already a copy: nothing the window does reaches it)
    into the run folder `out`. resume=True goes on from the folder's
    checkpoint. The run's end arrives as a RunFinished event in the buffer,
    then QThread.finished."""

    def __init__(
        self,
        project: Project,
        project_dir: Path | None,
        out: Path,
        resume: bool = False,
        epochs: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.project_dir = project_dir
        self.out = Path(out)
        self.resume = resume
        self.epochs = epochs
        self.buffer = EventBuffer()
        self.summary: dict = {}
        self.warnings: list[str] = []
        self.error_log: Path | None = None
        self._lock = threading.Lock()
        self._trainer = None
        # Asked for before the Trainer exists (it is made on the thread).
        self._stop_asked = False
        self._pause_asked = False

    # --- control, from the GUI thread ------------------------------------------

    def pause(self) -> None:
        with self._lock:
            self._pause_asked = True
            if self._trainer is not None:
                self._trainer.pause()

    def resume_run(self) -> None:
        with self._lock:
            self._pause_asked = False
            if self._trainer is not None:
                self._trainer.resume()

    def stop(self) -> None:
        with self._lock:
            self._stop_asked = True
            if self._trainer is not None:
                self._trainer.stop()

    def set_weight(self, task: str, value: float) -> None:
        with self._lock:
            if self._trainer is not None:
                self._trainer.set_weight(task, value)

    def set_learning_rate(self, value: float, task: str | None = None) -> None:
        with self._lock:
            if self._trainer is not None:
                self._trainer.set_learning_rate(value, task)

    # --- the thread ----------------------------------------------------------------

    def run(self) -> None:
        lower_training_priority()  # before TensorFlow starts its threads from here
        outcome = run_project(
            self.project,
            self.project_dir,
            self.out,
            resume=self.resume,
            epochs=self.epochs,
            listeners=[self.buffer.put],
            on_trainer=self._hold,
        )
        with self._lock:
            self._trainer = None
        self.summary, self.warnings = outcome.summary, outcome.warnings
        self.error_log = outcome.error_log

    def _hold(self, trainer) -> None:
        """Keep the Trainer for the controls, and pass on what was asked
        before it existed."""
        with self._lock:
            self._trainer = trainer
            if self._pause_asked:
                trainer.pause()
            if self._stop_asked:
                trainer.stop()
