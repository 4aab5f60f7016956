"""The File menu's exchanges with the world outside: export the Keras model,
a standalone training script or a diagram, and import a .keras model.

TensorFlow work (building, saving and loading models) runs in the
background; the window only asks where, and reports the outcome. File
dialogs go through `ask_save_path` / `ask_open_path` so tests can answer
for the user.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.validation import errors
from .background import run_in_background
from .document import Document

KERAS_FILTER = "Keras models (*.keras)"
SCRIPT_FILTER = "Python scripts (*.py)"
DIAGRAM_FILTER = "SVG drawings (*.svg);;PNG images (*.png)"


def ask_save_path(window, title: str, start: str, filters: str) -> str:
    path, _ = QFileDialog.getSaveFileName(window, title, start, filters)
    return path


def ask_open_path(window, title: str, filters: str) -> str:
    start = str(window.document.path.parent) if window.document.path else ""
    path, _ = QFileDialog.getOpenFileName(window, title, start, filters)
    return path


def _start_path(window, suffix: str) -> str:
    document = window.document
    base = document.path or Path.home() / "model"
    name = base.name.removesuffix(".json").removesuffix(".mtl")
    return str(base.with_name(name + suffix))


def _target(window, title: str, suffix: str, filters: str) -> Path | None:
    path = ask_save_path(window, title, _start_path(window, suffix), filters)
    if not path:
        return None
    if not Path(path).suffix:
        path += suffix
    return Path(path)


def _refuse_errors(window, what: str) -> bool:
    """True (after saying why) when the project has errors: a model or a
    script of it would not build."""
    problems = errors(window.document.problems)
    if problems:
        QMessageBox.warning(
            window,
            f"Cannot export the {what}",
            "Fix the project's errors first:\n\n"
            + "\n".join(f"{p.place}: {p.message}" for p in problems[:10]),
        )
    return bool(problems)


def _in_background(window, action, busy: str, job, done) -> None:
    """Run job() off the GUI thread with the action disabled meanwhile;
    done(result) on success, a dialog on failure."""
    window.show_notice(busy, None)
    action.setEnabled(False)

    def finished(result):
        action.setEnabled(True)
        done(result)

    def failed(message):
        action.setEnabled(True)
        window.show_notice("")
        QMessageBox.warning(window, "Failed", f"{busy.rstrip('.')}: {message}")

    run_in_background(job, finished, failed)


# --- export ---------------------------------------------------------------------------


def export_keras(window) -> None:
    if _refuse_errors(window, "model"):
        return
    path = _target(window, "Export Keras model", ".keras", KERAS_FILTER)
    if path is None:
        return
    if path.suffix != ".keras":
        path = path.with_name(path.name + ".keras")
    project = window.document.project.copy()

    def job():
        from ..training.builder import build_model, save_keras  # TensorFlow: only here

        built = build_model(project)
        save_keras(built.model, path)
        return built.model.count_params()

    _in_background(
        window,
        window.act_export,
        f"Exporting {path.name}...",
        job,
        lambda count: window.show_notice(f"Exported {path} ({count:,} weights)"),
    )


def export_script(window) -> None:
    from ..export.script import ScriptExportError, write_script

    if _refuse_errors(window, "script"):
        return
    path = _target(window, "Export training script", ".py", SCRIPT_FILTER)
    if path is None:
        return
    try:
        write_script(window.document.project, window.document.project_dir, path)
    except ScriptExportError as exc:
        QMessageBox.warning(window, "Cannot export the script", str(exc))
        return
    window.show_notice(f"Wrote {path}: run it with python {path.name}")


def export_diagram(window) -> None:
    from .canvas.diagram import DiagramError, export_diagram as write_diagram

    path = _target(window, "Export diagram", ".svg", DIAGRAM_FILTER)
    if path is None:
        return
    try:
        write_diagram(window.document.project, path)
    except DiagramError as exc:
        QMessageBox.warning(window, "Cannot export the diagram", str(exc))
        return
    window.show_notice(f"Wrote the diagram {path}")


# --- import ---------------------------------------------------------------------------


def import_keras(window) -> None:
    """Load a .keras model in the background, then open it as a new,
    unsaved project and say what could not be imported."""
    path = ask_open_path(window, "Import Keras model", KERAS_FILTER)
    if not path or not window.maybe_save():
        return
    path = Path(path)

    def job():
        from ..export.keras_import import KerasImportError, import_keras as load

        try:
            return load(path)
        except KerasImportError as exc:  # the user's file: its message, not a trace
            return exc

    _in_background(
        window,
        window.act_import,
        f"Importing {path.name}...",
        job,
        lambda result: opened(window, path, result),
    )


def opened(window, path: Path, result) -> None:
    if isinstance(result, Exception):
        window.show_notice("")
        QMessageBox.warning(window, "Cannot import the model", str(result))
        return
    window.set_document(Document(result.project))
    window.show_notice(
        f"Imported {path.name}: {len(result.project.nodes)} nodes, "
        f"{len(result.project.tasks)} tasks"
    )
    from ..export.keras_import import report_lines

    lines = report_lines(result)
    if lines:
        QMessageBox.information(window, f"Imported {path.name}", "\n\n".join(lines))
