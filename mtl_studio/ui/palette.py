"""The layer palette: the catalogue's kinds by category, searchable, and
drag sources for the canvas."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.catalogue import CATEGORIES, KINDS
from .document import Document

KIND_MIME = "application/x-mtl-studio-kind"
_KIND_ROLE = Qt.ItemDataRole.UserRole


def search_kinds(text: str) -> list[str]:
    """Kind names that contain `text` (any case): those that start with it
    first, each group in catalogue order. Empty text matches every kind."""
    needle = text.strip().lower()
    names = [n for n in KINDS if needle in n.lower()]
    return sorted(names, key=lambda n: not n.lower().startswith(needle))


class _KindTree(QTreeWidget):
    """The tree, whose dragged items carry the kind name under KIND_MIME."""

    def mimeTypes(self) -> list[str]:
        return [KIND_MIME]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        kinds = [item.data(0, _KIND_ROLE) for item in items if item.data(0, _KIND_ROLE)]
        if kinds:
            mime.setData(KIND_MIME, kinds[0].encode("utf-8"))
        return mime


class LayerPalette(QWidget):
    # A kind chosen by double-click or Enter: the window adds it to the
    # canvas (below the selected node, or in the middle of the view).
    kind_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        # No document: the catalogue is the same for every project.
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.tree = _KindTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        # A search that matches nothing says so, rather than an empty tree
        # and an Enter that does nothing.
        self.no_match = QLabel(self)
        self.no_match.setWordWrap(True)
        self.no_match.setStyleSheet("QLabel { color: #7b8794; padding: 4px; }")
        self.no_match.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.no_match)
        layout.addWidget(self.tree)
        self._fill()
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._activate_item)

    def set_document(self, document: Document) -> None:
        """The catalogue is the same for every project: nothing to do."""

    def kind_items(self) -> list[QTreeWidgetItem]:
        return [
            self.tree.topLevelItem(i).child(j)
            for i in range(self.tree.topLevelItemCount())
            for j in range(self.tree.topLevelItem(i).childCount())
        ]

    def visible_kinds(self) -> list[str]:
        return [
            item.data(0, _KIND_ROLE)
            for item in self.kind_items()
            if not item.isHidden() and not item.parent().isHidden()
        ]

    def _fill(self) -> None:
        for category in CATEGORIES:
            group = QTreeWidgetItem(self.tree, [category])
            # A category is a heading: it is neither dragged nor added.
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for kind in KINDS.values():
                if kind.category == category:
                    item = QTreeWidgetItem(group, [kind.name])
                    item.setData(0, _KIND_ROLE, kind.name)
                    item.setToolTip(0, kind.description)
                    item.setFlags(
                        Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemIsDragEnabled
                    )
        self.tree.expandAll()

    def _filter(self, text: str) -> None:
        matches = set(search_kinds(text))
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                child.setHidden(child.data(0, _KIND_ROLE) not in matches)
                shown += not child.isHidden()
            group.setHidden(shown == 0)
            group.setExpanded(True)
        self.no_match.setText(f"No layer matches '{text.strip()}'.")
        self.no_match.setVisible(not matches)

    def _activate_item(self, item: QTreeWidgetItem) -> None:
        kind = item.data(0, _KIND_ROLE)
        if kind:
            self.kind_activated.emit(kind)

    def _activate_first(self) -> None:
        # Enter in the search box adds the best match: type "den", Enter.
        matches = search_kinds(self.search.text())
        if self.search.text().strip() and matches:
            self.kind_activated.emit(matches[0])
