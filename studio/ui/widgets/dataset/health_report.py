"""The Health tab: what the studio made of every file, at a glance and row by row.

Top: number tiles (usable, OK, fixed, skipped, duplicates, flagged). Middle: the one-click fixes. Below: a
filterable, sortable table of every manifest entry (``QTableView`` over a ``QAbstractTableModel`` behind a
``QSortFilterProxyModel``: a 20,000-row manifest costs a list, not 80,000 widget items).

The widget only shows and asks: the panel changes the manifest (each fix is one undoable operation),
saves it and hands the manifest back through :meth:`HealthReport.set_manifest`.

Near-duplicate pairs are judged by eye in :class:`~studio.ui.widgets.dataset.duplicate_review.DuplicateReview`:
"Compare pairs…", a double-click on a row of a pair, or a click on the Flagged tile while pairs are open asks
for it (:attr:`HealthReport.review_pairs_requested`). "Transparency…" asks for the dataset's transparency choice
(keep, or flatten onto white, black or a colour picked in a colour dialog): :attr:`transparency_requested`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QActionGroup, QColor, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core.atomic import atomic_write_text
from studio.core.datasets.base import BLACK, FLATTEN, KEEP_ALPHA, WHITE, colour_name, recorded_transparency
from studio.core.datasets.fixes import near_duplicate_ids
from studio.core.datasets.manifest import Manifest, report
from studio.core.datasets.near_duplicates import pairs
from studio.core.datasets.transparency import transparent_ids
from studio.core.words import count, of
from studio.ui import theme
from studio.ui.widgets.common.inputs import ComboBox
from studio.ui.widgets.dataset.entry_model import EntryListModel
from studio.ui.widgets.dataset.transparency_choice import TRANSPARENCY_CHOICES

STATUS_TEXT = {"ok": "OK", "fixed": "Fixed", "skipped": "Skipped", "duplicate": "Duplicate", "transcript": "Transcript"}
STATUS_COLOUR = {
    "ok": "#2F855A",
    "fixed": "#3C3CB0",
    "skipped": "#C53030",
    "duplicate": "#B7791F",
    "transcript": "#6B7090",
}

# (label, key) of the status filter; keys are matched in EntryFilter.filterAcceptsRow
STATUS_FILTERS = (
    ("All files", "all"),
    ("Usable", "usable"),
    ("OK", "ok"),
    ("Fixed", "fixed"),
    ("Skipped", "skipped"),
    ("Duplicates", "duplicate"),
    ("Flagged", "flagged"),
    ("Excluded", "excluded"),
    ("Transcripts", "transcript"),
)

STATUS_KEY_ROLE = Qt.ItemDataRole.UserRole + 1
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 2


def is_usable(entry: dict) -> bool:
    return entry["status"] in ("ok", "fixed") and not entry.get("excluded")


def entry_notes(entry: dict, sources: dict[str, str] | None = None) -> str:
    """Reason (skipped / duplicate, naming the file it duplicates when ``sources`` maps ids to names) and
    flags, as one readable cell."""
    parts = []
    if entry.get("reason"):
        first = (sources or {}).get(entry.get("duplicate_of") or "")
        parts.append(f"{entry['reason']}: {first}" if first else str(entry["reason"]))
    parts += [str(f) for f in entry.get("flags") or []]
    if entry.get("excluded"):
        parts.append(f"excluded ({str(entry['excluded']).replace('_', ' ')})")
    return " · ".join(parts)


# -- the table ----------------------------------------------------------------------------------------------------
class EntryTableModel(EntryListModel):
    COLUMNS = ("Source", "Status", "Reason / flags", "Fixes")
    SOURCE, STATUS, NOTES, FIXES = range(4)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.sources: dict[str, str] = {}  # entry id -> source name, to say what a duplicate duplicates
        self.haystacks: list[str] = []  # per row, lower-case text of every column: the filter's one lookup

    def set_entries(self, entries: list[dict]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.sources = {e["id"]: e.get("source", "") for e in self.entries}
        self._order()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python with one key per row (a proxy's lessThan would call data() ~300,000 times for
        20,000 rows: over a second of frozen GUI). Column -1 is the manifest's order."""
        self.beginResetModel()
        self._sort = (column, order)
        self._order()
        self.endResetModel()

    _sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    def _order(self) -> None:
        column, order = self._sort
        keys = {
            self.SOURCE: lambda e: e.get("source", "").lower(),
            self.STATUS: lambda e: (STATUS_TEXT.get(e["status"], e["status"]), bool(e.get("excluded"))),
            self.NOTES: lambda e: entry_notes(e, self.sources).lower(),
            self.FIXES: lambda e: ", ".join(e.get("fixes") or []).lower(),
        }
        if column in keys:
            self.entries.sort(key=keys[column], reverse=order == Qt.SortOrder.DescendingOrder)
        else:
            self.entries.sort(key=lambda e: e["id"])
        self.haystacks = [
            " ".join(
                (
                    e.get("source", ""),
                    STATUS_TEXT.get(e["status"], e["status"]),
                    entry_notes(e, self.sources),
                    ", ".join(e.get("fixes") or []),
                )
            ).lower()
            for e in self.entries
        ]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == self.SOURCE:
                return entry.get("source", "") if role == Qt.ItemDataRole.DisplayRole else entry.get("origin")
            if column == self.STATUS:
                text = STATUS_TEXT.get(entry["status"], entry["status"])
                return f"{text}, excluded" if entry.get("excluded") else text
            if column == self.NOTES:
                return entry_notes(entry, self.sources)
            if column == self.FIXES:
                return ", ".join(entry.get("fixes") or [])
        if role == Qt.ItemDataRole.ForegroundRole:
            if entry.get("excluded"):
                return theme.qcolor("#A9ADC4")
            if column == self.STATUS:
                return theme.qcolor(STATUS_COLOUR.get(entry["status"], "#23263A"))
            if column == self.NOTES and entry.get("flags") and entry["status"] in ("ok", "fixed"):
                return theme.qcolor("#B7791F")
        if role == STATUS_KEY_ROLE:
            return entry["status"]
        if role == ENTRY_ROLE:
            return entry
        return None


