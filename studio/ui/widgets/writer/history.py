"""The writer's right-hand column: *Details* of the text on screen (model, prompt, settings, export) and the
*History* of this project's generations, each one's prompt, settings and outputs, to revisit.

An entry is a plain dict (what outputs/writer/history.json stores): ``{"id", "time", "run_id", "step",
"template", "template_title", "fields", "prompt", "settings", "variants", "texts", "state"}``.
"""

from __future__ import annotations

import html
import time
from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui.icons import icon

ENTRY_ROLE = Qt.ItemDataRole.UserRole


def entry_title(entry: dict) -> str:
    """What the history row says first: the template and its product, or the prompt's first words."""
    fields = entry.get("fields") or {}
    if entry.get("template_title"):
        subject = fields.get("product") or next((v for v in fields.values() if v), "")
        return f"{entry['template_title']}" + (f" · {subject}" if subject else "")
    prompt = " ".join(str(entry.get("prompt", "")).split())
    return (prompt[:48] + "…") if len(prompt) > 48 else (prompt or "Empty prompt")


def entry_subtitle(entry: dict) -> str:
    settings = entry.get("settings") or {}
    try:
        when = datetime.fromtimestamp(float(entry.get("time", 0))).strftime("%b %d, %H:%M")
    except (TypeError, ValueError, OSError):
        when = ""
    count = int(entry.get("variants") or len(entry.get("texts") or []) or 1)
    parts = [
        when,
        words.count(count, "variant"),
        f"seed {settings.get('seed', '?')}",
        "stopped" if entry.get("state") == "stopped" else "",
    ]
    return " · ".join(p for p in parts if p)


def describe_settings(settings: dict) -> list[tuple[str, str]]:
    """(label, value) rows for the Details tab and the Markdown export."""
    rows = [
        ("Temperature", f"{float(settings.get('temperature', 0)):.2f}"),
        ("Top-k", str(settings.get("top_k") or "off")),
        ("Top-p", f"{float(settings.get('top_p', 1)):.2f}"),
        ("Repetition", f"{float(settings.get('repetition_penalty', 1)):.2f}"),
        ("Length", words.count(int(settings.get("max_tokens", 0)), "token")),
        ("Seed", str(settings.get("seed", ""))),
    ]
    if settings.get("stop"):
        rows.append(("Stop at", " | ".join(s.replace("\n", "\\n") for s in settings["stop"])))
    if settings.get("required_words"):
        enforced = " (enforced: a variant without them was written again)" if settings.get("enforce_required") else ""
        rows.append(("Must use", ", ".join(settings["required_words"]) + enforced))
    if settings.get("banned_words"):
        rows.append(("Never use", ", ".join(settings["banned_words"])))
    return rows


def new_entry(
    run_id: str | None,
    step: int | None,
    template: str,
    template_title: str,
    fields: dict,
    prompt: str,
    settings: dict,
    variants: int,
) -> dict:
    return {
        "id": f"{time.time():.6f}",
        "time": time.time(),
        "run_id": run_id,
        "step": step,
        "template": template,
        "template_title": template_title,
        "fields": dict(fields),
        "prompt": prompt,
        "settings": dict(settings),
        "variants": int(variants),
        "texts": [""] * int(variants),
        "state": "writing",
    }


