"""Dataset panel: where a designer brings in images, copy or voice recordings, and sees what became of them.

What the user does here:

* **Import** by dropping files, folders or ``.zip`` archives anywhere on the panel (a new dataset named after
  the folder; or, let go on the overlay's "Add to" card, into the selected dataset), or with *Import…* /
  *Import folder…*. The import runs as a job through the window's :class:`JobRegistry` (progress, ETA and
  Cancel are shown right here); the dataset name is asked only when it cannot be chosen sensibly (see
  :meth:`DatasetPanel.choose_dataset_name`).
* **Health**: counts as number tiles, a filterable table of every file, and one-click fixes (remove
  near-duplicates, drop flagged, undo) that only *exclude* entries, so everything is undoable.
* **Browse** the items: a virtualized thumbnail grid (images), the text with its detected encoding (text),
  or clips with waveforms and Play (audio).
* **Split** into training and validation, **Augment** (images: a live preview of the training
  augmentations) and **Cache** (build the training-ready cache as a job).

Rules this panel keeps (ARCHITECTURE.md): no ML logic here, every heavy step is a core job started in a job
slot (import, cache, fixes) through the registry, job signals go to this object's own slots, no file I/O on the
GUI thread beyond reading a manifest or one small file (thumbnails, waveforms and previews load on background
threads), and nothing heavy is created before it is needed (torch is imported only by the augmentation preview,
off the GUI thread, when its tab is shown).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.datasets import fixes, near_duplicates, transcripts, transparency
from studio.core.datasets.base import KEEP_ALPHA, ImportOptions, recorded_transparency
from studio.core.datasets.drops import (
    AUDIO,
    IMAGE,
    KIND_NOUN,
    TEXT,
    DropPlan,
    default_dataset_name,
    guess_kind,
    import_summary,
    plan_drop,
    plural,
)
from studio.core.datasets.importer import KIND_MODULES, ImportDataset, check_dataset_name
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.split import assign_split
from studio.core.datasets.text import encoding_label
from studio.core.jobs import JobError
from studio.core.project import Project, is_read_only, open_project, update_project
from studio.ui.icons import icon
from studio.ui.panels.base import Panel
from studio.ui.widgets.common.banner import Banner
from studio.ui.widgets.common.drop_overlay import CARD, DropOverlay
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.job_strip import JobStrip
from studio.ui.widgets.dataset.augment_preview import AugmentPreview
from studio.ui.widgets.dataset.cache_form import CacheTab
from studio.ui.widgets.dataset.clip_list import ClipList
from studio.ui.widgets.dataset.duplicate_review import DuplicateReview
from studio.ui.widgets.dataset.health_report import HealthReport, write_report
from studio.ui.widgets.dataset.item_delegate import DatasetItemDelegate
from studio.ui.widgets.dataset.split_form import SplitTab
from studio.ui.widgets.dataset.text_preview import TextPreview
from studio.ui.widgets.dataset.thumbnail_grid import DEFAULT_SIZE, ThumbnailGrid
from studio.ui.widgets.dataset.transparency_choice import TransparencyChoice
from studio.workers.thumbnails import warm_up_imports

log = logging.getLogger(__name__)

KIND_ICON = {IMAGE: "image", TEXT: "text", AUDIO: "speech"}
TABS = ("health", "browse", "split", "augment", "cache")

_NO_PROJECT = "Open or create a project first (File ▸ New Project)."
_NO_DATASET = (
    "Drop pictures, text files or voice recordings here — files, folders or .zip archives — or press "
    "Import. The studio checks every file, fixes what it can, and tells you what it skipped and why."
)


# -- the panel -------------------------------------------------------------------------------------------------------
class DatasetPanel(Panel):
    panel_id = "dataset"
    title = "Dataset"
    subtitle = "Bring in images, copy or voice recordings; the studio checks, cleans and caches them."
    icon_name = "dataset"

    import_done = Signal(str)  # the dataset name, after the list and tabs show the import's outcome
    dataset_shown = Signal(str)  # a dataset's manifest was (re)loaded into the tabs
    cache_done = Signal(str)
    train_requested = Signal(str)  # "Train on this dataset" after a cache build; the window opens Training

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # the window colour, also in screenshots
        self.setAcceptDrops(True)
        self.manifest = None  # the selected dataset's Manifest
        self.current_name: str | None = None
        self.import_slot = self.job_slot()
        self.cache_slot = self.job_slot()
        self.fix_slot = self.job_slot()  # Trim silence
        self._cache_name = ""
        self._import_root: Path | None = None
        self._import_name = ""
        self._pending_dataset: str | None = None  # restored state waiting for a project
        self._pending_tab: str | None = None
        self._dropped: list[Path] = []
        self._drag_plan_cache: tuple[tuple, DropPlan] | None = None
        self._dropped_on_card = False  # the last drop was let go on the overlay's "Add to" card
        self._warmed = False

        # top bar: hint and import buttons
        self.drop_hint = QLabel("Drop files, folders or .zip archives anywhere on this panel.", objectName="dropHint")
        self.drop_hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.import_folder_button = QPushButton(icon("open"), "Import folder…")
        self.import_folder_button.clicked.connect(self.choose_folder)
        self.import_button = QPushButton(icon("import"), "Import…")
        self.import_button.setProperty("primary", True)
        self.import_button.setToolTip("Choose pictures, text files, audio clips or .zip archives")
        self.import_button.clicked.connect(self.choose_files)
        self.transparency_choice = TransparencyChoice()
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.drop_hint, 1)
        top.addWidget(self.transparency_choice)
        top.addSpacing(8)
        top.addWidget(self.import_folder_button)
        top.addWidget(self.import_button)
        self.body.addLayout(top)
        self.body.addSpacing(8)
        self.import_strip = JobStrip()
        self.body.addWidget(self.import_strip)
        self.banner = Banner()
        self.body.addWidget(self.banner)
        self.body.addSpacing(4)

        self.empty = EmptyState("Import a dataset to begin", _NO_PROJECT, action="Import files…")
        self.empty.action_triggered.connect(self.choose_files)
        self.content = self._build_content()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        # Below its layout's minimum the panel scrolls instead of squeezing tiles and tables into
        # illegibility, and the window can still be made small (its minimum is not this panel's widgets').
        self.stack.setMinimumHeight(440)
        scroll = QScrollArea(objectName="datasetScroll")
        scroll.setWidget(self.stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.viewport().setAutoFillBackground(False)
        self.stack.setAutoFillBackground(False)
        self.body.addWidget(scroll, 1)

        self.overlay = DropOverlay(self)
        # Ctrl+Z is the window's Edit ▸ Undo, which calls undo() here (a second Ctrl+Z action would make the key
        # ambiguous, and neither would fire); history_changed keeps that menu item's state in step.
        self._route_drops_to_panel()
        self.set_project(None)

    def _build_content(self) -> QWidget:
        # left: the project's datasets
        caption = QLabel("DATASETS", objectName="sectionCaption")
        self.new_button = QToolButton()
        self.new_button.setIcon(icon("new"))
        self.new_button.setToolTip("Import into a new dataset")
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.new_button)
        menu.addAction("New dataset from files…", self.choose_files_new)
        menu.addAction("New dataset from a folder…", self.choose_folder_new)
        self.new_button.setMenu(menu)
        self.new_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        header = QHBoxLayout()
        header.setContentsMargins(2, 0, 0, 0)
        header.addWidget(caption)
        header.addStretch(1)
        header.addWidget(self.new_button)
        self.dataset_list = QListWidget(objectName="datasetList")
        self.dataset_list.setItemDelegate(DatasetItemDelegate(self.dataset_list))
        self.dataset_list.setIconSize(QSize(20, 20))
        self.dataset_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dataset_list.currentItemChanged.connect(self._on_dataset_changed)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 14, 0)
        left_layout.setSpacing(6)
        left_layout.addLayout(header)
        left_layout.addWidget(self.dataset_list, 1)

        # right: the selected dataset
        self.dataset_title = QLabel(objectName="datasetTitle")
        self.dataset_facts = QLabel(objectName="datasetFacts")
        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        title_row.addWidget(self.dataset_title)
        title_row.addWidget(self.dataset_facts, 1, Qt.AlignmentFlag.AlignBottom)
        self.tabs = QTabWidget(objectName="datasetTabs")
        self.tabs.setDocumentMode(True)
        self.health = HealthReport()
        self.health.remove_near_duplicates_requested.connect(self.remove_near_duplicates)
        self.health.drop_flagged_requested.connect(self.drop_flagged)
        self.health.trim_silence_requested.connect(self.trim_silence)
        self.health.undo_requested.connect(self.undo)
        self.health.export_requested.connect(self.export_report)
        self.health.review_pairs_requested.connect(self.review_near_duplicates)
        self.health.transparency_requested.connect(self.set_transparency)
        self.review: DuplicateReview | None = None  # made when first asked for
        self.history_changed.connect(self._sync_review)
        self.grid = ThumbnailGrid()
        self.grid.exclude_requested.connect(self.exclude_items)
        self.grid.include_requested.connect(self.include_items)
        self.text_preview = TextPreview()
        self.text_preview.read_as_requested.connect(self.read_as)
        self.clips = ClipList()
        # queued: the list is refilled after the edit, which must not happen while its line edit is committing
        self.clips.transcript_edited.connect(self.edit_transcript, Qt.ConnectionType.QueuedConnection)
        self.browse = QStackedWidget()
        for page in (self.grid, self.text_preview, self.clips):
            self.browse.addWidget(page)
        self.split_tab = SplitTab()
        self.split_tab.apply_requested.connect(self.apply_split)
        self.augment = AugmentPreview()
        self.cache_tab = CacheTab()
        self.cache_tab.build_requested.connect(self.build_cache)
        for widget, label in (
            (self.health, "Health"),
            (self.browse, "Browse"),
            (self.split_tab, "Split"),
            (self.augment, "Augment"),
            (self._cache_page(), "Cache"),
        ):
            self.tabs.addTab(widget, label)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(16, 0, 0, 0)
        right_layout.setSpacing(6)
        right_layout.addLayout(title_row)
        right_layout.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 900])
        left.setMinimumWidth(190)
        return self.splitter

    def _cache_page(self) -> QWidget:
        """The Cache tab with the next step under it: once a cache is built, "Train on this dataset" opens the
        Training panel on it (through :attr:`train_requested`: this panel does not know the Training panel)."""
        self.train_button = QPushButton(icon("training"), "Train on this dataset")
        self.train_button.setProperty("primary", True)
        self.train_button.setToolTip("Open the Training panel with this dataset chosen")
        self.train_button.clicked.connect(self._on_train_clicked)
        self.train_button.hide()
        self._trainable = ""  # the dataset whose cache was just built
        row = QHBoxLayout()
        row.addWidget(self.train_button)
        row.addStretch(1)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(12)
        column.addWidget(self.cache_tab)  # its own stretch is empty: the button sits right under its status
        column.addLayout(row)
        column.addStretch(1)
        return page

    @Slot()
    def _on_train_clicked(self) -> None:
        if self._trainable:
            self.train_requested.emit(self._trainable)

    # -- project and registry ---------------------------------------------------------------------------------
    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        self._update_enabled()

    def set_project(self, project: Project | None) -> None:
        super().set_project(project)
        self.current_name = None
        self.manifest = None
        if project is not None and not self._warmed:
            self._warmed = True  # the first drop then finds numpy/PIL already imported
            warm_up_imports("studio.core.datasets.importer", "studio.core.datasets.fixes", "studio.core.datasets.split")
        self._fill_list(select=self._pending_dataset)
        self._update_enabled()

    def _fill_list(self, select: str | None = None) -> None:
        project = self.project
        datasets = dict(project.datasets) if project else {}
        self.dataset_list.blockSignals(True)
        self.dataset_list.clear()
        for name in sorted(datasets, key=str.lower):
            info = datasets[name] if isinstance(datasets[name], dict) else {}
            kind = info.get("kind", IMAGE)
            item = QListWidgetItem(icon(KIND_ICON.get(kind, "dataset")), name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setData(DatasetItemDelegate.SUBTITLE_ROLE, self._subtitle(kind, info.get("items")))
            item.setToolTip(f"{name}: {self._subtitle(kind, info.get('items'))}")
            self.dataset_list.addItem(item)
        self.dataset_list.blockSignals(False)
        if project is None:
            self.empty.set_text("Import a dataset to begin", _NO_PROJECT)
            self.stack.setCurrentWidget(self.empty)
            self._show_manifest(None)
            return
        if not datasets:
            demo = project.extra.get("demo")
            hint = (
                f"\n\nThis demo project's sample images, copy and clips are in {project.root / demo['sources']}."
                if isinstance(demo, dict) and demo.get("sources")
                else ""
            )
            self.empty.set_text("Import a dataset to begin", _NO_DATASET + hint)
            self.stack.setCurrentWidget(self.empty)
            self._show_manifest(None)
            return
        self.stack.setCurrentWidget(self.content)
        names = [self.dataset_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.dataset_list.count())]
        target = select if select in names else (self.current_name if self.current_name in names else names[0])
        self._pending_dataset = None
        self.current_name = None  # force a reload of the manifest
        self.dataset_list.setCurrentRow(names.index(target))
        if self.current_name is None:  # the row was already current: no change signal came
            self.load_dataset(target)

    @staticmethod
    def _subtitle(kind: str, items) -> str:
        one, many = KIND_NOUN.get(kind, ("item", "items"))
        return plural(int(items), one, many) if isinstance(items, int) else many.capitalize()

    def dataset_names(self) -> list[str]:
        return [self.dataset_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.dataset_list.count())]

    def select_dataset(self, name: str) -> None:
        names = self.dataset_names()
        if name in names:
            self.dataset_list.setCurrentRow(names.index(name))

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_dataset_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if name != self.current_name:
            self.load_dataset(name)

    def load_dataset(self, name: str) -> None:
        """Read the dataset's manifest (the one file read on the GUI thread) and fill every tab."""

        self.current_name = name
        folder = self.project.root / "datasets" / name
        info = self.project.datasets.get(name) if isinstance(self.project.datasets.get(name), dict) else {}
        if info.get("path"):
            folder = self.project.root / info["path"]
        try:
            manifest = Manifest.load(folder)
        except JobError as exc:
            self.banner.show_message(f"The dataset “{name}” cannot be opened. {exc}", "error")
            self._show_manifest(None)
            self.dataset_title.setText(name)
            return
        self._show_manifest(manifest)

    def _show_manifest(self, manifest) -> None:
        self.manifest = manifest
        busy = self._busy()
        self.health.set_manifest(manifest, busy=busy)
        self.history_changed.emit()
        if manifest is None:
            self.dataset_title.setText("")
            self.dataset_facts.setText("")
            self.grid.set_entries(Path(), [])
            self.augment.set_images([])
            return
        kind = manifest.kind
        self.dataset_title.setText(manifest.name)
        self.dataset_facts.setText(self._facts(manifest))
        browse_page = {IMAGE: self.grid, TEXT: self.text_preview, AUDIO: self.clips}[kind]
        self.browse.setCurrentWidget(browse_page)
        browse_page.set_entries(manifest.folder, manifest.entries)
        if kind != IMAGE:
            self.grid.set_entries(Path(), [])
        self.split_tab.show_manifest(manifest)
        self.split_tab.set_busy(busy)
        self.tabs.setTabVisible(TABS.index("augment"), kind == IMAGE)
        self._show_augment_samples(manifest)
        self.cache_tab.set_kind(kind)
        if not self.cache_slot.busy:
            self.cache_tab.status.setText("")
        self.train_button.hide()  # it goes with a "Ready" message, which this dataset has not been given
        if self._pending_tab in TABS and self.tabs.isTabVisible(TABS.index(self._pending_tab)):
            self.tabs.setCurrentIndex(TABS.index(self._pending_tab))
            self._pending_tab = None
        if not self.tabs.isTabVisible(self.tabs.currentIndex()):
            self.tabs.setCurrentIndex(0)
        self.dataset_shown.emit(manifest.name)

    @staticmethod
    def _facts(manifest) -> str:
        usable = manifest.usable()
        metas = [e.get("meta") or {} for e in usable]
        kind = manifest.kind
        one, many = KIND_NOUN[kind]
        parts = [plural(len(usable), one, many) + " ready"]
        if kind == IMAGE:
            classes = {e.get("label") for e in usable if e.get("label") is not None}
            if classes:
                parts.append(plural(len(classes), "class", "classes"))
            sides = [min(m["width"], m["height"]) for m in metas if m.get("width")]
            if sides:
                parts.append(
                    f"{min(sides)}–{max(sides)} px short side"
                    if min(sides) != max(sides)
                    else f"{sides[0]} px short side"
                )
        elif kind == TEXT:
            words = sum(int(m.get("words") or 0) for m in metas)
            characters = sum(int(m.get("characters") or 0) for m in metas)
            parts.append(f"{plural(words, 'word')} · {plural(characters, 'character')}")
        elif kind == AUDIO:
            total = sum(float(m.get("duration_s") or 0) for m in metas)
            parts.append(f"{total / 60:.1f} min of speech" if total >= 60 else f"{total:.1f} s of speech")
        return " · ".join(parts)

    # -- importing ----------------------------------------------------------------------------------------------
    @Slot()
    def choose_files(self) -> None:
        self._choose(folder=False, new=False)

    @Slot()
    def choose_folder(self) -> None:
        self._choose(folder=True, new=False)

    @Slot()
    def choose_files_new(self) -> None:
        self._choose(folder=False, new=True)

    @Slot()
    def choose_folder_new(self) -> None:
        self._choose(folder=True, new=True)

    def _choose(self, folder: bool, new: bool) -> None:
        if self.project is None:
            self.banner.show_message(_NO_PROJECT, "info")
            return
        start = str(self.project.root.parent)
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Import a folder", start)
            paths = [chosen] if chosen else []
        else:
            patterns = " ".join(f"*{s}" for m in KIND_MODULES.values() for s in sorted(m.SUFFIXES)) + " *.zip"
            paths, _ = QFileDialog.getOpenFileNames(
                self, "Import files", start, f"Pictures, text, audio and archives ({patterns});;All files (*)"
            )
        if paths:
            self.import_paths([Path(p) for p in paths], new=new)

    def choose_dataset_name(self, paths: list[Path], new: bool = False) -> str | None:
        """Where an import goes, asking only when needed.

        * A dataset is selected and the drop is of its kind (or of no recognizable kind): more for it.
        * Otherwise a new dataset named after the dropped folder or archive, or "images" / "copy" /
          "voice" by kind. A dataset of that name and kind already existing simply receives more files.
        * The user is asked only when that name cannot be used (not a valid name, or taken by a dataset of
          another kind), or when they asked for a new dataset explicitly.
        """

        kind = guess_kind(paths)
        datasets = self.project.datasets if self.project else {}
        selected_kind = self.manifest.kind if self.manifest is not None else None
        if not new and self.current_name and (kind is None or kind == selected_kind):
            return self.current_name
        default = default_dataset_name(paths, kind)
        existing = datasets.get(default, {}).get("kind") if isinstance(datasets.get(default), dict) else None
        reason = ""
        try:
            check_dataset_name(default)
        except JobError as exc:
            reason = str(exc)
        if existing and (new or (kind and existing != kind)):
            taken = {n.lower() for n in datasets}
            base, number = default, 2
            while f"{base}-{number}".lower() in taken:
                number += 1
            default = f"{base}-{number}"
            if not new:
                holds = KIND_NOUN.get(existing, ("", "other files"))[1]
                reason = f"A dataset named “{base}” already holds {holds}."
        if not new and not reason:
            return default
        return self.ask_dataset_name(default, reason)

    def ask_dataset_name(self, default: str, reason: str = "") -> str | None:
        """Ask for a dataset name (tests replace this). None when the user cancels."""

        prompt = (reason + "\n\n" if reason else "") + "Name the new dataset:"
        while True:
            name, ok = QInputDialog.getText(self, "Name the dataset", prompt, QLineEdit.EchoMode.Normal, default)
            if not ok:
                return None
            try:
                return check_dataset_name(name)
            except JobError as exc:
                prompt, default = f"{exc}\n\nName the new dataset:", name

    def import_paths(
        self, paths: list[str | Path], name: str | None = None, new: bool = False, kind: str | None = None
    ):
        """Start importing ``paths`` (the drop handler and the Import buttons call this). Returns the runner,
        or None when nothing was started (the banner says why).

        Into an existing dataset the import keeps to that dataset's kind: files of another kind are skipped with
        a reason, never poured silently into a new "<name>-<kind>" dataset. Only an import into a new dataset
        splits a mixed drop into such siblings (and its summary says so)."""
        paths = [Path(p) for p in paths]
        if self.project is None:
            self.banner.show_message(_NO_PROJECT, "info")
            return None
        if self.registry is None:
            self.banner.show_message("The studio is still starting; try again in a moment.", "info")
            return None
        if self.import_slot.is_running():
            self.banner.show_message(
                "An import is already running. Wait for it to finish (or cancel it), then drop these files again.",
                "info",
            )
            return None
        missing = [p for p in paths if not p.exists()]
        paths = [p for p in paths if p.exists()]
        if not paths:
            self.banner.show_message(
                "Nothing to import: " + (f"{missing[0]} no longer exists." if missing else "no files were given."),
                "error",
            )
            return None
        try:
            if name is None:
                name = self.choose_dataset_name(paths, new=new)
                if name is None:
                    return None

            # a new dataset takes the transparency chosen beside the Import buttons; files added to a dataset
            # follow its recorded choice (the importer reads it)
            options = self.transparency_choice.import_options()
            job = ImportDataset(self.project.root, name, paths, kind=kind or self._kind_of(name), options=options)
        except JobError as exc:
            self.banner.show_message(str(exc), "error")
            return None
        runner = self.import_slot.start(
            job,
            title=f"Importing into “{name}”",
            succeeded=self._on_import_succeeded,
            failed=self._on_import_failed,
            cancelled=self._on_import_cancelled,
            finished=self._on_import_finished,
        )
        self._import_root = self.project.root
        self._import_name = name
        count = plural(len(paths), "item") if len(paths) > 1 else f"“{paths[0].name}”"
        self.import_strip.follow(runner, f"Importing {count} into “{name}”")
        self.banner.hide()
        self._update_enabled()
        if self.manifest is not None:
            self.health.set_manifest(self.manifest, busy=True)
            self.split_tab.set_busy(True)
        return runner

    def _kind_of(self, name: str) -> str | None:
        """The kind of the project's dataset ``name``; None for a dataset that does not exist yet."""
        info = self.project.datasets.get(name) if self.project else None
        return info.get("kind") if isinstance(info, dict) else None

    def _busy(self) -> bool:
        """An import or a fix job is writing to the dataset: edits wait for it (for a fix, until its new
        manifest is loaded at its end)."""
        return self.import_slot.is_running() or self.fix_slot.busy

    @Slot(object)
    def _on_import_succeeded(self, result: dict) -> None:
        self.banner.show_message(
            import_summary(self._import_name, result or {}),
            "success" if (result or {}).get("ok", 0) + (result or {}).get("fixed", 0) else "info",
        )

    @Slot(str)
    def _on_import_failed(self, message: str) -> None:
        self.banner.show_message(f"The import did not finish. {message}", "error")

    @Slot()
    def _on_import_cancelled(self) -> None:
        self.banner.show_message(
            "Import cancelled. The files checked before you cancelled were kept; drop the "
            "same files again to import the rest (nothing is imported twice).",
            "info",
        )

    @Slot()
    def _on_import_finished(self) -> None:
        self.import_strip.done()
        name = self._import_name
        if self.project is not None and self._import_root == self.project.root:
            self._reload_project_datasets()
            self.current_name = None
            self._fill_list(select=name)
        self._update_enabled()
        self.import_done.emit(name)

    def _reload_project_datasets(self) -> None:
        """The import job saved project.json from its own copy; take its dataset list into the window's
        Project object (shared with the other panels), in place."""

        try:
            fresh = open_project(self.project.root)
        except JobError as exc:
            log.warning("Could not re-read the project after an import: %s", exc)
            return
        self.project.datasets.clear()
        self.project.datasets.update(fresh.datasets)

    def _read_only(self) -> bool:
        """The window opened this project read-only (another window has it): nothing here may change it."""

        return self.project is not None and is_read_only(self.project.root)

    def _update_enabled(self) -> None:
        writable = not self._read_only()
        ready = self.project is not None and self.registry is not None and not self._busy() and writable
        for widget in (self.import_button, self.import_folder_button, self.new_button):
            widget.setEnabled(ready)
        if self.empty.button is not None:
            self.empty.button.setEnabled(ready)
            self.empty.button.setVisible(self.project is not None)
        self.drop_hint.setVisible(self.project is not None and writable)
        self.clips.set_editable(writable)
        self.cache_tab.build_button.setEnabled(
            self.registry is not None and writable and not self.cache_slot.busy and self.manifest is not None
        )

    # -- drag and drop --------------------------------------------------------------------------------------------
    def _route_drops_to_panel(self) -> None:
        """Children that take drops themselves (line edits, spin boxes) would swallow dropped files; route
        file drops to the panel instead, so files can be dropped anywhere on it."""
        for child in self.findChildren(QWidget):
            if child.acceptDrops() and child is not self:
                child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        drags = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
        if kind in drags and self._local_paths(event.mimeData()) and isinstance(watched, QWidget):
            pos = watched.mapTo(self, event.position().toPoint())  # the overlay's targets are in our coordinates
            {
                QEvent.Type.DragEnter: self._drag_entered,
                QEvent.Type.DragMove: self._drag_moved,
                QEvent.Type.Drop: self._dropped_at,
            }[kind](event, pos)
            return True
        if kind == QEvent.Type.DragLeave:
            self.overlay.hide()
        return super().eventFilter(watched, event)

    @staticmethod
    def _local_paths(mime) -> list[Path]:
        if mime is None or not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]

    def dragEnterEvent(self, event) -> None:
        self._drag_entered(event, event.position().toPoint())

    def dragMoveEvent(self, event) -> None:
        self._drag_moved(event, event.position().toPoint())

    def dragLeaveEvent(self, event) -> None:
        self.overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        self._dropped_at(event, event.position().toPoint())

    def _drag_entered(self, event, pos: QPoint) -> None:
        paths = self._local_paths(event.mimeData())
        if not paths or self.project is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if self.import_slot.is_running():
            self.overlay.show_targets("Wait for the import", "An import is running: wait for it to finish first.")
        else:
            plan = self._drop_plan(paths)
            self.overlay.show_targets(plan.new_title(), plan.new_text(), plan.add_title(), plan.add_text())
        self.overlay.follow(pos)

    def _drag_moved(self, event, pos: QPoint) -> None:
        if self._local_paths(event.mimeData()) and self.project is not None:
            event.acceptProposedAction()
            self.overlay.follow(pos)  # the target under the pointer lights up; its words are what a drop does
        else:
            event.ignore()

    def _dropped_at(self, event, pos: QPoint) -> None:
        on_card = self.overlay.isVisible() and self.overlay.target_at(pos) == CARD
        self.overlay.hide()
        paths = self._local_paths(event.mimeData())
        if not paths or self.project is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # Start after the drop returns: a name dialog inside a drop handler would hold the source app's drag.
        self._dropped, self._dropped_on_card = paths, on_card
        QTimer.singleShot(0, self._import_dropped)

    @Slot()
    def _import_dropped(self) -> None:
        """Import what was dropped as the overlay said: into a new dataset named after it (the default), or, let
        go on the "Add to" card, into the selected dataset, keeping to its kind."""
        paths, self._dropped = self._dropped, []
        if not paths or self.project is None:
            return
        if self.import_slot.is_running():
            self.import_paths(paths)  # the banner says an import is running, as the overlay did
            return
        plan = self._drop_plan(paths)
        if self._dropped_on_card and plan.add_to:
            self.import_paths(paths, name=plan.add_to, kind=plan.kind)
        else:
            self.import_paths(paths, name=plan.new_name)

    def _drop_plan(self, paths: list[Path]) -> DropPlan:
        """What dropping ``paths`` does now. Cached while one drag goes on (the pointer moves often); the
        project's datasets and the selection it depends on are part of the key."""
        taken = set(self.project.datasets) if self.project else set()
        folder = self.project.root / "datasets" if self.project else None
        with contextlib.suppress(OSError):  # a dataset folder without an entry would be merged into: not free
            if folder is not None and folder.is_dir():
                taken |= {p.name for p in folder.iterdir() if p.is_dir()}
        selected_kind = self.manifest.kind if self.manifest is not None else None
        key = (tuple(str(p) for p in paths), self.current_name, selected_kind, tuple(sorted(taken)))
        if self._drag_plan_cache is None or self._drag_plan_cache[0] != key:
            self._drag_plan_cache = (key, plan_drop(paths, taken, self.current_name, selected_kind))
        return self._drag_plan_cache[1]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.overlay.isVisible():
            self.overlay.setGeometry(self.rect().adjusted(10, 10, -10, -10))

    # -- one-click fixes and item edits (each one undoable operation, saved at once) ------------------------------
    def _can_edit(self) -> bool:
        if self.manifest is None:
            return False
        if self._read_only():
            self.banner.show_message(
                "This project is open read-only in this window, because another AIGC Studio "
                "window is working on it; close that window and open the project again here "
                "to change its datasets.",
                "info",
            )
            return False
        if self._busy():
            self.banner.show_message(
                "Wait for the running import or fix to finish before changing the dataset.", "info"
            )
            return False
        return True

    def _saved(self, message: str) -> None:
        try:
            self.manifest.save()
        except OSError as exc:
            self.banner.show_message(f"The change could not be saved: {exc.strerror or exc}", "error")
            self.load_dataset(self.manifest.name)  # back to what is on disk
            return
        self._update_project_count()
        self._refresh_views()
        self.banner.show_message(message, "info")

    def _show_augment_samples(self, manifest: Manifest) -> None:
        """The Augment tab previews the usable pictures as the training cache sees them: on the dataset's own
        background colour where their transparency was kept."""
        if manifest.kind != IMAGE:
            self.augment.set_images([])
            return
        paths = [str(manifest.folder / e["item"]) for e in manifest.usable() if e.get("item")]
        self.augment.set_images(paths, recorded_transparency(manifest.options)[1])

    def _update_project_count(self) -> None:
        """Record the dataset's usable item count in project.json (re-read and written under the project's
        lock: an import or a run finishing in another process meanwhile stays recorded)."""

        name = self.manifest.name
        info = self.project.datasets.get(name) if self.project else None
        usable = len(self.manifest.usable())
        if isinstance(info, dict) and info.get("items") != usable:
            info["items"] = usable

            def record(fresh) -> None:
                if isinstance(fresh.datasets.get(name), dict):
                    fresh.datasets[name]["items"] = usable

            try:
                update_project(self.project.root, record)
            except (OSError, JobError) as exc:
                log.warning("Could not save the project's item count: %s", exc)
            item = self.dataset_list.currentItem()
            if item is not None:
                item.setData(DatasetItemDelegate.SUBTITLE_ROLE, self._subtitle(self.manifest.kind, usable))

    def _refresh_views(self) -> None:
        manifest = self.manifest
        self.health.set_manifest(manifest, busy=self._busy())
        self.history_changed.emit()
        self.dataset_facts.setText(self._facts(manifest))
        if manifest.kind == IMAGE:
            self.grid.refresh(manifest.entries)
            self._show_augment_samples(manifest)
        elif manifest.kind == TEXT:
            self.text_preview.set_entries(manifest.folder, manifest.entries)
        else:
            self.clips.set_entries(manifest.folder, manifest.entries)
        self.split_tab.show_manifest(manifest)

    def confirm(self, title: str, text: str) -> bool:
        """Ask before a step with a surprising outcome (tests replace this)."""
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def remove_near_duplicates(self) -> None:
        if not self._can_edit():
            return
        changed = fixes.remove_near_duplicates(self.manifest)
        if changed:
            self._saved(
                f"Excluded {plural(changed, 'near-duplicate')} (kept on disk). Undo brings "
                f"{'it' if changed == 1 else 'them'} back."
            )

    @Slot()
    def drop_flagged(self) -> None:
        if not self._can_edit():
            return
        flagged, usable = len(self.manifest.flagged_ids()), len(self.manifest.usable())
        if (
            flagged
            and flagged >= usable
            and not self.confirm(
                "Exclude everything?",
                f"Every usable item has a flag, so this would exclude all {usable:,} of them and leave nothing to "
                "train on. Exclude them anyway? (Undo brings them back.)",
            )
        ):
            return
        changed = fixes.drop_flagged(self.manifest)
        if changed:
            self._saved(
                f"Excluded {plural(changed, 'flagged file')} (kept on disk). Undo brings "
                f"{'it' if changed == 1 else 'them'} back."
            )

    @Slot()
    def trim_silence(self) -> None:
        """Re-trim every clip as a job (it reads all of them); the strip shows its progress."""
        if not self._can_edit() or self.registry is None:
            return
        runner = self.fix_slot.start(
            fixes.TrimSilence(self.manifest.folder),
            title=f"Trimming silence in “{self.manifest.name}”",
            succeeded=self._on_trim_succeeded,
            failed=self._on_fix_failed,
            cancelled=self._on_fix_cancelled,
            finished=self._on_fix_finished,
        )
        self._fix_name = self.manifest.name
        self.import_strip.follow(runner, f"Trimming silence in “{self.manifest.name}”")
        self._refresh_views()
        self._update_enabled()

    @Slot(object)
    def _on_trim_succeeded(self, result: dict) -> None:
        trimmed = int((result or {}).get("trimmed", 0))
        self.banner.show_message(
            f"Trimmed the silence of {plural(trimmed, 'clip')}. Undo brings the untrimmed clips back."
            if trimmed
            else "No clip had silence left to trim.",
            "info",
        )

    @Slot(str)
    def _on_fix_failed(self, message: str) -> None:
        self.banner.show_message(f"The fix did not finish; the dataset is unchanged. {message}", "error")

    @Slot()
    def _on_fix_cancelled(self) -> None:
        self.banner.show_message("Cancelled; the dataset is unchanged.", "info")

    @Slot()
    def _on_fix_finished(self) -> None:
        self.import_strip.done()
        if self.current_name == self._fix_name:
            self.load_dataset(self._fix_name)  # the job saved a new manifest
        self._update_enabled()

    # -- transparency and near-duplicate pairs (see studio.core.datasets.transparency / near_duplicates) ------------
    @Slot(str, object)
    def set_transparency(self, mode: str, colour: object = None) -> None:
        """Keep or flatten every transparent picture as a job (it may re-read originals); one undoable operation
        that also records the dataset's choice, so later imports into it follow it."""
        if not self._can_edit() or self.registry is None:
            return
        name = self.manifest.name
        what = transparency.action_name(mode, colour).capitalize()
        runner = self.fix_slot.start(
            transparency.SetTransparency(self.manifest.folder, mode, colour),
            title=f"{what} in “{name}”",
            succeeded=self._on_transparency_succeeded,
            failed=self._on_fix_failed,
            cancelled=self._on_fix_cancelled,
            finished=self._on_fix_finished,
        )
        self._fix_name = name
        self.import_strip.follow(runner, f"{what} in “{name}”")
        self._refresh_views()
        self._update_enabled()

    @Slot(object)
    def _on_transparency_succeeded(self, result: dict) -> None:
        result = result or {}
        changed, failed = int(result.get("changed", 0)), list(result.get("failed") or [])
        colour = str(result.get("colour", "white"))
        if changed and result.get("action") == transparency.action_name(KEEP_ALPHA):
            text = (
                f"Kept the transparency of {plural(changed, 'picture')}; the training cache places them on "
                f"{colour}. Undo (Ctrl+Z) brings back how they were."
            )
        elif changed:
            text = f"Flattened {plural(changed, 'picture')} onto {colour}. Undo (Ctrl+Z) brings back how they were."
        else:
            text = "The transparent pictures already were so; the choice now holds for pictures imported later."
        if failed:
            first = Path(str(failed[0].get("source", ""))).name
            text += (
                f" {plural(len(failed), 'picture')} stayed as before: the original of “{first}”"
                f"{' and others' if len(failed) > 1 else ''} was moved or changed since the import."
            )
        self.banner.show_message(text, "info")

    @Slot(str)
    def review_near_duplicates(self, entry_id: str = "") -> None:
        """Open the side-by-side comparison of near-duplicate pairs, on ``entry_id``'s pair when given."""
        if self.manifest is None:
            return
        if self.review is None:
            self.review = DuplicateReview(self)
            self.review.choice_made.connect(self.keep_near_duplicate)
            self.review.undo_requested.connect(self.undo)
        self.review.set_manifest(self.manifest, entry_id, editable=not self._read_only() and not self._busy())
        self.review.show()
        self.review.raise_()
        self.review.activateWindow()

    @Slot()
    def _sync_review(self) -> None:
        """Keep an open comparison in step with the manifest (after a choice, an undo or a fix); it closes when
        another dataset is shown."""
        review = self.review
        if review is None or not review.isVisible():
            return
        if self.manifest is None or review.manifest is None or review.manifest.folder != self.manifest.folder:
            review.close()
            return
        review.set_manifest(self.manifest, editable=not self._read_only() and not self._busy())

    @Slot(str, str, str)
    def keep_near_duplicate(self, left_id: str, right_id: str, choice: str) -> None:
        """Record a choice made in the comparison: one undoable operation, saved at once."""
        if not self._can_edit():
            return
        index = self.manifest.by_id()
        names = {i: Path(str(index.get(i, {}).get("source", ""))).name for i in (left_id, right_id)}
        changed = near_duplicates.keep(self.manifest, left_id, right_id, choice)
        if not changed:
            return
        if choice == near_duplicates.BOTH:
            message = f"Kept both “{names[left_id]}” and “{names[right_id]}”."
        else:
            kept, left_out = (left_id, right_id) if choice == near_duplicates.LEFT else (right_id, left_id)
            message = f"Kept “{names[kept]}”; “{names[left_out]}” is excluded (kept on disk)."
        self._saved(f"{message} Undo (Ctrl+Z) brings the pair back.")

    @Slot(str, str)
    def read_as(self, entry_id: str, encoding: str) -> None:
        """Decode one text file again with the encoding the user picked (one file: quick enough to do here)."""
        if not self._can_edit():
            return

        try:
            entry = fixes.reimport(self.manifest, entry_id, ImportOptions(text_encoding=encoding))
        except JobError as exc:
            self.banner.show_message(str(exc), "error")
            return
        name = Path(entry["source"]).name
        if entry.get("reason"):
            self._saved(
                f"“{name}” cannot be read as {encoding_label(encoding)}: {entry['reason']}. Undo brings "
                "back the earlier reading."
            )
        else:
            self._saved(f"Read “{name}” again as {encoding_label(encoding)}. Undo brings back the earlier reading.")

    @Slot(list)
    def exclude_items(self, ids: list) -> None:
        if self._can_edit():
            changed = self.manifest.exclude(list(ids), "exclude")
            if changed:
                self._saved(
                    f"Excluded {plural(changed, 'item')} from training. Undo (Ctrl+Z) brings "
                    f"{'it' if changed == 1 else 'them'} back."
                )

    @Slot(list)
    def include_items(self, ids: list) -> None:
        if self._can_edit():
            changed = self.manifest.include(list(ids), "include")
            if changed:
                self._saved(f"{plural(changed, 'item')} back in training.")

    @Slot(str, str)
    def edit_transcript(self, entry_id: str, text: str) -> None:
        """Record a transcript typed in the clip list (one undoable operation, saved at once). The dataset's copy
        changes, never the recordings' metadata.csv; the audio cache's fingerprint sees the edit, so the next
        cache build or training run updates its phonemes."""
        if not self._can_edit():  # the list still shows what is recorded: it never stores what was typed
            return
        try:
            changed = transcripts.set_transcript(self.manifest, entry_id, text)
        except JobError as exc:
            self.banner.show_message(str(exc), "error")
            return
        if changed:
            entry = self.manifest.by_id()[entry_id]
            name = Path(str(entry.get("source", ""))).name
            what = "Saved the transcript of" if entry.get("transcript") else "Cleared the transcript of"
            self._saved(f"{what} “{name}”. Undo (Ctrl+Z) brings back the earlier one.")

    def can_undo(self) -> bool:
        """Edit ▸ Undo is enabled while the dataset has an operation to revert and may be changed now."""
        return self.manifest is not None and bool(self.manifest.history) and self._may_change_history()

    def undo_label(self) -> str:
        return _action_words(self.manifest.history[-1].get("action", "")) if self.can_undo() else ""

    @Slot()
    def undo(self) -> None:
        if not self._can_edit():
            return
        action = self.manifest.undo()
        if action is None:
            self.banner.show_message("There is nothing to undo in this dataset.", "info")
            return
        self._saved(f"Undid “{_action_words(action)}”. Redo (Ctrl+Shift+Z) applies it again.")

    def can_redo(self) -> bool:
        """Edit ▸ Redo is enabled while an undone operation can be applied again (until the next change)."""
        return self.manifest is not None and bool(self.manifest.undone) and self._may_change_history()

    def redo_label(self) -> str:
        return _action_words(self.manifest.undone[-1]["op"].get("action", "")) if self.can_redo() else ""

    @Slot()
    def redo(self) -> None:
        if not self._can_edit():
            return
        action = self.manifest.redo()
        if action is None:
            self.banner.show_message("There is nothing to redo in this dataset.", "info")
            return
        self._saved(f"Did “{_action_words(action)}” again.")

    def _may_change_history(self) -> bool:
        return not self._read_only() and not self._busy()

    @Slot()
    def export_report(self) -> None:
        if self.manifest is None:
            return
        path, chosen = self.ask_export_path(self.manifest.name)
        if not path:
            return
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".json" if "JSON" in (chosen or "") else ".csv")
        try:
            write_report(path, self.manifest)
        except OSError as exc:
            self.banner.show_message(f"The report could not be saved: {exc.strerror or exc}", "error")
            return
        self.banner.show_message(f"Report saved to {path}.", "success")

    def ask_export_path(self, name: str) -> tuple[str, str]:
        """Ask where to save the report (tests replace this)."""
        start = str((self.project.root if self.project else Path.home()) / f"{name}-report.csv")
        return QFileDialog.getSaveFileName(
            self, "Export the dataset report", start, "CSV spreadsheet (*.csv);;JSON (*.json)"
        )

    # -- split ----------------------------------------------------------------------------------------------------
    @Slot(float, int)
    def apply_split(self, percent: float, seed: int) -> None:
        if not self._can_edit():
            return

        counts = assign_split(self.manifest, val_percent=percent, seed=seed)
        self._saved(f"Split applied: {counts.get('train', 0):,} for training, {counts.get('val', 0):,} for validation.")

    # -- cache ----------------------------------------------------------------------------------------------------
    @Slot()
    def build_cache(self) -> None:
        if self.manifest is None or self.registry is None or self.cache_slot.busy:
            return
        if self._busy():
            self.banner.show_message("Wait for the running import or fix to finish, then build the cache.", "info")
            return
        try:
            job = self.cache_tab.make_job(self.manifest.folder)
        except JobError as exc:
            self.cache_tab.status.setText(str(exc))
            return
        runner = self.cache_slot.start(
            job,
            title=f"Preparing “{self.manifest.name}” for training",
            succeeded=self._on_cache_succeeded,
            failed=self._on_cache_failed,
            cancelled=self._on_cache_cancelled,
            finished=self._on_cache_finished,
        )
        self._cache_name = self.manifest.name
        self.cache_tab.strip.follow(runner, f"Building the cache ({self.cache_tab.describe()})")
        self.cache_tab.status.setText("")
        self.train_button.hide()
        self._update_enabled()

    @Slot(object)
    def _on_cache_succeeded(self, result: dict) -> None:
        result = result or {}
        if result.get("up_to_date"):
            text = "The cache is already up to date for these settings: nothing to do."
        elif "count" in result:
            text = f"Ready: {plural(int(result['count']), 'picture')} cached for training."
            if result.get("unreadable"):
                text += f" {plural(int(result['unreadable']), 'picture')} could not be read and will be left out."
        elif "train_tokens" in result:
            text = (
                f"Ready: {int(result['train_tokens']):,} training and {int(result.get('val_tokens', 0)):,} "
                f"validation tokens, vocabulary of {int(result.get('vocab_size', 0)):,}."
            )
        elif "clips" in result:
            text = f"Ready: {plural(int(result['clips']), 'clip')} cached for training."
        else:
            text = "The cache is ready."
        self.cache_tab.status.setText(text)
        self._trainable = self._cache_name  # the next step: train on it
        self.train_button.setVisible(self._cache_name == self.current_name)

    @Slot(str)
    def _on_cache_failed(self, message: str) -> None:
        self.cache_tab.status.setText(f"The cache could not be built. {message}")

    @Slot()
    def _on_cache_cancelled(self) -> None:
        self.cache_tab.status.setText("Cancelled. The previous cache, if any, is unchanged.")

    @Slot()
    def _on_cache_finished(self) -> None:
        self.cache_tab.strip.done()
        self._update_enabled()
        self.cache_done.emit(self._cache_name)

    # -- state ----------------------------------------------------------------------------------------------------
    def save_state(self) -> dict:
        state = {
            "tab": TABS[self.tabs.currentIndex()],
            "thumb_size": int(self.grid.side),
            "augment_policy": self.augment.policy(),
            "list_width": int(self.splitter.sizes()[0]),
            "transparency": self.transparency_choice.save_state(),
        }
        if self.current_name:
            state["dataset"] = self.current_name
        return state

    def restore_state(self, state: dict) -> None:
        state = state or {}
        with contextlib.suppress(TypeError, ValueError):
            self.grid.set_side(int(state.get("thumb_size", DEFAULT_SIZE)))
        if isinstance(state.get("augment_policy"), str):
            self.augment.set_policy(state["augment_policy"])
        self.transparency_choice.restore_state(state.get("transparency"))
        try:
            width = int(state.get("list_width", 0))
        except (TypeError, ValueError):
            width = 0
        if 150 <= width <= 600:
            self.splitter.setSizes([width, max(400, self.splitter.width() - width)])
        tab = state.get("tab")
        if tab in TABS:
            self._pending_tab = tab
            if self.tabs.isTabVisible(TABS.index(tab)):
                self.tabs.setCurrentIndex(TABS.index(tab))
        name = state.get("dataset")
        if isinstance(name, str) and name:
            if name in self.dataset_names():
                self.select_dataset(name)
            else:
                self._pending_dataset = name


def _action_words(action: object) -> str:
    """An operation's recorded name as the Edit menu and banner say it ("drop_flagged" → "drop flagged")."""
    return str(action).replace("_", " ")
