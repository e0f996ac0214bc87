"""Text writer: prompt a writer model trained on the user's own copy and watch the text stream in.

What the user does here:

* **Controls** (left card): the model (the project's GPT/LSTM runs) and its checkpoint; a template (product
  description, ad slogan, social post, customer-service reply, news brief — or Free text) whose fields build
  the prompt; sampling (temperature, top-k, top-p, repetition penalty, length, seed with a dice, stop
  sequences); 1–4 variants; brand rules (words that must appear — optionally enforced: a variant without them
  is written again — and words that must never appear). *Generate* (Ctrl+Return) writes, *Stop* (Esc) stops
  at once and keeps what was written. Under a template, a writer that never read copy (the starter) is named
  as such, with *Train a writer on your copy*: it opens Training with the project's text dataset and a writer
  family chosen (:attr:`TextWriterPanel.train_requested`, which the window connects to
  :meth:`TrainingPanel.select`).
* **Work area** (centre): the prompt (editable; a template rewrites it when a field changes), then the
  variants — side by side while each stays readable, else one under the other — each streaming token by token,
  each showing which required words it has.
  *Continue from cursor* (Ctrl+Shift+Return): in a variant, the text up to the cursor is kept and the writer
  continues it (the prompt plus that text); in the prompt, the prompt up to the cursor is used.
* **Details / History** (right tabs): what made the text on screen, Copy all, Export .txt / .md (Ctrl+E);
  every generation of the project, kept in its gallery with prompt, settings and texts
  (:class:`~studio.ui.widgets.common.gallery_history.GalleryHistory`: search, filter by run, favourites, export,
  delete with Edit ▸ Undo); *Reopen* (or a double click) brings one back into the editors as it was written. The
  writer's older ``outputs/writer/history.json`` is brought into the gallery once.

Rules this panel keeps (ARCHITECTURE.md): no ML and no torch here. Every generation is a job started through
the window's registry via :mod:`studio.ui.backends.writer`; pieces arrive through the runner's
throttled ``metrics`` signal (~20 batches a second) to this object's slots and are appended with one cursor
insert per variant, so the editors stay responsive while text streams. Listing the models and writing each have
a job slot: a new request stops the running one, and only the newest request's text arrives.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import QEvent, Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.gallery.record import RecordText
from studio.core.project import Project
from studio.core.training import families
from studio.ui.backends.writer import ModelsJob, WriterBackend
from studio.ui.panels.creation import ModelListPanel
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.model_picker import model_title
from studio.ui.widgets.common.run_list import run_title
from studio.ui.widgets.writer.controls import FREE_TEXT, WriterControls
from studio.ui.widgets.writer.editor import VariantColumns, brand_check
from studio.ui.widgets.writer.history import DetailsPane, describe_settings, entry_of, entry_title, new_entry

log = logging.getLogger(__name__)

TABS = ("details", "history")
PROMPT = -1  # "the last editor used was the prompt" (variants are 0..3)


def _text_before(editor: QPlainTextEdit) -> str:
    """The editor's text up to its cursor (Qt positions count UTF-16 units, so select rather than slice)."""
    cursor = QTextCursor(editor.textCursor())
    cursor.clearSelection()
    cursor.movePosition(QTextCursor.MoveOperation.Start, QTextCursor.MoveMode.KeepAnchor)
    return cursor.selectedText().replace("\u2029", "\n")


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug[:40] or "text"


def markdown(entry: dict, texts: list[str], model_text: str) -> str:
    """A Markdown export: the title, each variant under its own heading, then the prompt and settings."""
    lines = [f"# {entry_title(entry)}", ""]
    seeds = entry_seeds(entry, len(texts))
    for i, text in enumerate(texts):
        if len(texts) > 1:
            lines += [f"## Variant {i + 1} (seed {seeds[i]})", ""]
        lines += [text.strip(), ""]
    lines += ["---", "", f"*Written by {model_text}*" if model_text else "", "", "**Prompt**", ""]
    lines += ["> " + line for line in str(entry.get("prompt", "")).splitlines() or [""]]
    lines += ["", "**Settings**", ""]
    lines += [f"- {label}: {value}" for label, value in describe_settings(entry.get("settings") or {})]
    return "\n".join(lines).strip() + "\n"


