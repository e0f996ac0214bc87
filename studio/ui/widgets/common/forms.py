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
