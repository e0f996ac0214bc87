"""File ▸ New Project: a name and a parent folder; the project folder is created inside it.

The parent folder offered is :func:`studio.paths.projects_dir`: the one chosen in Preferences, else the default.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from studio import paths
from studio.core.project import is_project

_FORBIDDEN = set('<>:"/\\|?*')


class NewProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Project")
        self.setMinimumWidth(520)
        self.name = QLineEdit("My Project")
        self.name.selectAll()
        self.location = QLineEdit(str(paths.projects_dir()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)
        self.problem = QLabel(objectName="emptyBody")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Location", row)
        form.addRow(self.problem)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._validate)
        self.location.textChanged.connect(self._validate)
        self._validate()

    @property
    def folder(self) -> Path:
        return Path(self.location.text()).expanduser() / self.name.text().strip()

    @Slot()
    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Where to create the project", self.location.text())
        if chosen:
            self.location.setText(chosen)

    @Slot()
    def _validate(self) -> None:
        name = self.name.text().strip()
        problem = ""
        if not name:
            problem = "Give the project a name."
        elif _FORBIDDEN & set(name) or name in (".", ".."):
            problem = 'A project name cannot contain < > : " / \\ | ? *'
        elif is_project(self.folder):
            problem = "A project with this name already exists there; open it instead."
        elif self.folder.exists() and any(self.folder.iterdir()):
            problem = "That folder already exists and is not empty; pick another name."
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