class HistoryList(QListWidget):
    """Newest first. Choosing a row emits ``entry_chosen`` with the entry."""

    entry_chosen = Signal(dict)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("writerHistory")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrap(True)
        self.itemActivated.connect(self._on_item)
        self.itemClicked.connect(self._on_item)

    def set_entries(self, entries: list[dict]) -> None:
        self.clear()
        for entry in entries:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{entry_title(entry)}, {entry_subtitle(entry)}")
            item.setData(ENTRY_ROLE, entry)
            item.setToolTip(str(entry.get("prompt", ""))[:400])
            self.addItem(item)
            row = QLabel(
                f"<b>{html.escape(entry_title(entry))}</b><br><span style='color:#6B7090'>"
                f"{html.escape(entry_subtitle(entry))}</span>",
                objectName="writerHistoryRow",
            )
            row.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks choose the row
            item.setSizeHint(QSize(0, max(46, row.sizeHint().height() + 14)))
            self.setItemWidget(item, row)

    def row_text(self, row: int) -> str:
        """The row as shown, in plain words (title, then the muted line)."""
        return str(self.item(row).data(Qt.ItemDataRole.AccessibleTextRole) or "")

    def entries(self) -> list[dict]:
        return [self.item(r).data(ENTRY_ROLE) for r in range(self.count())]

    @Slot(QListWidgetItem)
    def _on_item(self, item: QListWidgetItem) -> None:
        self.entry_chosen.emit(dict(item.data(ENTRY_ROLE)))


class DetailsPane(QWidget):
    """What made the text on screen, and the ways to take it away (copy all, export .txt or .md)."""

    export_requested = Signal(str)  # "txt" | "md"
    copy_all_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.heading = QLabel("Nothing written yet", objectName="paneTitle")
        self.heading.setWordWrap(True)
        self.model_label = QLabel(objectName="mutedLabel")
        self.model_label.setWordWrap(True)
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(4)
        self.prompt = QLabel(objectName="writerPromptEcho")
        self.prompt.setWordWrap(True)
        self.prompt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy all", objectName="writerCopyAll")
        self.copy_button.setToolTip("Copy every variant's text, one after another")
        self.copy_button.clicked.connect(self.copy_all_requested)
        self.txt_button = QPushButton(icon("save"), "Export .txt…", objectName="writerExportTxt")
        self.txt_button.setToolTip("Save the variants as plain text (Ctrl+E)")
        self.txt_button.clicked.connect(self._on_txt)
        self.md_button = QPushButton(icon("save"), "Export .md…", objectName="writerExportMd")
        self.md_button.setToolTip("Save the variants with their prompt and settings as Markdown")
        self.md_button.clicked.connect(self._on_md)
        exports = QVBoxLayout()  # one under the other: side by side they were cut in the narrow right column
        exports.setSpacing(6)
        exports.addWidget(self.txt_button)
        exports.addWidget(self.md_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 4, 12)
        layout.setSpacing(8)
        layout.addWidget(self.heading)
        layout.addWidget(self.model_label)
        self.captions = [QLabel("SETTINGS", objectName="sectionCaption"), QLabel("PROMPT", objectName="sectionCaption")]
        layout.addWidget(self.captions[0])
        layout.addLayout(self.form)
        layout.addSpacing(4)
        layout.addWidget(self.captions[1])
        layout.addWidget(self.prompt)
        layout.addStretch(1)
        layout.addWidget(self.copy_button)
        layout.addLayout(exports)
        self.show_entry(None, "")

    def show_entry(self, entry: dict | None, model_text: str) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        has_text = bool(entry and any(t.strip() for t in entry.get("texts") or []))
        for button in (self.copy_button, self.txt_button, self.md_button):
            button.setEnabled(has_text)
        for caption in self.captions:
            caption.setVisible(entry is not None)
        self.prompt.setVisible(entry is not None)
        if entry is None:
            self.heading.setText("Nothing written yet")
            self.model_label.setText("Press Generate: what made the text, and Export, appear here.")
            self.prompt.setText("")
            return
        self.heading.setText(entry_title(entry))
        self.model_label.setText(model_text)
        for label, value in describe_settings(entry.get("settings") or {}):
            value_label = QLabel(value, objectName="valueText")
            value_label.setWordWrap(True)
            self.form.addRow(QLabel(label, objectName="mutedLabel"), value_label)
        prompt = str(entry.get("prompt", ""))
        self.prompt.setText(prompt if len(prompt) <= 600 else prompt[:600] + "…")

    @Slot()
    def _on_txt(self) -> None:
        self.export_requested.emit("txt")

    @Slot()
    def _on_md(self) -> None:
        self.export_requested.emit("md")
