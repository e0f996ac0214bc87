"""The writer's work area: one column per variant, each an editor the text streams into, with the brand
rules checked live (which required words it has, whether a never-use word slipped in).

Streaming without blocking the editor: the panel hands each column the pieces of one throttled batch
(~20 a second) joined into one string, and the column inserts it with a QTextCursor it keeps at the end of
the streamed text. That cursor moves with the document, so the designer may scroll, select, copy or even
edit the text above while it grows; the view follows the new text only while it is scrolled to the bottom.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.generation.sampling import word_pattern  # the job's must-use check finds words the same way
from studio.ui import theme

MAX_VARIANTS = 4
READABLE = 220  # px: the narrowest a variant's column gets side by side
SPACING = 10
STACKED_HEIGHT = 190  # px: a variant's height when the variants stand in rows (a few lines of text in view)


def brand_check(text: str, required: list[str], banned: list[str]) -> dict:
    """{"found": required words present, "missing": required words absent, "banned": never-use words present}."""
    found = [w for w in required if word_pattern(w).search(text)]
    return {
        "found": found,
        "missing": [w for w in required if w not in found],
        "banned": [w for w in banned if word_pattern(w).search(text)],
    }


def rules_html(check: dict) -> str:
    """The check as small coloured chips: ✓ found, ○ missing, ✕ a never-use word that appears."""
    chips = (
        [f'<span style="color:#2F855A">✓&nbsp;{w}</span>' for w in check["found"]]
        + [f'<span style="color:#B7791F">○&nbsp;{w}</span>' for w in check["missing"]]
        + [f'<span style="color:#C53030">✕&nbsp;{w}</span>' for w in check["banned"]]
    )
    return "&nbsp;&nbsp; ".join(chips)


class BrandHighlighter(QSyntaxHighlighter):
    """Required words get a green wash, never-use words a red one, so a designer sees them in the copy."""

    def __init__(self, document) -> None:
        super().__init__(document)
        self.rules: list[tuple[re.Pattern, QTextCharFormat]] = []

    def set_words(self, required: list[str], banned: list[str]) -> None:
        rules = []
        for chosen, background, colour in ((required, "#DDF3E4", "#1F6B45"), (banned, "#FDE2E2", "#B42323")):
            fmt = QTextCharFormat()
            fmt.setBackground(theme.qcolor(background))
            fmt.setForeground(theme.qcolor(colour))
            rules.extend((word_pattern(w), fmt) for w in chosen)
        if [(p.pattern, f.background().color().name()) for p, f in rules] != [
            (p.pattern, f.background().color().name()) for p, f in self.rules
        ]:
            self.rules = rules
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), fmt)


class VariantView(QFrame):
    """One variant: a header (which seed, its state), the brand-rule chips, the editor, and Copy."""

    copied = Signal(int)
    focused = Signal(int)

    def __init__(self, index: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("writerVariant")
        self.index = index
        self.seed: int | None = None
        self.lead = ""  # whitespace the model wrote before the text (see append)
        self._fresh = False
        self.state = ""  # "", "writing", "done", "stopped", "failed"
        self.tries = 1  # how many times this variant was written (must-use words enforced)
        self.steer = 0.0  # the must-use boost of the try shown (0: not steered)
        self.required: list[str] = []
        self.banned: list[str] = []
        self.title = QLabel(f"Variant {index + 1}", objectName="writerVariantTitle")
        self.badge = QLabel(objectName="writerBadge")
        self.badge.setVisible(False)
        self.rules = QLabel(objectName="writerRules")
        self.rules.setTextFormat(Qt.TextFormat.RichText)
        self.rules.setWordWrap(True)
        self.rules.setVisible(False)
        self.editor = QPlainTextEdit(objectName="writerEditor")
        self.editor.setPlaceholderText(
            "The text appears here as it is written. You can edit it; place the cursor "
            "and press Ctrl+Shift+Return to continue from there."
        )
        self.editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        font = QFont(self.editor.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.5) + 0.5)
        self.editor.setFont(font)
        self.editor.installEventFilter(self)
        self.highlighter = BrandHighlighter(self.editor.document())
        self.count_label = QLabel(objectName="mutedLabel")
        self.copy_button = QToolButton(objectName="writerCopy")
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy this variant's text")
        self.copy_button.clicked.connect(self.copy)
        self._stream = QTextCursor(self.editor.document())  # where streamed pieces go; moves with the text
        self.editor.textChanged.connect(self._on_text_changed)

        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.badge)
        foot = QHBoxLayout()
        foot.setSpacing(8)
        foot.addWidget(self.count_label, 1)
        foot.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.rules)
        layout.addWidget(self.editor, 1)
        layout.addLayout(foot)
        self._on_text_changed()

    # -- streaming ----------------------------------------------------------------------------------------
    def begin(self, seed: int | None, keep: str = "", at: int | None = None) -> None:
        """Start a new stream: the editor keeps ``keep`` (empty for a fresh text; for a continuation, the text
        up to the cursor) and the pieces go after it."""
        self.seed = seed
        self.lead = ""
        self.tries, self.steer = 1, 0.0
        self._fresh = not keep
        self.editor.setPlainText(keep)
        self._stream = QTextCursor(self.editor.document())
        self._stream.movePosition(QTextCursor.MoveOperation.End)
        self.editor.setTextCursor(self._stream)
        self.set_state("writing")

    def append(self, text: str) -> None:
        """Insert streamed text. A fresh text's leading spaces and line breaks (the model continuing "New in:"
        writes " city…") are kept aside in :attr:`lead` instead of indenting the copy; a continuation puts
        them back between the prompt and the text, so the model sees exactly what it wrote."""
        if self._fresh:
            stripped = text.lstrip()
            self.lead += text[: len(text) - len(stripped)]
            text = stripped
            self._fresh = not text
        if not text:
            return
        bar = self.editor.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 4
        self._stream.insertText(text)
        if follow:
            bar.setValue(bar.maximum())

    def restart(self, seed: int | None, tries: int, steer: float = 0.0, text: str = "") -> None:
        """Another try of this variant (the must-use words are enforced): the column starts over with it, and
        ``text`` when the try comes back whole (an earlier try that missed fewer words)."""
        self.begin(seed)
        self.tries, self.steer = max(1, int(tries)), float(steer)
        self.set_state("writing")
        self.append(text)

    def set_text(self, text: str, seed: int | None = None, state: str = "done", lead: str = "", tries: int = 1) -> None:
        self.seed, self.lead, self._fresh = seed, lead, False
        self.tries, self.steer = max(1, int(tries)), 0.0
        self.editor.setPlainText(text)
        self._stream = QTextCursor(self.editor.document())
        self._stream.movePosition(QTextCursor.MoveOperation.End)
        self.set_state(state)

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_state(self, state: str) -> None:
        self.state = state
        writing = f"try {self.tries}…" if self.tries > 1 else "writing…"
        badges = {"writing": writing, "stopped": "stopped", "failed": "failed"}
        self.badge.setText(badges.get(state, ""))
        self.badge.setProperty("state", state)
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.setVisible(state in badges)
        self.title.setText(f"Variant {self.index + 1}" + (f" · seed {self.seed}" if self.seed is not None else ""))
        self.title.setToolTip(
            f"Written {words.count(self.tries, 'time')} to get the must-use words in"
            + (" (steered toward them)" if self.steer > 0 else "")
            if self.tries > 1
            else ""
        )

    # -- brand rules --------------------------------------------------------------------------------------
    def set_rules(self, required: list[str], banned: list[str]) -> None:
        self.required, self.banned = list(required), list(banned)
        self.highlighter.set_words(self.required, self.banned)
        self._update_rules()

    def check(self) -> dict:
        return brand_check(self.text(), self.required, self.banned)

    def _update_rules(self) -> None:
        if not (self.required or self.banned):
            self.rules.setVisible(False)
            return
        check = self.check()
        chips = rules_html(check)
        if not check["banned"] and self.banned:
            chips += (
                "&nbsp;&nbsp; " if chips else ""
            ) + '<span style="color:#6B7090">no&nbsp;never-use&nbsp;words</span>'
        self.rules.setText(chips)
        self.rules.setToolTip(
            f"Must use: {len(check['found'])} of {len(self.required)} present"
            + (f"; missing {', '.join(check['missing'])}" if check["missing"] else "")
            + (f". Never use: {', '.join(check['banned'])} appear" if check["banned"] else "")
        )
        self.rules.setVisible(True)

    @Slot()
    def _on_text_changed(self) -> None:
        text = self.text()
        n_words = len(text.split())
        chars = len(text)
        # Latin copy is counted in words, Chinese (few spaces) in characters; the tooltip has both
        by_words = n_words * 12 >= chars
        self.count_label.setText(
            "" if not text else words.count(n_words, "word") if by_words else words.count(chars, "character")
        )
        self.count_label.setToolTip(
            f"{words.count(n_words, 'word')} · {words.count(chars, 'character')}" if text else ""
        )
        self.copy_button.setEnabled(bool(text))
        if self.required or self.banned:
            self._update_rules()

    @Slot()
    def copy(self) -> None:
        QApplication.clipboard().setText(self.text())
        self.copied.emit(self.index)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.editor and event.type() == event.Type.FocusIn:
            self.focused.emit(self.index)
        return super().eventFilter(watched, event)


def columns_for(count: int, width: int) -> int:
    """How many variants sit side by side in ``width`` px: as many as keep each at least :data:`READABLE` wide,
    rows balanced (four in two rows of two, not three and one); one per row when even two would be too narrow."""
    most = max(1, (int(width) + SPACING) // (READABLE + SPACING))
    if count <= most:
        return max(1, count)
    rows = -(-count // most)
    return -(-count // rows)


class VariantColumns(QWidget):
    """Up to four variants side by side while each stays readable (:func:`columns_for`), else in rows, one
    under the other at a laptop's width, in a scroll area so each keeps a height worth reading (at 1280×800 four
    columns side by side held one or two words a line). ``current`` is the one the designer last clicked into."""

    copied = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.host = QWidget(objectName="writerVariants")
        self.views = [VariantView(i, self.host) for i in range(MAX_VARIANTS)]  # never a window of their own
        self.current = 0
        self.per_row = 0
        self.grid = QGridLayout(self.host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(SPACING)
        for view in self.views:
            view.focused.connect(self._on_focused)
            view.copied.connect(self.copied)
        self.scroll = QScrollArea(objectName="writerVariantsScroll")
        self.scroll.setWidget(self.host)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.viewport().setAutoFillBackground(False)
        self.host.setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self.set_count(1)

    def set_count(self, count: int) -> None:
        self.count = max(1, min(MAX_VARIANTS, int(count)))
        for i, view in enumerate(self.views):
            view.setVisible(i < self.count)
        self.current = min(self.current, self.count - 1)
        self._arrange(force=True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self, force: bool = False) -> None:
        """Place the visible variants in rows of :func:`columns_for` of the width they have."""
        per_row = columns_for(self.count, self.scroll.viewport().width())
        if per_row == self.per_row and not force:
            return
        self.per_row = per_row
        for view in self.views:
            self.grid.removeWidget(view)
        for column in range(MAX_VARIANTS):
            self.grid.setColumnStretch(column, 1 if column < per_row else 0)
        stacked = per_row < self.count
        for i, view in enumerate(self.visible_views()):
            self.grid.addWidget(view, i // per_row, i % per_row)
            view.setMinimumHeight(STACKED_HEIGHT if stacked else 0)  # rows scroll rather than squeeze

    def visible_views(self) -> list[VariantView]:
        return self.views[: self.count]

    def texts(self) -> list[str]:
        return [v.text() for v in self.visible_views()]

    def set_rules(self, required: list[str], banned: list[str]) -> None:
        for view in self.views:
            view.set_rules(required, banned)

    @Slot(int)
    def _on_focused(self, index: int) -> None:
        self.current = index
