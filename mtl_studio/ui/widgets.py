"""Small pieces the panels share: a base for views of a Document, a red
reason label, a float spin box that reads well, and a colour swatch."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QWidget

from ..core.commands import Command
from .document import Document
from .signals import connect_all

ERROR_COLOR = "#C62828"
WARNING_COLOR = "#B26B00"


class DocumentView(QWidget):
    """A panel that shows one Document and follows some of its signals.

    Subclasses list the signals in `follows` as (signal name, method name)
    pairs, build their widgets, then call set_document. set_document moves
    the connections to another document (the window's New / Open)."""

    follows: tuple[tuple[str, str], ...] = ()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None

    def set_document(self, document: Document) -> None:
        if self.document is not None:
            self._connect(self.document, False)
        self.document = document
        self._connect(document, True)
        self.refresh()

    def refresh(self) -> None:
        """Show the document from scratch."""

    def _connect(self, document: Document, on: bool) -> None:
        connect_all([(getattr(document, s), getattr(self, slot)) for s, slot in self.follows], on)


def push_or_reason(document: Document, command: Command) -> str | None:
    """Push a command; return None when done, or the core's reason for
    refusing it (which Document.push only sends out through `message`)."""
    reasons: list[str] = []
    catch = reasons.append
    document.message.connect(catch)
    try:
        done = document.push(command)
    finally:
        document.message.disconnect(catch)
    if done:
        return None
    return reasons[-1] if reasons else "The edit was refused"


class ErrorLabel(QLabel):
    """Red text under or beside a field; hidden while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet(f"color: {ERROR_COLOR};")
        self.hide()

    def show_reason(self, text: str | None) -> None:
        text = text or ""
        self.setText(text[:1].upper() + text[1:])
        self.setVisible(bool(text))


class FloatSpinBox(QDoubleSpinBox):
    """A QDoubleSpinBox with many decimals (so 1e-7 survives) that drops the
    trailing zeros when it shows a value: 0.99, not 0.9900000000."""

    def __init__(self, parent: QWidget | None = None, decimals: int = 10) -> None:
        super().__init__(parent)
        self.setDecimals(decimals)

    def textFromValue(self, value: float) -> str:
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


def float_step(default: float) -> float:
    """A spin step of the default's order of magnitude: 0.01 for 0.5,
    0.0001 for 0.001, so a click makes a small, sensible change."""
    if not default:
        return 0.01
    text = f"{abs(default):e}"  # "5.000000e-01": the exponent is the order
    return 10.0 ** (int(text.split("e")[1]) - 1)


def color_icon(color: str, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)
