"""The pronunciation dictionary editor: a two-column table, word → how to say it.

A row says either a respelling the voice reads as written ("Nyke" for "Nike") or phonemes between slashes
("/nˈaɪki/", IPA as espeak-ng writes it). The core applies it before synthesis (whole words, any case). The
editor only edits: :attr:`changed` fires after each finished edit, add or remove, and the panel saves the
dictionary to the project and passes it to the next job.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.icons import icon


class DictionaryEditor(QWidget):
    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 2, objectName="speechDictionary")
        self.table.setHorizontalHeaderLabels(["Word", "Say it as"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setToolTip("Double-click a cell to edit it")
        self.table.setMinimumHeight(120)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.hint = QLabel(
            "Fix how a word is said: a respelling (<span style='white-space:nowrap'>Nike → Nyke"
            "</span>) or phonemes between slashes (<span style='white-space:nowrap'>/nˈaɪki/</span>)."
            " Every voice uses it.",
            objectName="mutedLabel",
        )
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.setWordWrap(True)
        self.add_button = QPushButton(icon("new"), "Add word", objectName="speechDictAdd")
        self.add_button.setToolTip("Add a row and type the word, then how to say it")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton("Remove", objectName="speechDictRemove")
        self.remove_button.setToolTip("Remove the selected words")
        self.remove_button.clicked.connect(self.remove_selected)
        self.saved_note = QLabel(objectName="mutedLabel")
        self.saved_note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.saved_note)
        self._update_buttons()

    def entries(self) -> dict[str, str]:
        """Complete rows only (a word and how to say it), in table order."""
        found: dict[str, str] = {}
        for row in range(self.table.rowCount()):
            word, say = (self.table.item(row, c) for c in (0, 1))
            word_text = word.text().strip() if word else ""
            say_text = say.text().strip() if say else ""
            if word_text and say_text:
                found[word_text] = say_text
        return found

    def set_entries(self, entries: dict) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for word, say in (entries or {}).items():
            self._append(str(word), str(say))
        self.table.blockSignals(False)
        self._update_buttons()

    def _append(self, word: str, say: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(word))
        self.table.setItem(row, 1, QTableWidgetItem(say))
        return row

    def add_entry(self, word: str, say: str) -> None:
        """Add (or replace) a word, as typing it into a new row would."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item and item.text().strip().lower() == word.strip().lower():
                self.table.item(row, 1).setText(say)
                return
        self.table.blockSignals(True)
        self._append(word, say)
        self.table.blockSignals(False)
        self.changed.emit()
        self._update_buttons()

    def set_note(self, text: str) -> None:
        self.saved_note.setText(text)
        self.saved_note.setVisible(bool(text))

    @Slot()
    def add_row(self) -> None:
        self.table.blockSignals(True)
        row = self._append("", "")
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 0)
        self.table.setFocus()
        self.table.editItem(self.table.item(row, 0))
        self._update_buttons()

    @Slot()
    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()
        self._update_buttons()

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, _item) -> None:
        self.changed.emit()

    @Slot()
    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(
            self.table.rowCount() > 0 and (bool(self.table.selectedIndexes()) or self.table.currentRow() >= 0)
        )
