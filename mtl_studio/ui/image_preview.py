"""The Data panel's parts for an image folder (data/images.py): the fields of
the source (its image column, the size images are resized to, channels and
the cache) and a strip of thumbnails of its first images.

Both only show: a field the user changes is emitted as `changed(field,
value)`, and the panel (ui/data_panel.py) makes it one undoable edit of the
source. The thumbnails read a handful of small images on the GUI thread
(Qt decodes PNG and JPEG, scaled while it reads), at most THUMBNAILS of
them, and only again when the CSV file, a caption or an image changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import IMAGE_CHANNELS, MAX_IMAGE_SIZE, DataSource

THUMBNAILS = 8  # images shown at most
THUMB_SIZE = 64  # pixels, the longer side
CHANNEL_NAMES = {1: "1 (grayscale)", 3: "3 (RGB)"}


class ImageFields(QWidget):
    """Image column, height x width, channels and the cache of an image folder."""

    changed = Signal(str, object)  # DataSource field, new value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.column_combo = QComboBox()
        self.column_combo.setToolTip(
            "The column of image paths (PNG or JPEG), relative to the CSV file's folder"
        )
        self.height_spin, self.width_spin = QSpinBox(), QSpinBox()
        for spin, name in ((self.height_spin, "height"), (self.width_spin, "width")):
            spin.setRange(1, MAX_IMAGE_SIZE)
            spin.setKeyboardTracking(False)
            spin.setToolTip(f"Every image is resized to this {name} (pixels)")
        self.channels_combo = QComboBox()
        for channels in IMAGE_CHANNELS:
            self.channels_combo.addItem(CHANNEL_NAMES[channels], channels)
        self.channels_combo.setToolTip("Images are converted to grayscale or RGB")
        self.cache_check = QCheckBox("Cache")
        self.cache_check.setToolTip(
            "Keep the decoded images on disk, so the next run does not decode them again"
        )
        # Two lines: the column and the cache, then the size; in one line they
        # made the Data dock wider than its place and clipped it.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        first, second = QHBoxLayout(), QHBoxLayout()
        first.addWidget(self.column_combo, 1)
        first.addWidget(self.cache_check)
        second.addWidget(self.height_spin, 1)
        second.addWidget(QLabel("×"))
        second.addWidget(self.width_spin, 1)
        second.addWidget(self.channels_combo, 1)
        layout.addLayout(first)
        layout.addLayout(second)
        self.column_combo.activated.connect(
            lambda i: self.changed.emit("image_column", self.column_combo.itemData(i))
        )
        self.height_spin.valueChanged.connect(lambda v: self.changed.emit("image_height", v))
        self.width_spin.valueChanged.connect(lambda v: self.changed.emit("image_width", v))
        self.channels_combo.activated.connect(
            lambda i: self.changed.emit("image_channels", self.channels_combo.itemData(i))
        )
        self.cache_check.clicked.connect(lambda on: self.changed.emit("cache_images", on))

    def show_source(self, source: DataSource, columns: list[str]) -> None:
        """Show the source's fields (without emitting); `columns` are the
        CSV's columns to choose the image column from."""
        for widget in (self.column_combo, self.height_spin, self.width_spin):
            widget.blockSignals(True)
        names = list(columns)
        if source.image_column and source.image_column not in names:
            names.insert(0, source.image_column)
        if [self.column_combo.itemData(i) for i in range(self.column_combo.count())] != names:
            self.column_combo.clear()
            for name in names:
                self.column_combo.addItem(name, name)
        self.column_combo.setCurrentIndex(self.column_combo.findData(source.image_column))
        self.height_spin.setValue(source.image_height)
        self.width_spin.setValue(source.image_width)
        self.channels_combo.setCurrentIndex(self.channels_combo.findData(source.image_channels))
        self.cache_check.setChecked(source.cache_images)
        for widget in (self.column_combo, self.height_spin, self.width_spin):
            widget.blockSignals(False)


@dataclass(frozen=True)
class Thumb:
    row: int  # as the CSV's messages number rows
    path: Path  # the image file
    caption: str  # the targets, under the row number
    text: str = ""  # the path as the CSV writes it


class ThumbnailStrip(QScrollArea):
    """A row of thumbnails, each with its row number and caption under it;
    an image that cannot be read is a placeholder with its path and the
    reason in its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget()
        self.row_layout = QHBoxLayout(self.body)
        self.row_layout.setContentsMargins(0, 0, 0, 0)
        self.row_layout.addStretch(1)
        self.setWidget(self.body)
        self.tiles: list[QWidget] = []
        self._shown: tuple | None = None
        tile_height = THUMB_SIZE + 2 * self.fontMetrics().lineSpacing() + 12
        self.setFixedHeight(tile_height + self.horizontalScrollBar().sizeHint().height())

    def show_thumbs(self, thumbs: list[Thumb]) -> None:
        thumbs = thumbs[:THUMBNAILS]
        key = tuple((t, _stamp(t.path)) for t in thumbs)
        if key == self._shown:
            return  # nothing changed: no image is read again
        self._shown = key
        for tile in self.tiles:
            self.row_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = [self._tile(t) for t in thumbs]
        for i, tile in enumerate(self.tiles):
            self.row_layout.insertWidget(i, tile)

    def placeholders(self) -> list[QWidget]:
        return [t for t in self.tiles if t.property("missing")]

    def _tile(self, thumb: Thumb) -> QWidget:
        tile = QWidget()
        layout = QVBoxLayout(tile)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        picture = QLabel()
        picture.setFixedSize(THUMB_SIZE, THUMB_SIZE)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap, problem = load_thumbnail(thumb.path)
        where = thumb.text or str(thumb.path)
        if pixmap is None:
            picture.setText("missing" if problem == "not found" else "unreadable")
            picture.setStyleSheet("border: 1px dashed #c0392b; color: #c0392b;")
            picture.setToolTip(f"{where}: {problem}")
            tile.setProperty("missing", True)
        else:
            picture.setPixmap(pixmap)
            picture.setToolTip(where)
        layout.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
        caption = QLabel(f"row {thumb.row}\n{thumb.caption}".rstrip())
        caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        caption.setMaximumWidth(THUMB_SIZE + 24)
        caption.setToolTip(caption.text())
        layout.addWidget(caption)
        tile.setToolTip(picture.toolTip())
        return tile


def load_thumbnail(path: Path) -> tuple[QPixmap | None, str]:
    """The image scaled to fit THUMB_SIZE while it is read, or (None, why)."""
    if not Path(path).is_file():
        return None, "not found"
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        reader.setScaledSize(size.scaled(QSize(THUMB_SIZE, THUMB_SIZE), Qt.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None, f"cannot be read ({reader.errorString()})"
    return QPixmap.fromImage(image), ""


def _stamp(path: Path):
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
