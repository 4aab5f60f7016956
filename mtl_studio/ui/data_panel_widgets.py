"""The Data panel's widgets: a few small widget classes, and the
construction and layout of the panel's controls (build_widgets).

Only construction lives here: the widgets become attributes of the panel
(data_panel.DataPanel), which shows the project in them and connects
their signals to its edits (data_edits.DataEdits). Nothing here reads the
document or pushes a command.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTextLayout
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..data.generators import GENERATORS
from .data_loader import PreviewModel
from .data_mapping import NAME, ColumnsModel, MappingModel
from .image_preview import ImageFields, ThumbnailStrip
from .widgets import ErrorLabel, FloatSpinBox

KINDS = {
    "generator": "Built-in generator",
    "csv": "CSV file",
    "npz": "NPZ file (numpy arrays)",
    "images": "Image folder (CSV of image paths)",
}


def table_height(view: QTableView, rows: int) -> int:
    """The height of a table that shows its header, `rows` rows and a
    horizontal scroll bar. (The header is counted as a row: it has no
    height of its own before the table has columns.)"""
    return (
        (rows + 1) * view.verticalHeader().defaultSectionSize()
        + view.horizontalScrollBar().sizeHint().height()
        + 2 * view.frameWidth()
    )


class NoteLabel(QLabel):
    """Text in at most `lines` lines, and always that tall, so that what
    follows never moves when the text changes. Longer text ends in an
    ellipsis; the tooltip has all of it."""

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines
        self.full, self.color = "", ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 2)

    def set_note(self, text: str, color: str = "") -> None:
        self.full = text
        if color != self.color:
            self.color = color
            self.setStyleSheet(f"color: {color};" if color else "")
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Break the text into lines here (the label itself does not wrap),
        the last one elided."""
        width = self.contentsRect().width()
        if width <= 0:
            self.setText(self.full)
            return
        layout = QTextLayout(self.full, self.font())
        layout.beginLayout()
        starts = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            starts.append(line.textStart())
        layout.endLayout()
        ends = starts[1:] + [len(self.full)]
        rows = [self.full[a:b].strip() for a, b in zip(starts, ends)]
        cut = len(rows) > self.lines
        if cut:
            rows = rows[: self.lines - 1] + [
                self.fontMetrics().elidedText(
                    self.full[starts[self.lines - 1] :], Qt.TextElideMode.ElideRight, width
                )
            ]
        self.setText("\n".join(rows))
        self.setToolTip(self.full if cut else "")


