"""Open in TensorBoard: one TensorBoard process on a project's runs folder.

A TensorBoardLauncher owns at most one QProcess running TensorBoard on
127.0.0.1 at a free port. `open(runs_folder, project)` starts it, waits
without blocking the GUI thread until the port answers an HTTP GET (a
QNetworkAccessManager request every POLL_MS), then opens the address in the
browser. Asked again for the same folder, it opens the browser again; for
another folder, it restarts. Everything the user should know, the address
or why it could not start, is the `message` signal: nothing here raises
into a Qt slot. `stop()` ends the process (the window calls it on close).

See docs/tensorboard.md.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import socket
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import (
    QElapsedTimer,
    QObject,
    QProcess,
    QProcessEnvironment,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy, QNetworkReply, QNetworkRequest

HOST = "127.0.0.1"
START_TIMEOUT_MS = 30_000  # TensorBoard imports TensorFlow: a few seconds, more on a cold disk
POLL_MS = 250
INSTALL_COMMAND = f'"{sys.executable}" -m pip install tensorboard'


def tensorboard_command(logdir: Path, port: int) -> tuple[str, list[str]]:
    """The program and arguments that run TensorBoard on logdir at port: the
    one place they are spelled (the tests start it through the launcher)."""
    return sys.executable, [
        "-m",
        "tensorboard.main",
        "--logdir",
        str(logdir),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def tensorboard_installed() -> bool:
    """Whether this Python can import tensorboard (found, not imported)."""
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False


def free_port() -> int:
    """A port nobody listens on now: bind to port 0 and let the system pick."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def has_runs(folder: Path) -> bool:
    try:
        return folder.is_dir() and any(folder.iterdir())
    except OSError:
        return False


def _forget(pid: int) -> None:
    """Remove the note a killed TensorBoard leaves in the temporary folder
    (tensorboard.manager's info file; TensorBoard removes it on a clean exit)."""
    try:
        (Path(tempfile.gettempdir()) / ".tensorboard-info" / f"pid-{pid}.info").unlink(
            missing_ok=True
        )
    except OSError:
        pass


