"""Label / field rows shared by the panels' small settings forms."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget


def form_rows(rows: list[tuple[str, QWidget]]) -> QGridLayout:
    """Label / field rows with the labels centred on their fields (QFormLayout aligns them to the top of
    the taller spin and combo boxes, which looks off)."""
    grid = QGridLayout()
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(14)
    grid.setVerticalSpacing(10)
    for row, (label, field) in enumerate(rows):
        grid.addWidget(QLabel(label), row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(field, row, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    grid.setColumnStretch(2, 1)
    return grid


def field_rows(rows: list[tuple[str | QWidget, QWidget]]) -> QGridLayout:
    """Label / field rows whose fields take the card's width (the model, checkpoint and voice pickers): a text
    label becomes a QLabel, a widget label (one the caller hides or renames later) is used as it is."""
    grid = QGridLayout()
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(8)
    for row, (label, field) in enumerate(rows):
        grid.addWidget(QLabel(label) if isinstance(label, str) else label, row, 0)
        grid.addWidget(field, row, 1)
    grid.setColumnStretch(1, 1)
    return grid
