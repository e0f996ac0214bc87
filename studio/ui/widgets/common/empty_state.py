"""The honest placeholder a panel shows when there is nothing to show yet, with the next step to take."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from studio.ui.icons import icon


class EmptyState(QWidget):
    action_triggered = Signal()

    def __init__(self, title: str, body: str, action: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("emptyState")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(10)
        picture = QLabel()
        picture.setPixmap(icon("empty").pixmap(QSize(96, 96)))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(title, objectName="emptyTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(body, objectName="emptyBody", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setMaximumWidth(460)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(picture)
        layout.addWidget(self.title)
        layout.addWidget(self.body, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.button: QPushButton | None = None
        if action:
            self.button = QPushButton(action)
            self.button.setProperty("primary", True)
            self.button.clicked.connect(self.action_triggered)
            layout.addSpacing(6)
            layout.addWidget(self.button, alignment=Qt.AlignmentFlag.AlignHCenter)

    def set_text(self, title: str, body: str) -> None:
        self.title.setText(title)
        self.body.setText(body)
