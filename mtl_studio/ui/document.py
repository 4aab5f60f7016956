"""The Document: one open project as the window sees it.

It owns the Project, its UndoStack, the file path, the selection, the
current validation problems and the DataStore (what the project's data
sources hold, read off the GUI thread), and turns the core's events into
Qt signals.
Every view (canvas, inspector, tasks, problems) reads the project and
listens here; every edit goes through `push`, so it is one undo step and a
refused edit becomes a message instead of an exception.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.commands import Command, UndoStack
from ..core.data_profile import DataProfile
from ..core.events import Event
from ..core.fileformat import ProjectError, load, save
from ..core.graph import GraphError
from ..core.project import Project
from ..core.validation import Problem, infer_shapes, validate
from .data_store import DataStore


def check(
    project: Project, profiles: dict[str, DataProfile], project_dir: Path | None
) -> tuple[list[Problem], dict]:
    """The project's problems and its layers' shapes: what the views show.
    Pure core work, so it may run on any thread."""
    problems = validate(project, profiles, project_dir)
    shapes, _ = infer_shapes(project)
    return problems, shapes


class Document(QObject):
    # A core event (node_added, edge_removed, task_changed, ...).
    changed = Signal(object)
    # The selected node ids changed.
    selection_changed = Signal()
    # Validation ran again: problems and shapes are fresh.
    problems_changed = Signal()
    # Undo / redo availability, texts or the clean state changed.
    history_changed = Signal()
    # The file path changed (save as, open).
    path_changed = Signal()
    # A refused edit or other short news for the status bar.
    message = Signal(str)

    def __init__(
        self,
        project: Project | None = None,
        path: Path | None = None,
        parent: QObject | None = None,
        read_data: bool = True,
        checked: tuple[list[Problem], dict] | None = None,
    ) -> None:
        """read_data=False: a document only drawn (a diagram), whose data
        files need not be read. checked: what `check` found for the project
        as it is (ui/opening.py checks a file off the GUI thread)."""
        super().__init__(parent)
        self.project = project if project is not None else Project()
        self.path = Path(path) if path else None
        self.undo_stack = UndoStack(self.project)
        self.selection: list[str] = []
        self.problems: list[Problem] = []
        self.shapes: dict = {}
        # What each data source holds (source_key -> DataProfile), filled in
        # by the data store as it reads files off the GUI thread; validation
        # checks the graph against it.
        self.data_profiles: dict[str, DataProfile] = {}
        # Here, not in the Data panel: the graph is checked against its data
        # with or without the panel (no window, the dock not made yet).
        self.data_store = DataStore(self)
        self._listening = True
        self.project.events.connect(self._on_project_event)
        self.undo_stack.events.connect(lambda e: self.history_changed.emit())
        # Validation runs once after a burst of events (a macro emits many).
        self._revalidate = QTimer(self)
        self._revalidate.setSingleShot(True)
        self._revalidate.setInterval(0)
        self._revalidate.timeout.connect(self.validate_now)
        if checked is None:
            self.validate_now()
        else:
            self.problems, self.shapes = checked
        if read_data:
            self.data_store.read_project()

    # --- edits -------------------------------------------------------------------

    def push(self, command: Command) -> bool:
        """Do a command as one undo step. A refused edit changes nothing and
        is reported through `message`; returns whether it was done."""
        try:
            self.undo_stack.push(command)
        except (GraphError, ValueError, KeyError) as exc:
            self.message.emit(_sentence(exc))
            return False
        return True

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    # --- selection ---------------------------------------------------------------

    def set_selection(self, node_ids) -> None:
        ids = [n for n in dict.fromkeys(node_ids) if n in self.project.nodes]
        if ids != self.selection:
            self.selection = ids
            self.selection_changed.emit()

    # --- validation ----------------------------------------------------------------

    def validate_now(self) -> None:
        self.problems, self.shapes = check(self.project, self.data_profiles, self.project_dir)
        self.problems_changed.emit()

    def set_data_profile(self, key: str, profile: DataProfile | None) -> None:
        """Record (or forget, with None) what a data source holds, and
        check the graph against it again."""
        if profile is None:
            self.data_profiles.pop(key, None)
        else:
            self.data_profiles[key] = profile
        self._revalidate.start()

    @property
    def project_dir(self) -> Path | None:
        return self.path.parent if self.path else None

    def node_problems(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.place.kind == "node" and p.place.id == node_id]

    # --- files -----------------------------------------------------------------------

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.is_clean

    @property
    def title(self) -> str:
        return self.path.name if self.path else "untitled.mtl.json"

    def save(self, path: Path | None = None) -> None:
        """Save (atomically); raises ProjectError with a message on failure."""
        target = Path(path) if path else self.path
        if target is None:
            raise ProjectError("", "choose where to save the project first")
        save(self.project, target)
        if target != self.path:
            self.path = target
            self.path_changed.emit()
        self.undo_stack.set_clean()

    @classmethod
    def from_example(cls, path: Path, parent: QObject | None = None) -> "Document":
        """A new, unsaved project made from a bundled example: saving asks
        where (the bundled file stays as shipped), and its data files are
        found where the example's are."""
        project = load(path)
        project.anchor_data_paths(Path(path).parent)
        return cls(project, None, parent)

    def close(self) -> None:
        """Stop listening to the project and stop reading its data (views
        disconnect themselves)."""
        self.project.events.disconnect(self._on_project_event)
        self._revalidate.stop()
        self.data_store.close()

    # --- internals ---------------------------------------------------------------

    def _on_project_event(self, event: Event) -> None:
        if event.type == "node_removed" and event["node_id"] in self.selection:
            self.selection = [n for n in self.selection if n != event["node_id"]]
            self.selection_changed.emit()
        # The store first: the views then see the reads the change started.
        self.data_store.follow(event)
        self.changed.emit(event)
        self._revalidate.start()


def _sentence(exc: Exception) -> str:
    text = str(exc).strip("'\"")
    return text[:1].upper() + text[1:] if text else type(exc).__name__