class EntryFilter(QSortFilterProxyModel):
    """Text filter over every column, combined with a status filter.

    The text match uses the model's precomputed per-row haystack (one ``in`` per row) instead of asking
    ``data()`` for every cell, so filtering 20,000 rows stays well under a frame budget of the GUI thread.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.status = "all"
        self.needle = ""
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_status(self, status: str) -> None:
        self.beginFilterChange()
        self.status = status
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)  # the source sorts itself (fast); this proxy only filters

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.needle = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        if self.status != "all" and not _status_matches(model.entries[source_row], self.status):
            return False
        return not self.needle or self.needle in model.haystacks[source_row]


def _status_matches(entry: dict, status: str) -> bool:
    if status == "all":
        return True
    if status == "usable":
        return is_usable(entry)
    if status == "flagged":
        return is_usable(entry) and bool(entry.get("flags"))
    if status == "excluded":
        return bool(entry.get("excluded"))
    return entry["status"] == status


# -- the filter box -----------------------------------------------------------------------------------------------
class FilterBox(QLineEdit):
    """A line edit that lets Ctrl+Z (and Redo) through to the window when it has nothing of its own to undo.

    QLineEdit accepts the Undo and Redo shortcut overrides whatever its history holds, so with focus in an empty
    filter box (where focus lands after a one-click fix) Edit ▸ Undo never fired. Ignoring the override when
    ``isUndoAvailable()`` (``isRedoAvailable()``) is False lets the window's shortcut run; typing in the box
    is still undone by the box first, as in every text field.
    """

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and self._passes(event):
            event.ignore()
            return False
        return super().event(event)

    def _passes(self, event: QKeyEvent) -> bool:
        if event.matches(QKeySequence.StandardKey.Undo):
            return not self.isUndoAvailable()
        if event.matches(QKeySequence.StandardKey.Redo):
            return not self.isRedoAvailable()
        return False


# -- tiles --------------------------------------------------------------------------------------------------------
class StatTile(QFrame):
    """A big number with a caption; ``tone`` (a dynamic property) colours it in the style sheet. A click emits
    ``clicked`` (the Flagged tile opens what it counts)."""

    clicked = Signal()

    def __init__(self, caption: str, tone: str, tooltip: str = "", hint: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("statTile")
        self.setProperty("tone", tone)
        self.setToolTip(tooltip)
        self.value = QLabel("0", objectName="statValue")
        self.caption = QLabel(caption, objectName="statCaption")
        self.hint = QLabel(hint, objectName="statHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        layout.addWidget(self.hint)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(88)

    def set_value(self, value: int, hint: str = "") -> None:
        self.value.setText(f"{value:,}")
        if hint:
            self.hint.setText(hint)

    def mouseReleaseEvent(self, event) -> None:  # Qt's name
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


# -- the tab ------------------------------------------------------------------------------------------------------
class HealthReport(QWidget):
    remove_near_duplicates_requested = Signal()
    drop_flagged_requested = Signal()
    trim_silence_requested = Signal()
    undo_requested = Signal()
    export_requested = Signal()
    review_pairs_requested = Signal(str)  # the id of a picture whose pair to show first ("" = the first pair)
    transparency_requested = Signal(str, object)  # FLATTEN or KEEP_ALPHA, (r, g, b) or None (keep: as recorded)

    TILES = (
        (
            "usable",
            "Usable",
            "accent",
            "Items a model will train on: OK or fixed, and not excluded (of every file but transcript files)",
            "",
        ),
        ("ok", "OK", "ok", "Files used as they are", "used as is"),
        ("fixed", "Fixed", "fixed", "Files the studio converted, rotated, resampled or re-encoded", "adjusted"),
        ("skipped", "Skipped", "skipped", "Files that cannot be used; the table says why", "unusable"),
        ("duplicates", "Duplicates", "duplicate", "Files with the same content as another file", "same content"),
        (
            "flagged",
            "Flagged",
            "flagged",
            "Usable files worth a look: tiny, near-duplicate, no transcript…",
            "worth a look",
        ),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.manifest: Manifest | None = None
        self._shown_folder: Path | None = None  # the dataset the filters were chosen for
        self.tiles: dict[str, StatTile] = {}
        tiles = QHBoxLayout()
        tiles.setSpacing(10)
        for key, caption, tone, tip, hint in self.TILES:
            self.tiles[key] = StatTile(caption, tone, tip, hint)
            tiles.addWidget(self.tiles[key])
        self.summary = QLabel(objectName="healthSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.search = FilterBox(objectName="healthFilter", placeholderText="Filter by name, reason or fix")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        self.search.setMaximumWidth(360)
        self.search.setAcceptDrops(False)  # dropped files go to the panel (import), not into the filter box
        self.status_filter = ComboBox(objectName="statusFilter")
        for label, key in STATUS_FILTERS:
            self.status_filter.addItem(label, key)
        self.near_button = QPushButton("Remove near-duplicates")
        self.near_button.setToolTip("Exclude pictures that look almost the same as an earlier one (kept on disk)")
        self.flagged_button = QPushButton("Drop flagged")
        self.flagged_button.setToolTip(
            "Exclude every usable file that has a flag (kept on disk; Undo brings them back)"
        )
        self.review_button = QPushButton("Compare pairs…")
        self.review_button.setToolTip("See each pair of near-duplicates side by side and choose which to keep")
        self.review_button.clicked.connect(self._on_review_clicked)
        self.transparency_button = QPushButton("Transparency…")
        self.transparency_button.setMenu(self._transparency_menu())
        self.trim_button = QPushButton("Trim silence")
        self.trim_button.setToolTip(
            "Cut quiet stretches at the start and end of every clip (the untrimmed copies "
            "are kept; Undo brings them back)"
        )
        self.undo_button = QPushButton("Undo")
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("Save this table as CSV (for a spreadsheet) or JSON")
        self.near_button.clicked.connect(self.remove_near_duplicates_requested)
        self.flagged_button.clicked.connect(self.drop_flagged_requested)
        self.trim_button.clicked.connect(self.trim_silence_requested)
        self.undo_button.clicked.connect(self.undo_requested)
        self.export_button.clicked.connect(self.export_requested)

        self.model = EntryTableModel(self)
        self.proxy = EntryFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(objectName="healthTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # manifest order until the user sorts
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.doubleClicked.connect(self._on_row_activated)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(60)
        header.resizeSection(EntryTableModel.SOURCE, 220)
        header.resizeSection(EntryTableModel.STATUS, 90)
        header.resizeSection(EntryTableModel.NOTES, 260)
        self.shown = QLabel(objectName="mutedLabel")

        self._search_timer = QTimer(self)  # filter once typing pauses, not on every key
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(120)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._on_search)
        self.status_filter.currentIndexChanged.connect(self._on_status_filter)
        self.tiles["flagged"].clicked.connect(self._on_flagged_tile)
        self.pair_ids: set[str] = set()  # pictures of an open near-duplicate pair (both sides)

        fixes = QHBoxLayout()
        fixes.setSpacing(8)
        fixes.addWidget(self.summary, 1)
        for button in (
            self.review_button,
            self.near_button,
            self.transparency_button,
            self.trim_button,
            self.flagged_button,
            self.undo_button,
        ):
            fixes.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        actions = QHBoxLayout()
        actions.setSpacing(8)
        actions.addWidget(self.search, 1)
        actions.addWidget(self.status_filter)
        actions.addStretch(1)
        actions.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 14, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(tiles)
        layout.addLayout(fixes)
        layout.addSpacing(2)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.shown)
        self.set_manifest(None)

    # -- content -----------------------------------------------------------------------------------------
    def set_manifest(self, manifest: Manifest | None, busy: bool = False) -> None:
        """Show ``manifest`` (None: nothing). ``busy`` disables the fixes while an import writes to it.

        Another dataset starts with every file shown: a filter chosen for one dataset ("Skipped") would
        hide most of the next one's rows. The same dataset shown again (after a fix or an import) keeps it.
        """
        if manifest is not None and manifest.folder != self._shown_folder:
            self._shown_folder = manifest.folder
            self.reset_filters()
        self.manifest = manifest
        entries = manifest.entries if manifest else []
        counts = report(entries)
        usable = manifest.usable() if manifest else []
        flagged = manifest.flagged_ids() if manifest else []
        excluded = counts["excluded"]
        total = len([e for e in entries if e["status"] != "transcript"])
        hint = f"of {count(total, 'file')}" + (f" · {excluded:,} excluded" if excluded else "")
        self.tiles["usable"].set_value(len(usable), hint)
        self.tiles["ok"].set_value(counts["ok"])
        self.tiles["fixed"].set_value(counts["fixed"])
        self.tiles["skipped"].set_value(counts["skipped"])
        self.tiles["duplicates"].set_value(counts["duplicates"])
        self.tiles["flagged"].set_value(len(flagged))
        self.summary.setText(self._summary(counts) or ("Every file is usable as it is." if entries else ""))
        self.model.set_entries(entries)
        has_transcripts = any(e["status"] == "transcript" for e in entries)
        view = self.status_filter.view()
        if hasattr(view, "setRowHidden"):
            view.setRowHidden(len(STATUS_FILTERS) - 1, not has_transcripts)
        editable = manifest is not None and not busy
        self.near_button.setVisible(manifest is not None and manifest.kind == "image")
        self.near_button.setEnabled(editable and bool(near_duplicate_ids(manifest)))
        open_pairs = pairs(manifest) if manifest is not None and manifest.kind == "image" else []
        self.pair_ids = {i for pair in open_pairs for i in pair.ids}
        self.review_button.setVisible(bool(open_pairs))  # there while pairs wait for a look, like the flag
        self.review_button.setEnabled(bool(open_pairs))
        self.tiles["flagged"].setCursor(Qt.CursorShape.PointingHandCursor if flagged else Qt.CursorShape.ArrowCursor)
        click = " Click to list them." if flagged else ""
        if open_pairs:
            click = " Click to compare the near-duplicate pairs."
        self.tiles["flagged"].setToolTip(f"{self.TILES[-1][3]}.{click}")
        self._show_transparency(manifest, editable)
        self.flagged_button.setEnabled(editable and bool(flagged))
        self.trim_button.setVisible(manifest is not None and manifest.kind == "audio")
        self.trim_button.setEnabled(editable and bool(usable))
        self.undo_button.setEnabled(editable and bool(manifest.history))
        self.undo_button.setToolTip(
            f"Undo “{_action_name(manifest.history[-1]['action'])}”"
            if manifest is not None and manifest.history
            else "Nothing to undo"
        )
        self.export_button.setEnabled(bool(entries))
        self._update_shown()

    @staticmethod
    def _summary(counts: dict) -> str:
        """ "Skipped — 2 files: empty file. Flagged — 1 file: duplicate paragraphs; 3 files: too short."

        Each number counts files, the way the tiles and the table do (a file flagged "4 duplicate paragraphs"
        is 1 file with duplicate paragraphs, never "1 duplicate paragraphs").
        """
        parts = []
        for title, key in (("Skipped", "reasons"), ("Flagged", "flags")):
            if counts[key]:
                items = "; ".join(f"{count(n, 'file')}: {what}" for what, n in list(counts[key].items())[:4])
                parts.append(f"{title} — {items}.")
        return "  ".join(parts)

    def visible_rows(self) -> int:
        return self.proxy.rowCount()

    # -- transparency --------------------------------------------------------------------------------------
    def _transparency_menu(self) -> QMenu:
        """The choices, ticked as the dataset records them; picking one asks the panel to apply it."""
        menu = QMenu(self)
        self.transparency_group = QActionGroup(menu)
        self.transparency_actions = []
        for text, mode, colour in TRANSPARENCY_CHOICES:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setData((mode, colour))
            self.transparency_group.addAction(action)
            self.transparency_actions.append(action)
        self.transparency_group.triggered.connect(self._on_transparency_chosen)
        return menu

    def _show_transparency(self, manifest: Manifest | None, editable: bool) -> None:
        """Visible for a picture dataset with transparent pictures; the tooltip says what they are now."""
        transparent = transparent_ids(manifest) if manifest is not None and manifest.kind == "image" else []
        self.transparency_button.setVisible(bool(transparent))
        self.transparency_button.setEnabled(editable and bool(transparent))
        if manifest is None or not transparent:
            return
        mode, background = recorded_transparency(manifest.options)
        now = "kept" if mode == KEEP_ALPHA else f"flattened onto {colour_name(background)}"
        self.transparency_button.setToolTip(
            f"{count(len(transparent), 'picture')} with see-through pixels: {now}. Keep the transparency (the "
            "training cache then places them on the dataset's colour) or flatten them onto a colour."
        )
        for action in self.transparency_actions:
            choice, colour = action.data()
            if choice == KEEP_ALPHA:
                action.setChecked(mode == KEEP_ALPHA)
            elif colour is None:  # "a colour…": ticked for a colour that is neither white nor black
                custom = mode == FLATTEN and background not in (WHITE, BLACK)
                action.setChecked(custom)
                now = f" (now {colour_name(background)})" if custom else ""
                action.setText(f"Flatten on a colour…{now}")
            else:
                action.setChecked(mode == FLATTEN and background == colour)

    @Slot(object)
    def _on_transparency_chosen(self, action) -> None:
        mode, colour = action.data()
        if mode == FLATTEN and colour is None:
            _, background = recorded_transparency(self.manifest.options if self.manifest else {})
            chosen = self.ask_colour(background)
            if chosen is None:
                self._show_transparency(self.manifest, self.transparency_button.isEnabled())  # back to the ticks
                return
            colour = chosen
        self.transparency_requested.emit(mode, tuple(colour) if colour is not None else None)

    def ask_colour(self, initial: tuple[int, int, int]) -> tuple[int, int, int] | None:
        """Ask for the colour to flatten onto (tests replace this). None when the user cancels."""
        colour = QColorDialog.getColor(QColor(*initial), self, "Flatten transparent pictures onto")
        return (colour.red(), colour.green(), colour.blue()) if colour.isValid() else None

    # -- near-duplicate pairs ------------------------------------------------------------------------------
    @Slot()
    def _on_review_clicked(self) -> None:
        self.review_pairs_requested.emit("")

    @Slot(QModelIndex)
    def _on_row_activated(self, index: QModelIndex) -> None:
        """A double-click on either picture of an open pair opens the comparison on that pair."""
        entry = index.data(ENTRY_ROLE) if index.isValid() else None
        if isinstance(entry, dict) and entry.get("id") in self.pair_ids:
            self.review_pairs_requested.emit(entry["id"])

    @Slot()
    def _on_flagged_tile(self) -> None:
        """The Flagged tile opens the pair comparison while pairs are open, else lists the flagged files."""
        if self.pair_ids:
            self.review_pairs_requested.emit("")
        elif self.manifest is not None and self.manifest.flagged_ids():
            self.status_filter.setCurrentIndex(self.status_filter.findData("flagged"))

    # -- slots ---------------------------------------------------------------------------------------------
    @Slot(str)
    def _on_search(self, _text: str) -> None:
        self._search_timer.start()

    @Slot()
    def _apply_search(self) -> None:
        self.proxy.set_text(self.search.text())
        self._update_shown()

    def set_filter_text(self, text: str) -> None:
        """Type into the filter box and apply it now (no typing pause needed)."""
        self.search.setText(text)
        self._search_timer.stop()
        self._apply_search()

    def reset_filters(self) -> None:
        """Show every file: "All files" and an empty filter box (whose typing history goes with it)."""
        self.status_filter.setCurrentIndex(0)
        if self.search.text():
            self.set_filter_text("")

    @Slot(int)
    def _on_status_filter(self, _index: int) -> None:
        self.proxy.set_status(self.status_filter.currentData())
        self._update_shown()

    def _update_shown(self) -> None:
        """ "33 files, including 1 transcript file" or "Showing 24 of 33 files, …": the table's own rows. The
        Usable tile counts the files without the transcript files, so both numbers are given."""
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        text = count(total, "file") if shown == total else f"Showing {of(shown, total, 'file')}"
        transcripts = sum(1 for e in self.model.entries if e["status"] == "transcript")
        if transcripts:
            text += f", including {count(transcripts, 'transcript file')}"
        self.shown.setText(text)


def _action_name(action: str) -> str:
    return str(action).replace("_", " ").replace("-", " ")


# -- export -------------------------------------------------------------------------------------------------------
EXPORT_FIELDS = (
    "id",
    "source",
    "status",
    "reason",
    "flags",
    "fixes",
    "excluded",
    "duplicate_of",
    "label",
    "split",
    "item",
    "origin",
    "size",
)


def export_rows(manifest: Manifest) -> list[dict]:
    rows = []
    for entry in manifest.entries:
        row = {key: entry.get(key) for key in EXPORT_FIELDS}
        row["flags"] = list(entry.get("flags") or [])
        row["fixes"] = list(entry.get("fixes") or [])
        if manifest.kind == "audio":
            row["transcript"] = entry.get("transcript")
        rows.append(row)
    return rows


def write_report(path: str | Path, manifest: Manifest) -> Path:
    """Write the report as JSON (summary + rows) or CSV (rows; UTF-8 with a BOM so spreadsheets read any
    script correctly), atomically. The format follows the file's suffix."""
    path = Path(path)
    rows = export_rows(manifest)
    if path.suffix.lower() == ".json":
        data = {
            "dataset": manifest.name,
            "kind": manifest.kind,
            "summary": report(manifest.entries),
            "usable": len(manifest.usable()),
            "entries": rows,
        }
        return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    buffer = io.StringIO()
    fields = list(rows[0]) if rows else list(EXPORT_FIELDS)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in row.items()})
    return atomic_write_text(path, "\ufeff" + buffer.getvalue())
