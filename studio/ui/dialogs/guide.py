"""Help ▸ Getting started: the five panels in the order a first project goes through them, in plain words.

The window shows it once, on the first launch (``AppSettings.guide_shown`` remembers it), and Help reopens it.
It is not modal: the user can keep it open beside the window and press each step's *Open* to go to that panel.
The step titles and icons come from the panels themselves, so a renamed panel renames its step.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.icons import icon

# What each panel is for, as a first-time user would ask it: "what do I do here, and what comes out?"
STEPS = {
    "dataset": (
        "Start here. Drop a folder of pictures, text files or voice recordings on this panel. The studio "
        "checks every file, says what it left out and why, and offers fixes you can undo. When the dataset "
        "looks right, build its cache."
    ),
    "training": (
        "Choose the dataset and what to train (a picture model, a writer or a voice), then press Start. "
        "Curves and samples show how it is going; pause or stop at any time and carry on later from the "
        "last save."
    ),
    "image": (
        "Make pictures with an image model you trained, or with a starter one: a grid of new pictures, "
        "variations of one you like, a walk from one to another. Export the ones you keep."
    ),
    "text": (
        "Write copy with a writer model: type a prompt or pick a template, compare a few versions, and export the text."
    ),
    "speech": "Type a script, choose a voice, listen to it, and export a WAV for your video or ad.",
}

FOOTER = (
    "The demo project that opens on the first launch holds a small dataset of each kind, so every step can be "
    "tried right away. Help ▸ Getting started shows this guide again; Help ▸ Keyboard shortcuts lists every key."
)


class GettingStartedDialog(QDialog):
    """One row per panel: its icon, its title, what to do there, and a button that opens it."""

    open_panel = Signal(str)  # a panel id: the window shows that panel

    def __init__(self, panels, parent: QWidget | None = None) -> None:
        """``panels``: the window's panels in sidebar order (each has panel_id, title and icon_name)."""
        super().__init__(parent)
        self.setObjectName("gettingStarted")
        self.setWindowTitle("Getting started")
        self.setMinimumWidth(560)
        heading = QLabel("Five steps from your files to your own models", objectName="panelTitle")
        heading.setWordWrap(True)
        steps = QGridLayout()
        steps.setHorizontalSpacing(14)
        steps.setVerticalSpacing(14)
        steps.setColumnStretch(1, 1)
        self.open_buttons: dict[str, QPushButton] = {}
        for row, panel in enumerate(p for p in panels if p.panel_id in STEPS):
            picture = QLabel()
            picture.setPixmap(icon(panel.icon_name).pixmap(QSize(28, 28)))
            picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            text = QLabel(f"<b>{row + 1}. {panel.title}</b><br>{STEPS[panel.panel_id]}")
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            button = QPushButton("Open")
            button.setToolTip(f"Show the {panel.title} panel")
            button.setProperty("panel_id", panel.panel_id)
            button.clicked.connect(self._on_open)
            self.open_buttons[panel.panel_id] = button
            steps.addWidget(picture, row, 0)
            steps.addWidget(text, row, 1)
            steps.addWidget(button, row, 2, Qt.AlignmentFlag.AlignTop)
        footer = QLabel(FOOTER, objectName="mutedLabel")
        footer.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 18, 22, 14)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addLayout(steps)
        layout.addWidget(footer)
        layout.addWidget(buttons)

    @Slot()
    def _on_open(self) -> None:
        self.open_panel.emit(str(self.sender().property("panel_id")))