def _reported(method):
    """A slot that turns any failure into a message instead of raising into Qt."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            self.message.emit(f"TensorBoard: {type(exc).__name__}: {exc}")
            return None

    return wrapper


class TensorBoardLauncher(QObject):
    """One TensorBoard for the window. Signals: `message(str)` for the status
    bar; `ready(str)` with the address once it answers."""

    message = Signal(str)
    ready = Signal(str)

    def __init__(self, parent: QObject | None = None, timeout_ms: int = START_TIMEOUT_MS) -> None:
        super().__init__(parent)
        self.timeout_ms = timeout_ms
        self.process: QProcess | None = None
        self.logdir: Path | None = None
        self.port: int | None = None
        self.url: str | None = None  # set once TensorBoard answers
        self._label = ""
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._partial = b""
        self._clock = QElapsedTimer()
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)
        self._net = QNetworkAccessManager(self)
        # The address is local: never through a proxy from the environment.
        self._net.setProxy(QNetworkProxy(QNetworkProxy.NoProxy))
        self._reply: QNetworkReply | None = None

    # --- state -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    @property
    def starting(self) -> bool:
        return self.running and self.url is None

    # --- the action ------------------------------------------------------------

    @_reported
    def open(self, runs_folder, project: str = "the project") -> None:
        """Show runs_folder in TensorBoard: start it, or open the browser again."""
        folder = Path(runs_folder).resolve()
        if self.running and folder == self.logdir:
            if self.url is None:
                self.message.emit("TensorBoard is starting; the browser opens when it answers")
            else:
                self._show()
            return
        if not has_runs(folder):
            self.message.emit(
                f"TensorBoard: no runs yet: train first ({folder} is "
                f"{'empty' if folder.is_dir() else 'not there'})"
            )
            return
        if not tensorboard_installed():
            self.message.emit(f"TensorBoard is not installed: install it with {INSTALL_COMMAND}")
            return
        self.stop()
        self._start(folder, project)

    def _start(self, folder: Path, project: str) -> None:
        self.logdir, self._label = folder, project
        self.port = free_port()
        self.url = None
        self._stderr.clear()
        self._partial = b""
        process = QProcess(self)
        program, arguments = tensorboard_command(folder, self.port)
        process.setProgram(program)
        process.setArguments(arguments)
        env = QProcessEnvironment.systemEnvironment()
        if not env.contains("TF_CPP_MIN_LOG_LEVEL"):
            env.insert("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter: errors only
        env.insert("PYTHONUNBUFFERED", "1")  # its last words reach us before it exits
        process.setProcessEnvironment(env)
        process.readyReadStandardError.connect(lambda: self._read_stderr(process))
        process.readyReadStandardOutput.connect(lambda: self._read_stdout(process))
        process.errorOccurred.connect(lambda error: self._failed(process, error))
        process.finished.connect(lambda code, status: self._finished(process, code, status))
        self.process = process
        self.message.emit(f"Starting TensorBoard on {self._where()}...")
        process.start()
        self._clock.start()
        self._poll.start()

    @_reported
    def stop(self) -> None:
        """End TensorBoard, if it runs. Harmless when it never started."""
        self._poll.stop()
        self._abort_check()
        process, self.process = self.process, None  # its signals are old news from here on
        self.url = None
        if process is None:
            return
        if process.state() != QProcess.NotRunning:
            # Killed, not asked: TensorBoard takes a second or more to honour
            # SIGTERM, a freeze of the window. Its data server ends with it
            # (it watches its stdin); the note it leaves for `tensorboard
            # --list` goes here.
            pid = process.processId()
            process.kill()
            process.waitForFinished(2000)
            _forget(pid)
        process.deleteLater()

    # --- waiting for the port --------------------------------------------------

    @_reported
    def _check(self) -> None:
        if self.process is None or self.url is not None:
            self._poll.stop()
            return
        if self._clock.elapsed() > self.timeout_ms:
            seconds = self.timeout_ms // 1000
            last = self._last_words()
            self.stop()
            self.message.emit(
                f"TensorBoard did not answer within {seconds} s; stopped it"
                + (f" ({last})" if last else "")
            )
            return
        if self._reply is None:
            request = QNetworkRequest(QUrl(self._address()))
            request.setTransferTimeout(2000)
            reply = self._net.get(request)
            self._reply = reply
            reply.finished.connect(lambda: self._answered(reply))

    @_reported
    def _answered(self, reply: QNetworkReply) -> None:
        reply.deleteLater()
        if reply is not self._reply:
            return
        self._reply = None
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        if status is None or self.process is None or self.url is not None:
            return  # not listening yet: the next tick asks again
        self._poll.stop()
        self.url = self._address()
        self.ready.emit(self.url)
        self._show()

    def _abort_check(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.abort()

    def _show(self) -> None:
        text = f"TensorBoard at {self.url} ({self._where()})"
        if not QDesktopServices.openUrl(QUrl(self.url)):
            text += "; no browser opened: open the address yourself"
        self.message.emit(text)

    # --- the process's news ----------------------------------------------------

    @_reported
    def _read_stderr(self, process: QProcess) -> None:
        data = self._partial + bytes(process.readAllStandardError().data())
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self._stderr.append(text)

    @staticmethod
    def _read_stdout(process: QProcess) -> None:
        process.readAllStandardOutput()  # not needed; read so it does not pile up

    @_reported
    def _failed(self, process: QProcess, error) -> None:
        if process is not self.process or error != QProcess.FailedToStart:
            return  # a crash also ends in finished(), which says so
        self._poll.stop()
        self._abort_check()
        self.process = None
        self.message.emit(f"TensorBoard could not start: {process.errorString()}")

    @_reported
    def _finished(self, process: QProcess, code: int, status) -> None:
        if process is not self.process:
            return  # stopped on purpose
        self._read_stderr(process)
        self._poll.stop()
        self._abort_check()
        was_ready = self.url is not None
        self.process, self.url = None, None
        process.deleteLater()
        how = "crashed" if status == QProcess.CrashExit else f"exited with code {code}"
        last = self._last_words()
        if was_ready:
            text = f"TensorBoard stopped ({how})"
        else:
            text = f"TensorBoard could not start ({how})"
        self.message.emit(text + (f": {last}" if last else ""))

    def _last_words(self) -> str:
        if self._partial.strip():
            self._stderr.append(self._partial.decode("utf-8", "replace").strip())
            self._partial = b""
        return self._stderr[-1] if self._stderr else ""

    # --- words -----------------------------------------------------------------

    def _address(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def _where(self) -> str:
        return f"{self.logdir.name}/ of {self._label}" if self.logdir else self._label
