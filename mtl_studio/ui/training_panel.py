"""The Training panel: the run box (buttons, progress, outcome, live
controls) above the settings form, in one scrolling column."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from .document import Document
from .run_controller import RunController
from .run_panel import RunPanel
from .training_settings import TrainingSettingsForm


class TrainingPanel(QScrollArea):
    def __init__(
        self, document: Document, controller: RunController, actions, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.run_panel = RunPanel(controller, actions)
        self.settings_form = TrainingSettingsForm(document)
        settings_box = QGroupBox("Settings (saved with the project)")
        QVBoxLayout(settings_box).addWidget(self.settings_form)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.run_panel)
        layout.addWidget(settings_box)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)

    def set_document(self, document: Document) -> None:
        self.settings_form.set_document(document)
