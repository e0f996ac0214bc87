"""The writer's right-hand column: *Details* of the text on screen (model, prompt, settings, export), and what a
generation is while the writer works with it.

An entry is a plain dict: ``{"id", "time", "run_id", "step", "template", "template_title", "fields", "prompt",
"settings", "variants", "texts", "state"}`` (plus "seeds", "leads", "tries" once written). The project keeps every
finished entry in its gallery (:class:`~studio.core.gallery.record.RecordText`), and the *History* tab is the
gallery's history widget; :func:`entry_of` turns a kept generation back into an entry. (The writer's own
``outputs/writer/history.json`` of earlier versions is brought into the gallery once, then no longer written.)
"""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui.icons import icon


def entry_title(entry: dict) -> str:
    """What the history row says first: the template and its product, or the prompt's first words."""
    fields = entry.get("fields") or {}
    if entry.get("template_title"):
        subject = fields.get("product") or next((v for v in fields.values() if v), "")
        return f"{entry['template_title']}" + (f" · {subject}" if subject else "")
    prompt = " ".join(str(entry.get("prompt", "")).split())
    return (prompt[:48] + "…") if len(prompt) > 48 else (prompt or "Empty prompt")


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


def entry_of(row: dict) -> dict:
    """A generation kept in the gallery (a history row: the item's values and its variants' "texts") as the
    writer's entry, to bring back into the editors: prompt, template and fields, sampling, each variant's seed."""
    kept = row.get("settings") if isinstance(row.get("settings"), dict) else {}
    texts = [str(t) for t in row.get("texts") or []] or [""]
    try:
        when = datetime.fromisoformat(str(row.get("created", ""))).timestamp()
    except ValueError:
        when = 0.0
    step = row.get("step")
    return {
        "id": str(kept.get("writer_id") or row.get("id") or ""),
        "gallery_id": str(row.get("id") or ""),
        "time": when,
        "run_id": str(row.get("run_id") or "") or None,
        "step": step if isinstance(step, int) else None,
        "template": str(kept.get("template") or ""),
        "template_title": str(kept.get("template_title") or ""),
        "fields": dict(kept.get("fields") or {}) if isinstance(kept.get("fields"), dict) else {},
        "prompt": str(kept.get("prompt", "")),
        "settings": dict(kept.get("sampling") or {}) if isinstance(kept.get("sampling"), dict) else {},
        "variants": len(texts),
        "texts": texts,
        "seeds": list(kept.get("seeds") or []) if isinstance(kept.get("seeds"), list) else [],
        "leads": list(kept.get("leads") or []) if isinstance(kept.get("leads"), list) else [],
        "state": str(kept.get("state") or "done"),
        "continued": bool(kept.get("continued")),
    }


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
