"""The highlighted hint laid over a panel while files are dragged over it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from studio.ui.icons import icon


class DropOverlay(QFrame):
    """The highlighted hint over the whole panel while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        picture.setPixmap(icon("import").pixmap(QSize(48, 48)))
        self.title = QLabel("Drop to import", objectName="dropTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(objectName="dropBody", alignment=Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(8)
        layout.addWidget(picture)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.hide()

    def show_for(self, body: str) -> None:
        self.body.setText(body)
        self.setGeometry(self.parentWidget().rect().adjusted(10, 10, -10, -10))
        self.raise_()
        self.show()
