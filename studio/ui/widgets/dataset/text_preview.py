"""Browse a text dataset: the first items with the encoding each was read in, and the text of the one chosen.

The encoding the detector guessed is shown and can be changed ("Read as"): the panel then reads the
original again with it. The list shows at most :data:`MAX_LISTED` items (a preview, not an editor). Only the
selected item's normalized copy is read, and only its first :data:`PREVIEW_BYTES`, so this stays far below the GUI
thread's 50 ms budget whatever the dataset's size.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.datasets.text import ENCODINGS
from studio.core.datasets.text import encoding_label as core_label
from studio.ui import theme
from studio.ui.widgets.common.inputs import ComboBox

MAX_LISTED = 500
PREVIEW_BYTES = 64 * 1024


def encoding_label(encoding: str | None) -> str:
    return core_label(encoding) if encoding else "—"


class TextPreview(QWidget):
    """``read_as_requested(entry_id, encoding)``: the user says the detector guessed this file's encoding wrong."""

    read_as_requested = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.folder = Path()
        self.entries: list[dict] = []
        self.list = QTreeWidget(objectName="textList")
        self.list.setColumnCount(3)
        self.list.setHeaderLabels(["File", "Encoding", "Characters"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(self._on_current)
        self.info = QLabel(objectName="previewInfo")
        self.info.setWordWrap(True)
        self.read_as = ComboBox(objectName="readAs")
        for encoding in ENCODINGS:
            self.read_as.addItem(core_label(encoding), encoding)
        self.read_as.setToolTip(
            "If the text looks garbled, the file was written in another encoding: pick it "
            "and the studio reads the original again (Undo goes back)"
        )
        self.read_as.activated.connect(self._on_read_as)
        self.text = QPlainTextEdit(objectName="textPreview", readOnly=True)
        self.text.setAcceptDrops(False)  # dropped files go to the panel (import)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))
        self.text.setPlaceholderText("Choose a file on the left to read it here.")
        self.more = QLabel(objectName="mutedLabel")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 0, 0, 0)
        right_layout.setSpacing(6)
        info_row = QHBoxLayout()
        info_row.addWidget(self.info, 1)
        info_row.addWidget(QLabel("Read as"))
        info_row.addWidget(self.read_as)
        right_layout.addLayout(info_row)
        right_layout.addWidget(self.text, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(6)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.more)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([340, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.addWidget(splitter)

    def set_entries(self, folder: Path, entries: list[dict]) -> None:
        self.folder = Path(folder)
        self.entries = [e for e in entries if e.get("item")]
        self.list.clear()
        shown = self.entries[:MAX_LISTED]
        for entry in shown:
            meta = entry.get("meta") or {}
            item = QTreeWidgetItem(
                [
                    PurePosixPath(entry["source"]).name,
                    encoding_label(meta.get("encoding")),
                    f"{int(meta.get('characters') or 0):,}",
                ]
            )
            item.setToolTip(0, entry["source"])
            item.setData(0, Qt.ItemDataRole.UserRole, entry["id"])
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if entry.get("excluded"):
                for column in range(3):
                    item.setForeground(column, theme.qcolor("#A9ADC4"))
            self.list.addTopLevelItem(item)
        hidden = len(self.entries) - len(shown)
        self.more.setText(
            f"The first {words.of(len(shown), len(self.entries), 'file')}"
            if hidden
            else words.count(len(shown), "file")
        )
        if shown:
            self.list.setCurrentItem(self.list.topLevelItem(0))
        else:
            self.info.setText("")
            self.text.setPlainText("")

    def current_text(self) -> str:
        return self.text.toPlainText()

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is None:
            return
        entry_id = item.data(0, Qt.ItemDataRole.UserRole)
        entry = next((e for e in self.entries if e["id"] == entry_id), None)
        if entry is None:
            return
        meta = entry.get("meta") or {}
        self.read_as.setCurrentIndex(max(self.read_as.findData(meta.get("encoding")), 0))
        self.read_as.setEnabled(not entry.get("excluded"))
        facts = [f"Read as {encoding_label(meta.get('encoding'))}"]
        confidence = meta.get("encoding_confidence")
        if isinstance(confidence, (int, float)) and confidence < 0.999:
            facts[0] += f" ({confidence:.0%} sure)"
        if meta.get("words"):
            facts.append(words.count(int(meta["words"]), "word"))
        if meta.get("characters"):
            facts.append(words.count(int(meta["characters"]), "character"))
        if meta.get("cjk_characters"):
            facts.append(f"{int(meta['cjk_characters']):,} CJK characters")
        facts += list(entry.get("fixes") or []) + list(entry.get("flags") or [])
        if entry.get("excluded"):
            facts.append("excluded from training")
        self.info.setText(" · ".join(facts))
        try:
            with open(self.folder / entry["item"], "rb") as handle:
                data = handle.read(PREVIEW_BYTES + 1)
        except OSError as exc:
            self.text.setPlainText(f"This file cannot be read: {exc.strerror or exc}")
            return
        text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
        if len(data) > PREVIEW_BYTES:
            text += "\n\n… (the preview shows the beginning of this file)"
        self.text.setPlainText(text)

    @Slot(int)
    def _on_read_as(self, _index: int) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        entry_id = item.data(0, Qt.ItemDataRole.UserRole)
        entry = next((e for e in self.entries if e["id"] == entry_id), None)
        encoding = self.read_as.currentData()
        if entry is not None and encoding != (entry.get("meta") or {}).get("encoding"):
            self.read_as_requested.emit(entry_id, encoding)
