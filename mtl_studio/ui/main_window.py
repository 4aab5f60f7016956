"""The designer window: canvas in the middle, palette, inspector, tasks and
problems in dockable panels, menus and shortcuts, files and settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from .. import __version__
from ..core import clipboard
from ..core.commands import Disconnect, Macro, RemoveNodes, SetProjectName, add_task_head
from ..core.fileformat import SUFFIX, ProjectError
from ..core.layout import layout_command
from ..core.validation import errors
from ..core.wording import counted
from ..examples import examples
from . import data_files, exchange, opening, recovery
from .canvas.view import CanvasView
from .data_panel import DataPanel
from .document import Document
from .inspector import Inspector
from .palette import LayerPalette
from .plots import PlotsPanel
from .problems_panel import ProblemsPanel
from .results_view import ResultsView
from .run_controller import RunController
from .run_panel import run_state_text
from .runs_dialog import choose_run
from .study_view import StudyView
from .tasks_panel import TasksPanel
from .tensorboard import TensorBoardLauncher
from .training_panel import TrainingPanel

APP_NAME = "MTL Studio"
MAX_RECENT = 8
# A refused gesture or other news stays in the status bar this long: long
# enough to read after the gesture, and a status tip that covers it for a
# moment (the mouse over a menu) does not take it away.
NOTICE_MS = 15000
UNTITLED = "untitled"  # the name of a project nobody named (core.project.Project)
STUDY_RUNNING = "a study is running (Study tab): wait for its end, or stop it"
FILE_FILTER = f"MTL Studio projects (*{SUFFIX});;JSON files (*.json);;All files (*)"

SHORTCUTS_HELP = """
<table cellpadding=3>
<tr><td><b>Ctrl+N / Ctrl+O / Ctrl+S</b></td><td>New, Open, Save</td></tr>
<tr><td><b>Ctrl+Shift+S</b></td><td>Save As</td></tr>
<tr><td><b>Ctrl+Z / Ctrl+Shift+Z</b></td><td>Undo, Redo</td></tr>
<tr><td><b>Ctrl+X / Ctrl+C / Ctrl+V</b></td><td>Cut, Copy, Paste nodes (also between windows)</td></tr>
<tr><td><b>Ctrl+D</b></td><td>Duplicate the selected nodes</td></tr>
<tr><td><b>Delete</b></td><td>Delete the selected nodes with their edges</td></tr>
<tr><td><b>Ctrl+A</b></td><td>Select all</td></tr>
<tr><td><b>Ctrl+H</b></td><td>Add a task head below the selected node</td></tr>
<tr><td><b>Ctrl++ / Ctrl+- / Ctrl+0</b></td><td>Zoom in, zoom out, fit to view</td></tr>
<tr><td><b>Ctrl+L</b></td><td>Auto layout</td></tr>
<tr><td><b>F5 / F6 / Shift+F5</b></td><td>Train, Pause or Resume, Stop</td></tr>
<tr><td><b>Ctrl+Shift+O</b></td><td>Open a run: its curves and results, then Continue from Checkpoint</td></tr>
<tr><td><b>Ctrl+1 / Ctrl+2 / Ctrl+3 / Ctrl+4</b></td><td>Network, Training curves, Results, Study</td></tr>
<tr><td><b>Ctrl+1 / Ctrl+2</b></td><td>Show the network, show the training curves</td></tr>
<tr><td><b>Ctrl+Shift+F</b></td><td>Hide the side panels while the training curves show</td></tr>
<tr><td><b>Ctrl+wheel</b></td><td>Zoom</td></tr>
<tr><td><b>Middle drag, Space+drag</b></td><td>Pan</td></tr>
<tr><td><b>Double-click the background</b></td><td>Quick add: type a layer name, Enter</td></tr>
<tr><td><b>Drag from an output port (bottom) to an input port (top)</b></td><td>Connect</td></tr>
</table>
"""


class MainWindow(QMainWindow):
    def __init__(self, document: Document | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings(APP_NAME, APP_NAME)
        self.document = document or Document()
        self.setAcceptDrops(True)
        self.view = CanvasView(self.document, self)
        self.runs = RunController(self)
        self.plots = PlotsPanel(self)
        self.results = ResultsView(self)
        # A study trains run after run: never beside a run of Train.
        self.study = StudyView(
            self.document,
            self.runs_root,
            lambda: (
                "a training run is in progress: wait for its end, or stop it"
                if self.runs.busy
                else None
            ),
            self,
        )
        self.tensorboard = TensorBoardLauncher(self)
        # The network, the curves and the results share the middle: a run
        # switches to the curves, Ctrl+1 goes back.
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.view, "Network")
        self.tabs.addTab(self.plots, "Training curves")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.study, "Study")
        self.setCentralWidget(self.tabs)
        self._make_actions()
        self._make_panels()
        self._make_menus()
        self.notice = QLabel()  # refused gestures and other news (show_notice)
        self.notice.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.statusBar().addWidget(self.notice, 1)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.clear)
        self.run_label = QLabel()  # how the run goes, visible with every panel hidden
        self.statusBar().addPermanentWidget(self.run_label)
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self._hidden_docks: list[QDockWidget] | None = None  # hidden for the curves tab
        # A recovery copy every 30 s while there are unsaved changes (ui/recovery.py).
        self.autosave = recovery.Autosave(self)
        self._follow(self.document)
        self._follow_runs()
        self._restore_settings()
        self._update_title()
        self._update_actions()
        self._update_run_actions()
        self.tabs.currentChanged.connect(lambda index: self._apply_plots_room())
        QTimer.singleShot(0, self.view.fit)

    # --- building -----------------------------------------------------------------

    def _dock(self, title: str, widget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState needs names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _make_panels(self) -> None:
        self.palette = LayerPalette(self)
        self.inspector = Inspector(self.document, self)
        self.tasks_panel = TasksPanel(self.document, self)
        self.problems_panel = ProblemsPanel(self.document, self)
        self.data_panel = DataPanel(self.document, self)
        self.training_panel = TrainingPanel(
            self.document,
            self.runs,
            (self.act_train, self.act_pause, self.act_stop, self.act_continue),
            self,
        )
        self.docks = [
            self._dock("Layers", self.palette, Qt.LeftDockWidgetArea, "palette"),
            self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea, "inspector"),
            # A wide table under the canvas, beside the problems: the right
            # column's panels (tabs) then get its whole height.
            self._dock("Tasks", self.tasks_panel, Qt.BottomDockWidgetArea, "tasks"),
            self._dock("Problems", self.problems_panel, Qt.BottomDockWidgetArea, "problems"),
            self._dock("Training", self.training_panel, Qt.RightDockWidgetArea, "training"),
            self._dock("Data", self.data_panel, Qt.RightDockWidgetArea, "data"),
        ]
        self.splitDockWidget(self.docks[3], self.docks[2], Qt.Horizontal)
        self.tabifyDockWidget(self.docks[1], self.docks[4])
        self.tabifyDockWidget(self.docks[1], self.docks[5])
        self.docks[1].raise_()
        self.palette.kind_activated.connect(lambda kind: self.view.add_node(kind))
        self.problems_panel.node_activated.connect(self.view.centre_on_node)
        self.problems_panel.data_activated.connect(lambda task: self.show_data_panel())

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        return action

    def _make_actions(self) -> None:
        a = self._action
        self.act_new = a("&New", self.new_project, QKeySequence.New)
        self.act_open = a("&Open...", self.open_dialog, QKeySequence.Open)
        self.act_save = a("&Save", self.save, QKeySequence.Save)
        self.act_save_as = a("Save &As...", self.save_as, QKeySequence.SaveAs)
        self.act_export = a(
            "Export &Keras Model...",
            lambda: exchange.export_keras(self),
            tip="Write the untrained model as a .keras file",
        )
        self.act_export_script = a(
            "Export Training &Script...",
            lambda: exchange.export_script(self),
            tip="Write a standalone Keras script that trains the project",
        )
        self.act_export_diagram = a(
            "Export &Diagram...",
            lambda: exchange.export_diagram(self),
            tip="Write a picture of the network as SVG or PNG",
        )
        self.act_import = a(
            "&Import Keras Model...",
            lambda: exchange.import_keras(self),
            tip="Open a multi-output .keras model as a new project",
        )
        self.act_quit = a("&Quit", self.close, QKeySequence.Quit)
        self.act_undo = a("&Undo", self.document_undo, QKeySequence.Undo)
        self.act_redo = a("&Redo", self.document_redo, "Ctrl+Shift+Z")
        self.act_cut = a("Cu&t", self.cut, QKeySequence.Cut)
        self.act_copy = a("&Copy", self.copy, QKeySequence.Copy)
        self.act_paste = a("&Paste", self.paste, QKeySequence.Paste)
        self.act_duplicate = a("&Duplicate", self.duplicate, "Ctrl+D")
        self.act_delete = a("&Delete", self.delete_selection, QKeySequence.Delete)
        self.act_select_all = a("Select &All", self.select_all, QKeySequence.SelectAll)
        self.act_task_head = a(
            "Add Task &Head",
            self.add_task_head,
            "Ctrl+H",
            "Add a Dense -> Output head and a task below the selected node",
        )
        self.act_zoom_in = a("Zoom &In", lambda: self.view.zoom_by(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = a("Zoom &Out", lambda: self.view.zoom_by(0.8), QKeySequence.ZoomOut)
        self.act_fit = a("&Fit to View", self.view_fit, "Ctrl+0")
        self.act_layout = a("Auto &Layout", self.auto_layout, "Ctrl+L")
        self.act_train = a("&Train", self.train, "F5", "Train the project as it is now")
        self.act_pause = a(
            "&Pause",
            self.pause_or_resume,
            "F6",
            "Pause the run after the current steps, or resume it",
        )
        self.act_stop = a(
            "&Stop",
            self.stop_training,
            "Shift+F5",
            "Stop the run; its checkpoint stays to continue from",
        )
        self.act_continue = a(
            "&Continue from Checkpoint",
            self.continue_training,
            tip="Go on training the last run from its checkpoint",
        )
        self.act_show_network = a("&Network", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self.act_show_curves = a("Training &Curves", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self.act_show_results = a(
            "&Results", lambda: self.tabs.setCurrentWidget(self.results), "Ctrl+3"
        )
        self.act_show_study = a("&Study", lambda: self.tabs.setCurrentWidget(self.study), "Ctrl+4")
        self.act_open_run = a(
            "&Open Run...",
            self.open_run,
            "Ctrl+Shift+O",
            "Show an earlier run's curves and results from its folder; "
            "Continue from Checkpoint then goes on from it",
        )
        self.act_predict = a(
            "&Predict on File...",
            self.predict_on_file,
            tip="Predict with the shown run's model on a CSV or NPZ file, in the data's own units",
        )
        self.act_tensorboard = a(
            "Open in &TensorBoard",
            self.open_tensorboard,
            tip="Show the project's runs in TensorBoard, in the browser",
        )
        self.act_plots_room = a(
            "&Hide Side Panels on the Curves Tab",
            self._apply_plots_room,
            "Ctrl+Shift+F",
            "While the training curves show, hide the side panels so "
            "the plots have the room; they come back on the Network tab",
        )
        self.act_plots_room.setCheckable(True)
        self.act_plots_room.setText("Hide Side Panels on the Curves Tab")
        self.act_plots_room.setIconText("Hide panels")
        self.act_about = a("&About MTL Studio", self.about)
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        # Shortcuts work wherever the focus is in the window, but Delete and
        # the clipboard keys must not steal from text fields: those actions
        # check the focus before acting.
        for action in (
            self.act_undo,
            self.act_redo,
            self.act_cut,
            self.act_copy,
            self.act_paste,
            self.act_delete,
            self.act_select_all,
        ):
            action.setShortcutContext(Qt.WindowShortcut)
        # Also on the window itself: shortcuts keep working with the menu bar
        # hidden or native.
        self.addActions([v for v in vars(self).values() if isinstance(v, QAction)])

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        self.examples_menu = file_menu.addMenu("New from &Example")
        for name, path in examples().items():
            action = self.examples_menu.addAction(name)
            action.triggered.connect(lambda checked=False, p=path: self.open_example(p))
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addAction(self.act_export_script)
        file_menu.addAction(self.act_export_diagram)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        for action in (
            self.act_undo,
            self.act_redo,
            None,
            self.act_cut,
            self.act_copy,
            self.act_paste,
            self.act_duplicate,
            self.act_delete,
            None,
            self.act_select_all,
            None,
            self.act_task_head,
        ):
            edit.addSeparator() if action is None else edit.addAction(action)

        view = bar.addMenu("&View")
        for action in (
            self.act_show_network,
            self.act_show_curves,
            self.act_show_results,
            self.act_show_study,
            self.act_plots_room,
            None,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit,
            None,
            self.act_layout,
        ):
            view.addSeparator() if action is None else view.addAction(action)
        view.addSeparator()
        panels = view.addMenu("&Panels")
        for dock in self.docks:
            panels.addAction(dock.toggleViewAction())

        run = bar.addMenu("&Run")
        for action in (
            self.act_train,
            self.act_pause,
            self.act_stop,
            None,
            self.act_continue,
            self.act_open_run,
            None,
            self.act_predict,
            self.act_tensorboard,
        ):
            run.addSeparator() if action is None else run.addAction(action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        for action in (
            self.act_new,
            self.act_open,
            self.act_save,
            None,
            self.act_undo,
            self.act_redo,
            None,
            self.act_task_head,
            self.act_layout,
            self.act_fit,
            None,
            self.act_train,
            self.act_pause,
            self.act_stop,
        ):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Project "))
        self.name_field = QLineEdit()
        self.name_field.setToolTip(
            "The project's name: it names the model, the diagram, "
            "the exported script and the run summaries"
        )
        self.name_field.setPlaceholderText(UNTITLED)
        self.name_field.setMaximumWidth(220)
        self.name_field.editingFinished.connect(self._name_edited)
        toolbar.addWidget(self.name_field)
        self.plots.bar.insertAction(self.plots.bar_actions_at, self.act_plots_room)
        self._refresh_recent_menu()

    # --- document -----------------------------------------------------------------

    def _follow(self, document: Document) -> None:
        document.history_changed.connect(self._update_title)
        document.history_changed.connect(self._update_actions)
        document.selection_changed.connect(self._update_actions)
        document.problems_changed.connect(self._update_status)
        document.problems_changed.connect(self._update_run_actions)
        document.changed.connect(self._edited_during_run)
        document.path_changed.connect(self._update_title)
        document.message.connect(self.show_notice)
        document.changed.connect(self._project_renamed)
        self.view.graph_scene.message.connect(self.show_notice)
        self.autosave.follow(document)

    def show_notice(self, text: str, msecs: int | None = NOTICE_MS) -> None:
        """News in the status bar for msecs (None: until the next news): a
        refused gesture says why, a job in the background that it runs."""
        self.notice.setText(text)
        self.notice.setToolTip(text)
        if msecs is None:
            self._notice_timer.stop()
        else:
            self._notice_timer.start(msecs)

    def _project_renamed(self, event) -> None:
        if event.type == "project_changed":
            self._update_title()

    def _name_edited(self) -> None:
        """Enter or leaving the field: what the user typed becomes the name
        (one undo step); a refused name puts the project's back."""
        if not self.name_field.isModified():
            return  # nothing typed since the field last showed the name
        self.name_field.setModified(False)
        name = self.name_field.text().strip()
        if name == self.document.project.name or (
            not name and self.document.project.name == UNTITLED
        ):
            return
        if not self.document.push(SetProjectName(name)):  # refused: the notice says why
            self._show_name()

    def _show_name(self) -> None:
        name = self.document.project.name
        self.name_field.setText("" if name == UNTITLED else name)  # clears isModified
        self.name_field.setCursorPosition(0)  # a long name shows its start

    def set_document(self, document: Document) -> None:
        old = self.document
        self.document = document
        self.view.set_document(document)
        for panel in (
            self.inspector,
            self.tasks_panel,
            self.problems_panel,
            self.training_panel,
            self.data_panel,
            self.study,
        ):
            panel.set_document(document)
        self._follow(document)
        old.close()
        old.deleteLater()
        self._update_title()
        self._update_actions()
        self._update_status()
        self._update_run_actions()
        QTimer.singleShot(0, self.view.fit)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] - {APP_NAME}")
        self.setWindowModified(self.document.is_modified)
        if not self.name_field.isModified():  # never under the user's typing
            self._show_name()

    def _update_actions(self) -> None:
        stack = self.document.undo_stack
        self.act_undo.setEnabled(stack.can_undo)
        self.act_redo.setEnabled(stack.can_redo)
        self.act_undo.setText(f"&Undo {stack.undo_text}".rstrip())
        self.act_redo.setText(f"&Redo {stack.redo_text}".rstrip())
        selected = bool(self.document.selection)
        for action in (self.act_cut, self.act_copy, self.act_duplicate):
            action.setEnabled(selected)
        # Delete also serves selected edges, which are the canvas' own matter.
        self.act_task_head.setEnabled(len(self.document.selection) == 1)

    def _update_status(self) -> None:
        problems = self.document.problems
        n_err = len(errors(problems))
        n_warn = len(problems) - n_err
        if not problems:
            self.status_label.setText("Valid")
        else:
            self.status_label.setText(f"{counted(n_err, 'error')}, {counted(n_warn, 'warning')}")

    # --- files ------------------------------------------------------------------------

    def maybe_save(self) -> bool:
        """Ask before unsaved changes would be lost; False means cancel."""
        if not self.document.is_modified:
            return True
        answer = QMessageBox.question(
            self,
            APP_NAME,
            f"Save the changes to {self.document.title}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            QMessageBox.Save,
        )
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_project(self) -> None:
        if self.maybe_save():
            self.set_document(Document())

    def open_example(self, path: Path) -> None:
        """A new, unsaved project made from a bundled example."""
        if not self.maybe_save():
            return
        try:
            document = Document.from_example(path)
        except ProjectError as exc:
            self._file_error("Cannot open the example", exc)
            return
        self.set_document(document)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, FILE_FILTER)
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: Path, ask: bool = True) -> bool:
        """Open a project file. A file that cannot be read shows a dialog with
        the message and its place, and the current project is untouched."""
        if ask and not self.maybe_save():
            return False
        if not self.load_path(path):
            return False
        recovery.offer_on_open(self, path)  # changes a crashed window left
        return True

    def load_path(self, path: Path) -> bool:
        """Show the project of a file, read off the GUI thread
        (ui/opening.py); False when it cannot be read or the user cancelled."""
        try:
            document = opening.read_document(self, path)
        except ProjectError as exc:
            self._file_error("Cannot open the project", exc)
            return False
        if document is None:
            self.show_notice(f"Opening {Path(path).name} cancelled", 6000)
            return False
        self.set_document(document)
        self._add_recent(path)
        data_files.check_after_open(self, document)
        return True

    def offer_recovery(self) -> bool:
        """At start-up: offer the recovery copies that windows which crashed
        or were killed left (ui/recovery.py); whether one was restored."""
        return recovery.offer_at_start(self)

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project as", str(self._save_start()), FILE_FILTER
        )
        if not path:
            return False
        if not path.endswith(".json"):
            path += SUFFIX
        path = Path(path)
        if self.document.project.name == UNTITLED:
            # A project nobody named takes its file's name, in the same
            # undo history as any rename.
            name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
            self.document.push(SetProjectName(name or UNTITLED))
        return self._save_to(path)

    def _save_start(self) -> Path:
        """Where Save As starts: the project's own file, else beside its data
        file, else the home folder; named after the project."""
        if self.document.path is not None:
            return self.document.path
        project = self.document.project
        name = project.name if project.name != UNTITLED else UNTITLED
        data = project.data
        folder = Path.home()
        if data.kind != "generator" and data.path and Path(data.path).parent.is_dir():
            folder = Path(data.path).parent
        return folder / f"{name}{SUFFIX}"

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except ProjectError as exc:
            self._file_error("Cannot save the project", exc)
            return False
        self._add_recent(path)
        self.show_notice(f"Saved {path}", 6000)
        return True

    def _file_error(self, title: str, exc: ProjectError) -> None:
        QMessageBox.warning(self, title, str(exc))

    # --- recent files -----------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(files))

    # --- edit ---------------------------------------------------------------------------

    def _text_focus(self) -> bool:
        """Keys like Delete and Ctrl+C belong to a text field that has focus."""
        from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QTextEdit

        focus = QApplication.focusWidget()
        return isinstance(focus, (QLineEdit, QTextEdit, QAbstractSpinBox))

    def document_undo(self) -> None:
        self.document.undo()

    def document_redo(self) -> None:
        self.document.redo()

    def copy(self) -> None:
        if self._text_focus():
            QApplication.focusWidget().copy()
            return
        if not self.document.selection:
            return
        text = clipboard.copy_nodes(self.document.project, self.document.selection)
        mime = QMimeData()
        mime.setData(clipboard.MIME_TYPE, QByteArray(text.encode("utf-8")))
        mime.setText(text)  # readable JSON in any text editor
        QApplication.clipboard().setMimeData(mime)

    def cut(self) -> None:
        if self._text_focus():
            QApplication.focusWidget().cut()
            return
        self.copy()
        self.delete_selection()

    def paste(self) -> None:
        if self._text_focus():
            QApplication.focusWidget().paste()
            return
        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return
        if mime.hasFormat(clipboard.MIME_TYPE):
            text = bytes(mime.data(clipboard.MIME_TYPE)).decode("utf-8")
        else:
            text = mime.text()
        try:
            command = clipboard.paste_command(self.document.project, text)
        except ValueError as exc:
            self.show_notice(f"Nothing to paste: {exc}")
            return
        if self.document.push(command):
            self.document.set_selection([c.node.id for c in command.commands if hasattr(c, "node")])

    def duplicate(self) -> None:
        if not self.document.selection:
            return
        command = clipboard.duplicate_command(self.document.project, self.document.selection)
        if self.document.push(command):
            self.document.set_selection([c.node.id for c in command.commands if hasattr(c, "node")])

    def delete_selection(self) -> None:
        """Delete the selected nodes (with their edges) and selected edges, as
        one undo step."""
        if self._text_focus():
            return
        nodes = list(self.document.selection)
        edges = [
            e
            for e in self.view.graph_scene.selected_edges()
            if e.source not in nodes and e.target not in nodes
        ]
        commands = [Disconnect(e) for e in edges]
        if nodes:
            commands.append(RemoveNodes(nodes))
        if len(commands) == 1:
            self.document.push(commands[0])
        elif commands:
            self.document.push(Macro(f"Delete {len(commands)} items", commands))

    def select_all(self) -> None:
        if self._text_focus():
            QApplication.focusWidget().selectAll()
            return
        self.document.set_selection(list(self.document.project.nodes))

    def add_task_head(self) -> None:
        if len(self.document.selection) != 1:
            self.show_notice("Select one node to add a task head below it")
            return
        command = add_task_head(self.document.project, self.document.selection[0])
        if self.document.push(command):
            output = command.commands[1].node.id
            self.document.set_selection([output])
            item = self.view.graph_scene.nodes.get(output)
            if item is not None:  # beside its siblings, maybe out of view
                self.view.ensureVisible(item.sceneBoundingRect(), 40, 40)

    def auto_layout(self) -> None:
        command = layout_command(self.document.project)
        if command.positions:
            self.document.push(command)
        self.view_fit()

    def view_fit(self) -> None:
        self.view.fit()

    # --- training -----------------------------------------------------------------------

    def _follow_runs(self) -> None:
        runs = self.runs
        runs.state_changed.connect(self._update_run_actions)
        runs.run_started.connect(self.plots.show_run)
        runs.updated.connect(self.plots.refresh)
        runs.run_finished.connect(self._run_finished)
        runs.progressed.connect(self._show_run_state)
        runs.run_started.connect(lambda curves: self.results.show_run(None, training=True))
        self.results.message.connect(self.show_notice)
        runs.run_opened.connect(self._run_opened)
        runs.open_failed.connect(
            lambda reason: QMessageBox.warning(self, "Cannot open the run", reason)
        )
        self.tensorboard.message.connect(self.show_notice)
        self.study.message.connect(self.show_notice)
        self.study.state_changed.connect(lambda busy: self._update_run_actions())
        runs.state_changed.connect(lambda state: self.study.refresh())
        self._edit_noted = False
        self._close_confirmed = False

    def _update_run_actions(self) -> None:
        state = self.runs.state
        reason = self.runs.train_refusal(self.document) if state == "idle" else None
        if reason is None and state == "idle" and self.study.busy:
            reason = STUDY_RUNNING
        self.act_train.setEnabled(state == "idle" and reason is None)
        tip = f"Cannot train: {reason}" if reason else "Train the project as it is now (F5)"
        self.act_train.setToolTip(tip)
        self.act_train.setStatusTip(tip)
        self.act_pause.setEnabled(state in ("starting", "running", "paused"))
        self.act_pause.setText("&Resume" if state == "paused" else "&Pause")
        self.act_stop.setEnabled(state in ("starting", "running", "paused"))
        self.act_continue.setEnabled(self.runs.can_continue() and not self.study.busy)
        self.act_predict.setEnabled(self.results.folder is not None)
        self.act_open_run.setEnabled(state == "idle")
        self.training_panel.run_panel.show_reason(reason)

    def train(self) -> None:
        reason = STUDY_RUNNING if self.study.busy else self.runs.start(self.document)
        if reason:
            self.show_notice(f"Cannot train: {reason}")
            return
        self._run_begins()

    def continue_training(self) -> None:
        reason = STUDY_RUNNING if self.study.busy else self.runs.continue_run()
        if reason:
            self.show_notice(f"Cannot continue: {reason}")
            return
        self._run_begins()

    def _run_begins(self) -> None:
        self._edit_noted = False
        self.tabs.setCurrentWidget(self.plots)
        if self._hidden_docks is None:  # the panels are not hidden for the plots
            self.docks[4].show()
            self.docks[4].raise_()

    def show_results_of(self, curves) -> None:
        """The Results tab shows a run that saved a model (evaluated when
        the tab is first shown)."""
        folder = Path(curves.folder) if curves is not None and curves.folder else None
        has_model = folder is not None and any(folder.glob("model-*.keras"))
        self.results.show_run(folder if has_model else None)

    def predict_on_file(self) -> None:
        self.tabs.setCurrentWidget(self.results)
        self.results.predict_on_file()

    def runs_root(self) -> Path:
        """The project's runs folder (where Train writes its runs)."""
        return self.runs.runs_root_for(self.document)

    def open_run(self) -> None:
        if self.runs.busy:
            self.show_notice("Cannot open a run: a run is in progress")
            return
        folder = choose_run(self, self.runs_root())
        if folder is None:
            return
        reason = self.runs.open_run(folder)
        if reason:
            self.show_notice(f"Cannot open the run: {reason}")

    def _run_opened(self, curves) -> None:
        self.plots.show_run(curves)
        self.tabs.setCurrentWidget(self.plots)
        self.show_results_of(curves)
        self._show_run_state()
        self._update_run_actions()
        best = f", best epoch {curves.best_epoch}" if curves.best_epoch else ""
        self.show_notice(f"Opened {curves.label}: {curves.status}, {curves.step:,} steps{best}")

    def open_tensorboard(self) -> None:
        self.tensorboard.open(self.runs_root(), self.document.title)

    def show_data_panel(self) -> None:
        """A problem with the data leads to the Data panel."""
        dock = self.docks[5]
        dock.show()
        dock.raise_()

    def _apply_plots_room(self) -> None:
        """With "Hide Side Panels on the Curves Tab" on, the panels shown
        hide while the curves tab is in front and come back with the network
        (or when the option goes off). Floating panels stay: they take no
        room from the plots."""
        want = self.act_plots_room.isChecked() and self.tabs.currentWidget() is self.plots
        if want and self._hidden_docks is None:
            self._hidden_docks = [d for d in self.docks if d.isVisible() and not d.isFloating()]
            for dock in self._hidden_docks:
                dock.hide()
        elif not want and self._hidden_docks is not None:
            for dock in self._hidden_docks:
                dock.show()
            self._hidden_docks = None

    def _show_run_state(self) -> None:
        curves, state = self.runs.curves, self.runs.state
        text = run_state_text(curves, state)
        p = curves.progress if curves is not None else None
        if state in ("running", "paused") and p is not None:
            text = f"epoch {p.epoch}/{p.epochs} \u00b7 {text}"
        self.run_label.setText(text)

    def pause_or_resume(self) -> None:
        if self.runs.state == "paused":
            self.runs.resume()
        else:
            self.runs.pause()

    def stop_training(self) -> None:
        self.runs.stop()

    def _edited_during_run(self, event) -> None:
        # The run trains a frozen copy: say so at the first edit of each run.
        if self.runs.busy and not self._edit_noted:
            self._edit_noted = True
            self.show_notice(
                "This edit applies to the next run; the current run trains the project as "
                "it was when you pressed Train"
            )

    def _run_finished(self, finished) -> None:
        self.plots.refresh()
        self._show_run_state()
        self.show_results_of(self.runs.curves)
        self._update_run_actions()
        if self._close_confirmed:
            return  # the window is closing: nothing more to say
        if finished.status in ("completed", "stopped"):
            self.show_notice(finished.message[:1].upper() + finished.message[1:])
            return
        title = {
            "nan": "Training stopped: the loss is not a number",
            "invalid": "Cannot train",
        }.get(finished.status, "Training failed")
        text = finished.message[:1].upper() + finished.message[1:]
        if self.runs.error_log:
            text += f"\n\nDetails for a bug report are in {self.runs.error_log}."
        text += "\n\nThe project is unchanged."
        QMessageBox.warning(self, title, text)

    # --- help ---------------------------------------------------------------------------

    def about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            (
                f"<h3>{APP_NAME} {__version__}</h3>"
                "<p>Design, train and export multi-task neural networks.</p>"
                "<p>Built on TensorFlow (Keras 3), PySide6, numpy and pyqtgraph.</p>"
            ),
        )

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", SHORTCUTS_HELP)

    # --- window -------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 880)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        else:
            # First launch: the canvas gets the room; problems and tasks share
            # a strip under it.
            self.resizeDocks([self.docks[3]], [170], Qt.Vertical)
            self.resizeDocks([self.docks[3], self.docks[2]], [700, 700], Qt.Horizontal)
            self.resizeDocks([self.docks[0], self.docks[1]], [190, 400], Qt.Horizontal)
        room = self.settings.value("hide_panels_for_curves", False)
        self.act_plots_room.setChecked(room in (True, "true"))

    def closeEvent(self, event) -> None:
        if self._close_confirmed:  # asked already; waited for the run to stop
            event.accept()
            return
        if self.runs.busy or self.study.busy:
            answer = QMessageBox.question(
                self,
                APP_NAME,
                f"{'A training run' if self.runs.busy else 'A study'} is in progress. "
                "Stop it and close?",
                QMessageBox.Yes | QMessageBox.Cancel,
                QMessageBox.Cancel,
            )
            if answer != QMessageBox.Yes:
                event.ignore()
                return
        if not self.maybe_save():
            event.ignore()
            return
        self.autosave.stop()  # saved or discarded: the recovery copy goes
        hidden_for_curves = self._hidden_docks is not None
        if hidden_for_curves:
            for dock in self._hidden_docks:  # saved as the user arranged them
                dock.show()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("hide_panels_for_curves", self.act_plots_room.isChecked())
        if hidden_for_curves:
            for dock in self._hidden_docks:
                dock.hide()
        self._close_confirmed = True  # the run's end, if any, is not news now
        self.data_panel.shutdown()  # a file being read stops at its next block
        self.results.shutdown()  # a prediction stops at its next block
        self.tensorboard.stop()
        if not self.runs.shutdown():
            # Inside one long compiled call or model build: Stop takes effect
            # when it returns. Leave the screen now and close then.
            self.hide()
            self.runs.run_finished.connect(lambda finished: self.close())
            event.ignore()
            return
        if not self.study.shutdown():
            # As for a run: the study's run stops when its long call returns.
            self.hide()
            self.study.study_ended.connect(lambda result: self.close())
            event.ignore()
            return
        event.accept()

    def dragEnterEvent(self, event) -> None:
        if self._dropped_project(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped_project(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    @staticmethod
    def _dropped_project(mime) -> Path | None:
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile().endswith(".json"):
                return Path(url.toLocalFile())
        return None