class CompactTableView(QTableView):
    """A table that asks for no more than its minimum height: the panel
    scrolls, and a scroll area sizes its content by preferred heights, so
    a table's default wish (about 190 px) would push everything below it
    out of view. Spare height still goes to the tables (stretch)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


def build_widgets(panel: QWidget) -> None:
    """Create the panel's controls as its attributes (scope_combo,
    kind_combo, preview_view, mapping_view, columns_view, split_spin, ...)
    and lay them out in it. Their signals are left unconnected: the
    panel connects them once it has its edits to connect them to."""
    _scope_bar(panel)
    _source_form(panel)

    # Why a source could not be read or set. It shows only after a
    # gesture on the source, whose controls are all above it.
    panel.error = ErrorLabel()
    panel.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    mapping_box = _tables(panel)
    options = _options(panel)

    # The tables share the height the dock has: the preview a fifth, the
    # mapping the rest (the columns list, where the work is, gets all of
    # its share). A splitter keeps its panes' proportions as it grows,
    # and the user's own once the handle is dragged.
    panel.splitter = QSplitter(Qt.Orientation.Vertical)
    panel.splitter.setChildrenCollapsible(False)
    panel.splitter.addWidget(panel.preview_view)
    panel.splitter.addWidget(mapping_box)
    panel.splitter.setSizes([1000, 4000])

    # Everything scrolls when the dock is shorter than the panel needs,
    # rather than being cut off.
    body = QWidget()
    scroll = QScrollArea(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    layout = QVBoxLayout(body)
    layout.setContentsMargins(4, 2, 4, 2)
    layout.addWidget(panel.scope_bar)
    layout.addLayout(panel.source_form)
    layout.addWidget(panel.error)
    layout.addWidget(panel.splitter, 1)
    layout.addLayout(options)


def _scope_bar(panel: QWidget) -> None:
    """Whose data: only in alternating mode (or while a task has its own)."""
    panel.scope_combo = QComboBox()
    panel.scope_combo.setToolTip("Alternating mode: a task can learn from its own data set")
    panel.own_data_check = QCheckBox("Own data set")
    panel.own_data_check.setToolTip("Give this task a data set of its own instead of the project's")
    panel.scope_bar = QWidget()
    scope_row = QHBoxLayout(panel.scope_bar)
    scope_row.setContentsMargins(0, 0, 0, 0)
    scope_row.addWidget(QLabel("Data for"))
    scope_row.addWidget(panel.scope_combo, 1)
    scope_row.addWidget(panel.own_data_check)


def _source_form(panel: QWidget) -> None:
    """The source: its kind, then the file or the generator and its parameters."""
    panel.kind_combo = QComboBox()
    for kind, label in KINDS.items():
        panel.kind_combo.addItem(label, kind)
    # Room beside it for what was read, in a narrow dock too.
    panel.kind_combo.setSizeAdjustPolicy(
        QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    panel.kind_combo.setMinimumContentsLength(12)
    panel.path_edit = QLineEdit()
    panel.path_edit.setReadOnly(True)
    panel.path_edit.setPlaceholderText("no file chosen")
    panel.browse_button = QPushButton("Browse…")
    panel.reload_button = QPushButton("Reload")
    panel.reload_button.setToolTip("Read the file again (after it changed on disk)")
    panel.file_row = QWidget()
    file_layout = QHBoxLayout(panel.file_row)
    file_layout.setContentsMargins(0, 0, 0, 0)
    file_layout.addWidget(panel.path_edit, 1)
    file_layout.addWidget(panel.browse_button)
    file_layout.addWidget(panel.reload_button)
    panel.generator_combo = QComboBox()
    for name in GENERATORS:
        panel.generator_combo.addItem(name, name)
    panel.generator_description = QLabel()
    panel.generator_description.setWordWrap(True)
    panel.source_form = QFormLayout()
    panel.source_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    panel.source_form.addRow("Source", _status_row(panel))
    panel.source_form.addRow("File", panel.file_row)
    # An image folder's fields and its first images (ui/image_preview.py).
    panel.image_fields = ImageFields()
    panel.source_form.addRow("Images", panel.image_fields)
    panel.thumbnails = ThumbnailStrip()
    panel.source_form.addRow(panel.thumbnails)
    panel.source_form.addRow("Generator", panel.generator_combo)
    panel.source_form.addRow(panel.generator_description)
    # The generator's parameters, two to a row: a tall form would push
    # the tables out of a dock.
    panel.params_box = QWidget()
    panel.params_grid = QGridLayout(panel.params_box)
    panel.params_grid.setContentsMargins(0, 0, 0, 0)
    panel.params_grid.setColumnStretch(1, 1)
    panel.params_grid.setColumnStretch(3, 1)
    panel.source_form.addRow(panel.params_box)


def _status_row(panel: QWidget) -> QWidget:
    """The kind of source, then what was read (rows and columns) or the
    progress of a read with Cancel: one row that is always there, so
    nothing below moves as a read starts and ends."""
    panel.status_label = QLabel()
    panel.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    panel.progress_bar = QProgressBar()
    panel.progress_bar.setRange(0, 1000)
    panel.progress_bar.setTextVisible(True)
    panel.cancel_button = QPushButton("Cancel")
    panel.progress_row = QWidget()
    progress_layout = QHBoxLayout(panel.progress_row)
    progress_layout.setContentsMargins(0, 0, 0, 0)
    progress_layout.addWidget(panel.progress_bar, 1)
    progress_layout.addWidget(panel.cancel_button)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel.kind_combo)
    layout.addWidget(panel.status_label, 1)
    layout.addWidget(panel.progress_row, 1)
    return row


def _tables(panel: QWidget) -> QWidget:
    """The first rows (panel.preview_view), and the mapping with its
    columns; returns the box that holds the latter two."""
    panel.preview_model = PreviewModel(panel)
    panel.preview_view = CompactTableView()
    panel.preview_view.setModel(panel.preview_model)
    panel.preview_view.setAlternatingRowColors(True)
    panel.preview_view.verticalHeader().setToolTip(
        "The row in the file (the header is row 1), as error messages count"
    )

    # The mapping and the columns.
    panel.mapping_model = MappingModel(panel)
    panel.mapping_view = QTableView()
    panel.mapping_view.setModel(panel.mapping_model)
    panel.mapping_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    panel.mapping_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    panel.mapping_view.verticalHeader().hide()
    panel.mapping_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = panel.mapping_view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    # What to tick, what is wrong with the chosen row, or why the last
    # tick was refused: all in one place of fixed height (two lines),
    # so that ticking a column never moves the list under the mouse.
    panel.mapping_note = NoteLabel(lines=2)
    panel.shape_button = QPushButton()
    panel.shape_button.setToolTip("Set the Input node's shape to what its columns give")
    note_row = QWidget()
    note_layout = QHBoxLayout(note_row)
    note_layout.setContentsMargins(0, 0, 0, 0)
    note_layout.addWidget(panel.mapping_note, 1)
    note_layout.addWidget(panel.shape_button, 0, Qt.AlignmentFlag.AlignTop)
    note_row.setFixedHeight(
        max(panel.mapping_note.height(), panel.shape_button.sizeHint().height())
    )
    panel.columns_model = ColumnsModel(panel)
    panel.columns_view = CompactTableView()
    panel.columns_view.setModel(panel.columns_model)
    panel.columns_view.verticalHeader().hide()
    panel.columns_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    header = panel.columns_view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # The name takes the width left (a long name is elided, whole in its
    # tooltip) rather than a scroll bar taking a row's height.
    header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
    for view in (panel.preview_view, panel.mapping_view, panel.columns_view):
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    # Small enough for a short dock (the panel scrolls below this), and
    # never less than a few rows.
    for view, rows in ((panel.preview_view, 2), (panel.columns_view, 3)):
        view.setMinimumHeight(table_height(view, rows))
    # No group boxes around the tables: in a short dock their titles and
    # frames would cost rows of the list; the headers say what they are.
    mapping_box = QWidget()
    mapping_layout = QVBoxLayout(mapping_box)
    mapping_layout.setContentsMargins(0, 0, 0, 0)
    mapping_layout.setSpacing(4)
    mapping_layout.addWidget(panel.mapping_view)
    mapping_layout.addWidget(note_row)
    mapping_layout.addWidget(panel.columns_view, 1)
    return mapping_box


def _options(panel: QWidget) -> QFormLayout:
    """Preparation: standardisation, and the validation split and the test
    share. The two shares live here alone (the training settings form has
    neither): they say which rows train."""
    panel.standardize_inputs_check = QCheckBox("inputs")
    panel.standardize_inputs_check.setToolTip(
        "Scale each input value by the mean and standard deviation of the training split"
    )
    panel.standardize_targets_check = QCheckBox("regression targets")
    panel.standardize_targets_check.setToolTip(
        "The same for the targets of regression tasks; predictions are scaled back"
    )
    panel.split_spin = FloatSpinBox(decimals=3)
    panel.split_spin.setRange(0.0, 0.95)
    panel.split_spin.setSingleStep(0.05)
    panel.split_spin.setKeyboardTracking(False)
    panel.split_spin.setToolTip(
        "Share of the rows held out to measure the validation loss "
        "each epoch, drawn with the project's seed (every data set)"
    )
    # Beside it, the same way: the rows kept out of the run altogether.
    panel.test_spin = FloatSpinBox(decimals=3)
    panel.test_spin.setRange(0.0, 0.95)
    panel.test_spin.setSingleStep(0.05)
    panel.test_spin.setKeyboardTracking(False)
    panel.test_spin.setToolTip(
        "Share of the rows held out from training, early stopping and the choice of the "
        "best epoch, drawn with the project's seed (every data set); `mtl-studio "
        "evaluate` and the Results view score them"
    )
    panel.test_label = QLabel("Test share")
    panel.test_label.setToolTip(panel.test_spin.toolTip())
    panel.test_label.setBuddy(panel.test_spin)
    options = QFormLayout()
    options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    standardize = QHBoxLayout()
    standardize.addWidget(panel.standardize_inputs_check)
    standardize.addWidget(panel.standardize_targets_check)
    standardize.addStretch(1)
    options.addRow("Standardise", standardize)
    held_out = QHBoxLayout()
    held_out.addWidget(panel.split_spin)
    held_out.addSpacing(12)
    held_out.addWidget(panel.test_label)
    held_out.addWidget(panel.test_spin)
    held_out.addStretch(1)
    options.addRow("Validation split", held_out)
    return options