def entry_seeds(entry: dict, count: int) -> list[int]:
    """Each variant's seed: as written down (a variant written again for its must-use words has its own), else
    the settings' seed + n."""
    seed = int((entry.get("settings") or {}).get("seed", 0))
    kept = entry.get("seeds") if isinstance(entry.get("seeds"), list) else []
    return [int(kept[i]) if i < len(kept) and isinstance(kept[i], int) else seed + i for i in range(count)]


def quoted(names: list[str]) -> str:
    """Words in quotes, as a sentence lists them: “a” / “a” and “b” / “a”, “b” and “c”."""
    marks = [f"“{n}”" for n in names]
    return marks[0] if len(marks) == 1 else ", ".join(marks[:-1]) + " and " + marks[-1]


def plain_text(texts: list[str]) -> str:
    """A .txt export: the variants' texts, separated by a line when there are several."""
    texts = [t.strip() for t in texts]
    return ("\n\n———\n\n".join(texts) if len(texts) > 1 else (texts[0] if texts else "")) + "\n"


class TextWriterPanel(ModelListPanel):
    panel_id = "text"
    title = "Text writer"
    subtitle = "Write product copy, slogans and replies in your own voice, with full sampling controls."
    icon_name = "text"
    LIST_MODELS = ModelsJob  # the runs and the templates
    MODELS = "writer models"
    GENERATION = "Text generation"
    NO_PROJECT = (
        "Open a project to write",
        "Open or create a project (File ▸ New Project), train a GPT or LSTM writer on your own copy, and write "
        "with it here.",
    )
    NO_MODELS = (
        "No writer model yet",
        "Train a GPT or LSTM writer on a text dataset in the Training panel. As soon as it saves a checkpoint, it "
        "appears here, ready to write in your voice.",
    )

    generated = Signal(list)  # the texts, when a generation ends (finished or stopped)
    exported = Signal(str)  # the file written
    train_requested = Signal(str, str)  # "Train a writer on your copy": the text dataset ("" if none) and family

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.backend = WriterBackend()
        self.entry: dict | None = None  # the generation on screen
        self._targets: list[int] = []  # variant index of the job -> column
        self._last_editor = PROMPT
        self._pieces = self._chars = 0
        self._retry_note = ""  # which variant is written again, for the status line
        # models_slot and generate_slot come with ModelListPanel

        self.empty = EmptyState("Open a project to write", "", action="Go to Training")
        self.empty.action_triggered.connect(self._go_to_training)
        self.content = self._build_content()
        self.stack = self.add_scrolling_stack("writerOuterScroll", self.empty, self.content)
        self._build_shortcuts()
        self.set_project(None)

    # -- construction -------------------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        self.controls = WriterControls()
        self.controls.generate_requested.connect(self.generate)
        self.controls.stop_requested.connect(self.stop)
        self.controls.model_changed.connect(self._update_view)
        self.controls.template_changed.connect(self._on_template_changed)
        self.controls.fields_edited.connect(self.rebuild_prompt)
        self.controls.rules_changed.connect(self._on_rules_changed)
        self.controls.variant_group.idClicked.connect(self._on_variant_count)
        self.controls.train_requested.connect(self.train_on_copy)
        column = self.controls_column(self.controls, "writer", self.controls.action_bar)  # Generate / Stop pinned

        # centre: the prompt, then the variants
        self.prompt = QPlainTextEdit(objectName="writerPrompt")
        self.prompt.setPlaceholderText(
            "Type the beginning of your text, or pick a template on the left and fill in its fields."
        )
        self.prompt.setMinimumHeight(72)
        self.prompt.setMaximumHeight(130)
        self.prompt.installEventFilter(self)
        self.prompt.textChanged.connect(self._update_buttons)
        self.continue_button = QPushButton("Continue from cursor", objectName="writerContinue")
        self.continue_button.setToolTip("Keep the text up to the cursor and write on from there (Ctrl+Shift+Return)")
        self.continue_button.clicked.connect(self.continue_from_cursor)
        self.prompt_caption = ElidedLabel("PROMPT", objectName="sectionCaption")  # a long template name: "…"
        prompt_bar = QHBoxLayout()
        prompt_bar.setSpacing(8)
        prompt_bar.addWidget(self.prompt_caption, 1)
        prompt_bar.addWidget(self.continue_button)
        self.prompt_hint = QLabel(objectName="writerPromptHint")
        self.prompt_hint.setWordWrap(True)
        self.prompt_hint.setVisible(False)

        self.variants_label = QLabel("Variants", objectName="columnTitle")
        bar = self.work_bar(self.variants_label)

        self.columns = VariantColumns()
        self.columns.copied.connect(self._on_copied)
        for view in self.columns.views:
            view.editor.installEventFilter(self)
            view.editor.cursorPositionChanged.connect(self._update_buttons)
        centre = QWidget(objectName="writerCentre")
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(16, 0, 16, 0)
        centre_layout.setSpacing(8)
        centre_layout.addLayout(prompt_bar)
        centre_layout.addWidget(self.prompt)
        centre_layout.addWidget(self.prompt_hint)
        centre_layout.addSpacing(4)
        centre_layout.addLayout(bar)
        centre_layout.addWidget(self.columns, 1)
        centre.setMinimumWidth(380)

        # right: details of what is on screen, and the history (the project's gallery of generations)
        self.details = DetailsPane()
        self.details.export_requested.connect(self.export)
        self.details.copy_all_requested.connect(self.copy_all)
        self.history = self.make_history(migrate_writer=True)
        self.tabs = self.side_tabs(((self.details, "Details"), (self.history, "History")))

        self.splitter = self.three_columns(column, centre, self.tabs, [320, 660, 270])
        return self.splitter

    def _build_shortcuts(self) -> None:
        self.actions_ = self.add_shortcuts(
            (
                *self.run_keys("generate", self.generate),
                ("continue", "Ctrl+Shift+Return", self.continue_from_cursor),
                ("stop", "Esc", self.stop),
                ("export", "Ctrl+E", self.export_txt),
            )
        )

    # -- project, model list ------------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.generate_slot.discard()  # its text belongs to the old project
        super().set_project(project)
        self.models = None
        self.entry = None
        self.history.set_project(project.root if project else None)
        self.controls.set_models([])
        for view in self.columns.views:
            view.set_text("", None, "")
        self.details.show_entry(None, "")
        self.refresh_models()
        self._update_view()

    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        if self.project is not None:
            self.history.refresh()

    @Slot(object)
    def _on_models(self, result: dict) -> None:
        self.available = bool(result.get("available", True))
        self.models = list(result.get("models") or [])
        self.history.set_run_names({str(m["run_id"]): model_title(m) for m in self.models})
        templates = list(result.get("templates") or [])
        if templates and not self.controls.templates:
            wanted = self._pending.get("template")
            self.controls.set_templates(templates)
            if wanted is not None:
                self.controls.set_fields(self._pending.get("fields") or {})
                self.controls.select_template(wanted)
                if isinstance(self._pending.get("prompt"), str):  # the prompt as left, edits included
                    self.prompt.setPlainText(self._pending["prompt"])
        self.controls.set_models(self.models)
        if self._pending.get("run"):
            self.controls.select(self._pending["run"], self._pending.get("step"))
        self._pending = {}
        self._update_view()

    @Slot(str, str)
    def open_checkpoint(self, panel_id: str, path: str) -> None:
        """The Training panel's "Open in writer": select that run and checkpoint (listing runs again first,
        since the run may be newer than the list)."""
        if panel_id != self.panel_id or not path:
            return
        run_id, step = self.checkpoint_run(path)
        if self.models:
            self.controls.select(run_id, step)
        self._pending = {**self._pending, "run": run_id, "step": step}
        self.refresh_models()

    # -- the prompt ---------------------------------------------------------------------------------------------
    @Slot()
    def rebuild_prompt(self) -> None:
        """A template's fields write the prompt (free text leaves what was typed alone)."""
        template = self.controls.template_id()
        if template == FREE_TEXT:
            return
        try:
            text = self.backend.build_prompt(template, self.controls.fields())
        except Exception as exc:  # noqa: BLE001 - e.g. a required field still empty: say what is missing
            self.prompt_hint.setText(str(exc))
            self.prompt_hint.setVisible(True)
            return
        self.prompt_hint.setVisible(False)
        if text != self.prompt.toPlainText():
            self.prompt.setPlainText(text)

    @Slot()
    def _on_template_changed(self) -> None:
        if self.controls.template_id() == FREE_TEXT:
            self.prompt_caption.set_full_text("PROMPT")
            self.prompt_hint.setVisible(False)
        else:
            self.prompt_caption.set_full_text(f"PROMPT · {self.controls.template.currentText()} template")
            self.rebuild_prompt()

    # -- generating ---------------------------------------------------------------------------------------------
    def _model_folder(self) -> str | None:
        info = self.controls.info()
        if info is None or not info.get("steps"):
            return None
        return str(info["folder"])

    def _can_generate(self) -> bool:
        return (
            (self.controls.generate_button.isEnabled() or self.generate_slot.is_running())
            and self.available
            and self._model_folder() is not None
            and self.registry is not None
        )

    @Slot()
    def generate(self) -> None:
        """Write ``variants`` texts from the prompt, side by side (a running generation is stopped first)."""
        if not self._can_generate():
            return
        self._write(self.prompt.toPlainText(), self.controls.variants(), None)

    @Slot()
    def continue_from_cursor(self) -> None:
        """In a variant: keep its text up to the cursor and continue it (the prompt plus that text is what the
        model sees). In the prompt: write from the prompt up to the cursor."""
        if not self._can_generate():
            return
        index = self._last_editor
        if index == PROMPT or index >= self.columns.count or self.entry is None:
            self._write(_text_before(self.prompt), self.controls.variants(), None)
            return
        view = self.columns.views[index]
        keep = _text_before(view.editor)
        leads = self.entry.get("leads") or []
        lead = view.lead or (leads[index] if index < len(leads) else "")
        self._write(str(self.entry.get("prompt", "")) + lead + keep, 1, index, keep)

    def _write(self, prompt: str, variants: int, column: int | None, keep: str = "") -> None:
        """Start writing ``variants`` texts from ``prompt`` into the columns (or continue ``column`` after
        ``keep``); a generation still running is stopped, and nothing more of it arrives."""
        settings = self.controls.settings()
        columns = [column] if column is not None else list(range(variants))
        if column is not None and self.entry is not None:
            seed = (
                self.columns.views[column].seed
                if self.columns.views[column].seed is not None
                else settings["seed"] + column
            )
            # a continuation is not written again for its must-use words: the kept text above the cursor is the
            # user's, and only the new text would be checked
            settings = {**settings, "seed": int(seed), "enforce_required": False}
            fresh = new_entry(self.entry.get("run_id"), self.entry.get("step"), "", "", {}, "", {}, 1)
            entry = dict(
                self.entry,
                id=fresh["id"],
                time=fresh["time"],
                settings={**(self.entry.get("settings") or {}), **{k: v for k, v in settings.items() if k != "seed"}},
                texts=list(self.columns.texts()),
                state="writing",
                continued=True,
            )
        else:
            self.columns.set_count(variants)
            info = self.controls.template_info()
            entry = new_entry(
                self.controls.run_id(),
                self.controls.step(),
                self.controls.template_id(),
                info["title"] if info else "",
                self.controls.fields(),
                prompt,
                settings,
                variants,
            )
        self.entry = entry
        self._targets = columns
        self._pieces = self._chars = 0
        self._retry_note = ""
        self._max_pieces = max(1, settings["max_tokens"] * len(columns))
        self.columns.set_rules(settings["required_words"], settings["banned_words"])
        for k, target in enumerate(columns):
            view = self.columns.views[target]
            lead = view.lead if column is not None else ""
            view.begin(settings["seed"] + k, keep if column is not None else "")
            view.lead = lead  # a continuation keeps the whitespace its text started after
        job = self.backend.generate_job(self._model_folder(), self.controls.step(), prompt, settings, len(columns))
        self.start_job(
            self.generate_slot,
            job,
            "Loading the model…",
            self._progress_words,
            metrics=self._on_pieces,
            succeeded=self._on_done,
            failed=self._on_failed,
            cancelled=self._on_cancelled,
            finished=self._update_view,
        )
        self.details.show_entry(self.entry, self._model_text(self.entry))
        self._update_view()

    @Slot(list)
    def _on_pieces(self, batch: list) -> None:
        """One throttled batch of pieces: joined per variant, then one insert per column. A new try of a variant
        (must-use words enforced) starts its column over; pieces of the try it replaces are dropped."""
        joined: dict[int, list[str]] = {}
        for item in batch:
            try:
                variant, text = int(item.get("variant", 0)), str(item.get("text", ""))
            except (AttributeError, TypeError, ValueError):
                continue
            if not 0 <= variant < len(self._targets):
                continue
            if item.get("restart"):
                joined.pop(variant, None)
                self._restart(variant, item, text)
            else:
                joined.setdefault(variant, []).append(text)
        for variant, pieces in joined.items():
            text = "".join(pieces)
            self.columns.views[self._targets[variant]].append(text)
            self._pieces += len(pieces)
            self._chars += len(text)
        self.progress.setValue(max(self.progress.value(), min(1000, int(1000 * self._pieces / self._max_pieces))))
        note = f" · {self._retry_note}" if self._retry_note else ""
        self.status.setText(f"Writing… {words.count(self._chars, 'character')} so far{note}")

    def _restart(self, variant: int, item: dict, text: str) -> None:
        """Column ``variant`` starts over: another try (its seed, how many tries), or an earlier try that came
        back whole because it missed fewer words."""
        target = self._targets[variant]
        seed, tries, steer = item.get("seed"), item.get("try"), item.get("steer")
        self.columns.views[target].restart(
            seed if isinstance(seed, int) else None,
            tries if isinstance(tries, int) else 1,
            steer if isinstance(steer, (int, float)) else 0.0,
            text,
        )
        missing = [str(w) for w in item.get("missing") or [] if isinstance(w, str)]
        if not text and missing:
            self._retry_note = f"variant {target + 1} lacked {quoted(missing)}: writing it again (try {tries})"

    def _progress_words(self, _fraction: float, message: str) -> str:
        """The core's own progress (loading the model, which variant) speaks until text flows."""
        return "" if self._pieces else message

    @Slot()
    def stop(self) -> None:
        if self.generate_slot.is_running():
            self.generate_slot.cancel()
            self.status.setText("Stopping…")

    def _close_entry(self, state: str) -> None:
        for target in self._targets:
            self.columns.views[target].set_state(state)
        if self.entry is None:
            return
        self.entry["texts"] = self.columns.texts()
        self.entry["leads"] = [v.lead for v in self.columns.visible_views()]
        self.entry["seeds"] = [v.seed for v in self.columns.visible_views()]
        self.entry["tries"] = [v.tries for v in self.columns.visible_views()]
        self.entry["state"] = state
        if self.project is not None:  # kept in the project's gallery, quietly (a failure says so in the banner)
            self.history.record(RecordText(self.project.root, self.entry))
        self.details.show_entry(self.entry, self._model_text(self.entry))
        self.progress.setVisible(False)
        self.status.setText("")
        self._update_view()  # the runner has its end state already: Generate is back
        self.generated.emit(list(self.entry["texts"]))

    @Slot(object)
    def _on_done(self, result: dict) -> None:
        step = (result or {}).get("step")
        if self.entry is not None and isinstance(step, int) and not isinstance(step, bool):
            self.entry["step"] = step  # the checkpoint that wrote it (the newest, when none was named)
        self._close_entry("done")
        self._report_must_use()

    def _report_must_use(self) -> None:
        """After enforced must-use words: say plainly which variants could not get which words (or that all did)."""
        settings = (self.entry or {}).get("settings") or {}
        required = [str(w) for w in settings.get("required_words") or []]
        if not (settings.get("enforce_required") and required):
            return
        views = [self.columns.views[t] for t in self._targets]
        lacking = [(view, brand_check(view.text(), required, [])["missing"]) for view in views]
        lacking = [(view, missing) for view, missing in lacking if missing]
        if not lacking:
            self.banner.show_message("Every variant uses every must-use word.", "success")
            return
        grouped: dict[tuple, list[int]] = {}  # variants missing the same words after as many tries: one sentence
        for view, missing in lacking:
            grouped.setdefault((tuple(missing), view.tries), []).append(view.index + 1)
        parts = [
            f"{self._variants_named(numbers)} still {'lack' if 1 < len(numbers) < len(views) else 'lacks'} "
            f"{quoted(list(missing))}"
            f" after {words.count(tries, 'try', 'tries')}"
            for (missing, tries), numbers in grouped.items()
        ]
        sentence = "; ".join(parts)
        them = "this word" if len({w for _, missing in lacking for w in missing}) == 1 else "these words"
        self.banner.show_message(
            f"{sentence[0].upper()}{sentence[1:]}. This writer seldom writes {them}: try other seeds, a higher "
            "temperature, or a writer trained on copy that uses them.",
            "info",
        )

    def _variants_named(self, numbers: list[int]) -> str:
        """“Variant 2”, “Variants 1 and 3”, or “Every variant” when all of several are meant."""
        if len(numbers) == 1:
            return f"variant {numbers[0]}"
        if len(numbers) == len(self._targets):
            return "every variant"
        return "variants " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"

    @Slot()
    def _on_cancelled(self) -> None:
        self._close_entry("stopped")
        self.banner.show_message("Stopped. What was written so far is kept, and in the History.", "info")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        for target in self._targets:
            self.columns.views[target].set_state("failed")
        self.banner.show_message(message, "error")

    # -- history, copy, export ----------------------------------------------------------------------------------
    def _model_text(self, entry: dict | None) -> str:
        if not entry:
            return ""
        info = next((m for m in self.models or [] if m["run_id"] == entry.get("run_id")), None)
        name = run_title(info) if info else str(entry.get("run_id") or "a model no longer in this project")
        step = entry.get("step")
        return name + (f" · step {int(step):,}" if isinstance(step, int) else "")

    @Slot(dict)
    def reopen_item(self, row: dict) -> None:
        """The History's Reopen: a kept generation back in the editors, as it was written."""
        self.show_entry(entry_of(row))

    @Slot(dict)
    def show_entry(self, entry: dict) -> None:
        """Bring a past generation back: its model, template, fields, prompt, settings and texts."""
        if self.generate_slot.is_running():
            self.stop()
        self.entry = dict(entry)
        if entry.get("run_id"):
            self.controls.select(entry["run_id"], entry.get("step"))
        self.controls.set_fields(entry.get("fields") or {})
        self.controls.select_template(entry.get("template") or FREE_TEXT)
        self.controls.set_settings(entry.get("settings") or {})
        texts = list(entry.get("texts") or [""])
        self.controls.set_variants(len(texts))
        self.prompt.setPlainText(str(entry.get("prompt", "")))
        self.columns.set_count(len(texts))
        settings = entry.get("settings") or {}
        self.columns.set_rules(settings.get("required_words") or [], settings.get("banned_words") or [])
        seeds = entry_seeds(entry, len(texts))
        leads = list(entry.get("leads") or [])
        tries = list(entry.get("tries") or [])
        for i, text in enumerate(texts):
            self.columns.views[i].set_text(
                text,
                seeds[i],
                "stopped" if entry.get("state") == "stopped" else "done",
                leads[i] if i < len(leads) else "",
                tries[i] if i < len(tries) and isinstance(tries[i], int) else 1,
            )
        self.details.show_entry(self.entry, self._model_text(self.entry))
        self._update_view()

    @Slot(int)
    def _on_copied(self, index: int) -> None:
        self.status.setText(f"Variant {index + 1} copied.")

    @Slot()
    def copy_all(self) -> None:
        texts = [t for t in self.columns.texts() if t.strip()]
        if texts:
            QApplication.clipboard().setText("\n\n".join(texts))
            self.status.setText("Every variant copied.")

    def ask_export_path(self, kind: str) -> str:
        """Where the export goes (tests replace this). Starts in the project's outputs/writer folder."""
        root = self.project.root if self.project else Path.home()
        folder = root / "outputs" / "writer"
        folder.mkdir(parents=True, exist_ok=True)
        name = _slug(entry_title(self.entry or {}))
        filters = "Markdown (*.md)" if kind == "md" else "Plain text (*.txt)"
        return QFileDialog.getSaveFileName(self, "Export the text", str(folder / f"{name}.{kind}"), filters)[0]

    @Slot()
    def export_txt(self) -> None:
        self.export("txt")

    @Slot(str)
    def export(self, kind: str) -> None:
        texts = self.columns.texts()
        if self.entry is None or not any(t.strip() for t in texts):
            if self.project is not None:
                self.banner.show_message("Write something first: Generate, then export.", "info")
            return
        path = self.ask_export_path(kind)
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != f".{kind}":
            path = path.with_name(path.name + f".{kind}")
        content = markdown(self.entry, texts, self._model_text(self.entry)) if kind == "md" else plain_text(texts)
        try:
            written = self.backend.write_text(path, content)
        except OSError as exc:
            self.banner.show_message(f"Could not save {path.name}: {exc.strerror or exc}", "error")
            return
        self.banner.show_message(f"Saved {Path(written).name} to {Path(written).parent}.", "success")
        self.exported.emit(str(written))

    # -- reactions ----------------------------------------------------------------------------------------------
    @Slot()
    def train_on_copy(self) -> None:
        """Open Training ready to train a writer on the user's copy: the project's text dataset (the first by
        name when there are several) and a writer family (the chosen writer's, else the first text family)."""
        datasets = self.project.datasets if self.project else {}
        texts = sorted(
            (name for name, info in datasets.items() if isinstance(info, dict) and info.get("kind") == "text"),
            key=str.lower,
        )
        writers = [spec.id for spec in families.for_panel(self.panel_id)]
        family = str((self.controls.info() or {}).get("family") or "")
        if family not in writers:
            family = writers[0] if writers else ""
        self.train_requested.emit(texts[0] if texts else "", family)
        self.navigate.emit("training")

    @Slot(int)
    def _on_variant_count(self, _id: int) -> None:
        if not self.generate_slot.is_running():
            self.columns.set_count(self.controls.variants())

    @Slot()
    def _on_rules_changed(self) -> None:
        settings = self.controls.settings()
        self.columns.set_rules(settings["required_words"], settings["banned_words"])

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            if watched is self.prompt:
                self._last_editor = PROMPT
            else:
                for view in self.columns.views:
                    if watched is view.editor:
                        self._last_editor = view.index
            self._update_buttons()
        return super().eventFilter(watched, event)

    # -- what is enabled and shown ------------------------------------------------------------------------------
    def _update_view(self, *_args) -> None:
        self.show_content_or_empty()
        why = self.why_not_generate()
        self.controls.set_generate_state(not why, why, self.generate_slot.is_running())
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        ready = self._model_folder() is not None and self.available and self.registry is not None
        in_variant = self._last_editor != PROMPT and self.entry is not None
        self.continue_button.setEnabled(ready)
        self.continue_button.setToolTip(
            (
                "Keep this variant's text up to the cursor and write on from there"
                if in_variant
                else "Write on from the prompt up to the cursor; click into a variant to continue it instead"
            )
            + " (Ctrl+Shift+Return)"
            if ready
            else "Pick a model with a checkpoint first"
        )
        self.actions_["stop"].setEnabled(self.generate_slot.is_running())

    # -- state ----------------------------------------------------------------------------------------------------
    def save_state(self) -> dict:
        state = {
            "template": self.controls.template_id(),
            "fields": self.controls.all_field_values(),
            "settings": self.controls.settings(),
            "variants": self.controls.variants(),
            "tab": TABS[self.tabs.currentIndex()],
            "prompt": self.prompt.toPlainText(),
        }
        return {**state, **self.model_state()}

    def restore_state(self, state: dict) -> None:
        state = state or {}
        if isinstance(state.get("settings"), dict):
            self.controls.set_settings(state["settings"])
        if state.get("variants") is not None:
            self.controls.set_variants(state["variants"])
            self.columns.set_count(self.controls.variants())
        if state.get("tab") in TABS:
            self.tabs.setCurrentIndex(TABS.index(state["tab"]))
        if isinstance(state.get("prompt"), str):
            self.prompt.setPlainText(state["prompt"])
        fields = state.get("fields") if isinstance(state.get("fields"), dict) else {}
        step = self.restored_step(state)
        pending = {
            "run": state.get("run"),
            "step": step,
            "template": state.get("template"),
            "fields": fields,
            "prompt": state.get("prompt") if isinstance(state.get("prompt"), str) else None,
        }
        self._pending = {k: v for k, v in pending.items() if v is not None}
        if self.controls.templates and state.get("template") is not None:
            self.controls.set_fields(fields)
            self.controls.select_template(state["template"])
            self.prompt.setPlainText(str(state.get("prompt") or self.prompt.toPlainText()))
        if self.models and self._pending.get("run"):
            self.controls.select(self._pending["run"], step)
            self._update_view()
