"""Training panel: pick a dataset, a model and a preset, train it, and watch curves and samples live.

What the user does here:

* **New run** (left): dataset, model family (only those that train on the dataset's kind), a preset — *Fast
  preview*, *Balanced*, *Best quality*, each with its estimated time and memory on the current device — and
  *Advanced settings* with every hyperparameter. *Start training* (Ctrl+Return). The model and its settings
  start from what suits the dataset (:mod:`studio.core.training.suggest`: the image GAN at the cache's
  resolution, the character GPT for a small text, a voice for transcribed clips) until the user chooses.
* **Monitor** (right): step, epoch, time left and speed; Pause/Resume (Space), Stop (Ctrl+.), Save now
  (Ctrl+S) and Sample now (Ctrl+Shift+S) at any time. Tabs: *Curves* (every loss, validation metric, learning
  rate and throughput, with smoothing, log scale and CSV export, Ctrl+E), *Samples*, *Checkpoints* (Resume
  from here, Open in canvas / writer / speech) and *Log* (the engine's notices in plain words).
* **Compare checkpoints…** (beside the tabs, and in a run's context menu): the comparison board of the run
  (:mod:`studio.ui.widgets.training.board_dialog`), rendered in the panel's board slot — asking again cancels the
  render still running, and cached cells show at once. Its "Use this checkpoint" is stored with the run and
  :attr:`TrainingPanel.checkpoint_chosen` tells the creation panels to list their models again.
* **Runs** (left, below): past runs with their state; select one to see its curves and checkpoints, tick
  others to overlay their curves. A run the app or the machine interrupted is offered for resuming in a
  banner at the top.

Rules this panel keeps (ARCHITECTURE.md): no ML logic and no torch here. Everything that may import torch or
read a large file — the recipe catalogue, estimates, a run's metrics, checkpoints, CSV export — runs as a
small job (kind "task") through the window's registry, via :mod:`studio.ui.backends.training`, and
training itself is a "training" job. The catalogue, the run list, the estimates and the training run each have
a job slot (a newer request replaces an older one, whose late answer never arrives); a run's history and a CSV
export are separate requests whose every answer is wanted, started straight through the registry. Job signals
go to this object's slots.

Estimates cost a few seconds of the CPU (or GPU) each, so they are asked for sparingly: only while the panel is
shown (a hidden panel cancels its estimate and starts again when shown), one job at a time (a newer request asks
the running job to stop and starts once it has: two estimates never run together, so none pile up in the status
bar), and each preset's answer is remembered for its dataset, model, settings and device, so showing the panel
again, ending a run or going back to a choice asks nothing. The job passes its context to the estimator, which
checks it often: quitting during an estimate closes the window at once.

The plots module (pyqtgraph, ~0.3 s of imports) is not imported at start-up: a job
(:class:`ImportCharts`) imports it off the GUI thread once the catalogue is loaded, and the panel builds the plots when
first shown, without a pause. Metric batches are already throttled by the
runner (~20 a second); the plots redraw at most ~10 times a second, so the window stays responsive while a
CPU run goes flat out.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.jobs import JobError
from studio.core.project import Project
from studio.core.training import families
from studio.core.training.devices import resolve_device, threads_beside_a_window
from studio.core.training.families import PRESET_KEYS, PRESET_TITLES
from studio.ui.backends.training import (
    CatalogJob,
    EstimateJob,
    ExportJob,
    HistoryJob,
    RenameJob,
    RunNaming,
    RunsJob,
    SuggestJob,
    TrainingBackend,
)
from studio.ui.icons import icon
from studio.ui.panels.base import Panel
from studio.ui.widgets.common.banner import Banner
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.run_list import RunList, run_state, run_title
from studio.ui.widgets.training.board_dialog import BoardDialog, BoardJob, ExportBoardJob, RunNotesJob, with_marks
from studio.ui.widgets.training.checkpoint_list import CheckpointList
from studio.ui.widgets.training.log import TrainingLog
from studio.ui.widgets.training.monitor import SHORTCUTS, TrainingMonitorHead
from studio.ui.widgets.training.resume import ResumeBanner
from studio.ui.widgets.training.samples import SampleStrip
from studio.ui.widgets.training.setup_card import ESTIMATING, RESTORED, TrainingSetup

log = logging.getLogger(__name__)

TABS = ("curves", "samples", "checkpoints", "log")
LIVE = "live"  # the plots' key for the run on screen (the live one, or the selected past run)
ESTIMATE_DELAY_MS = 400
PLOTS_MODULE = "studio.ui.widgets.training.plots"


class ImportCharts:
    """Job: import the plots module (pyqtgraph copies Qt's namespaces: ~0.3 s of Python) off the GUI thread. On
    the GUI thread, at the panel's first showing, it froze the window that long — longer while a worker imported
    torch beside it. pyqtgraph touches no QApplication when imported, so any thread may import it."""

    title = "Preparing the training charts"
    kind = "task"

    def __call__(self, ctx) -> None:
        importlib.import_module(PLOTS_MODULE)


class TrainingPanel(Panel):
    panel_id = "training"
    title = "Training"
    subtitle = "Train a GAN, VAE, writer or voice on your data, with live curves, samples and checkpoints."
    icon_name = "training"

    run_started = Signal(str)  # title
    run_ended = Signal(str)  # "finished" | "stopped" | "failed"
    history_loaded = Signal(list)  # run ids whose curves arrived
    checkpoint_opened = Signal(str, str)  # panel id, checkpoint .json path (the model panels pick it up)
    checkpoint_chosen = Signal(str)  # run id whose "Use this checkpoint" changed (the model panels list runs again)
    board_shown = Signal(str)  # run id whose comparison board opened (its layout is on screen)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.backend = TrainingBackend()
        self.catalog: dict | None = None
        self.runs: list[dict] = []
        self.job = None  # the training job (its run id, its requests: save now, sample now)
        self.live: dict | None = None  # {"dataset", "family", "title", "run_id"} of the training run
        self.shown_run: str | None = None  # the run the plots show (None: the live one or nothing)
        self.device_choice = "auto"
        self.devices: list = []
        self.plots = None  # TrainingPlots, built when first needed (pyqtgraph import)
        self.catalog_slot = self.job_slot()
        self.runs_slot = self.job_slot()
        self.estimate_slot = self.job_slot()
        self.suggest_slot = self.job_slot()
        self.training_slot = self.job_slot()
        self.charts_slot = self.job_slot()
        self.rename_slot = self.job_slot()
        self.board_slot = self.job_slot()  # the comparison board's render: opening it again cancels the previous one
        self.board_export_slot = self.job_slot()
        self.board_dialog: BoardDialog | None = None  # made when first opened, then shown again for the next run
        self.board_run: str | None = None  # the run the board is for
        self._board_pending: str | None = None  # a run asked for before the run list had it
        self._estimates: dict[str, dict] = {}  # estimate key (see _estimate_keys) -> the estimator's answer
        self._estimate_request: dict[str, str] = {}  # preset -> estimate key, for the running estimate job
        self._estimate_again = False  # a request came while a job ran: start it when that one has ended
        self._suggestions: dict[str, dict] = {}  # dataset -> the SuggestJob's answer
        self._user_chose_for: str | None = None  # the dataset whose model or settings the user set by hand
        self._suggest_basis = ""  # the card's choice when the suggestion was asked for (see _card_choice)
        self._history_cache: dict[str, dict] = {}
        self._last_row: dict = {}
        self._dismissed: set[str] = set()
        self._pending: dict = {}  # restored state waiting for the catalogue
        self._smoothing = 0.6
        self._log_scale = False

        self.resume_banner = ResumeBanner()
        self.resume_banner.resume_requested.connect(self.resume_run)
        self.resume_banner.dismissed.connect(self._dismissed.add)
        self.banner = Banner()
        self.body.addWidget(self.resume_banner)
        self.body.addWidget(self.banner)
        self.body.addSpacing(4)
        self.empty = EmptyState("No dataset to train on yet", "", action="Go to Dataset")
        self.empty.action_triggered.connect(self._go_to_dataset)
        self.content = self._build_content()
        self.stack = self.add_scrolling_stack("trainingOuterScroll", self.empty, self.content)
        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.estimate)
        self._build_shortcuts()
        self.set_project(None)

    # -- construction -------------------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        self.setup = TrainingSetup()
        self.setup.start_requested.connect(self.start)
        self.setup.choice_changed.connect(self._schedule_estimate)
        self.setup.dataset_changed.connect(self._on_dataset_changed)
        self.setup.user_changed.connect(self._on_user_changed)
        self.run_list = RunList()
        self.run_list.run_selected.connect(self.show_run)
        self.run_list.compare_changed.connect(self._on_compare_changed)
        self.run_list.rename_requested.connect(self.rename_run)
        self.compare_action = QAction("Compare checkpoints…", self.run_list)
        self.compare_action.setToolTip("Render the run's checkpoints side by side with the same seeds or prompts")
        self.compare_action.triggered.connect(self._compare_current)
        self.run_list.addAction(self.compare_action)
        runs_caption = QLabel("RUNS", objectName="sectionCaption")
        self.runs_empty = QLabel(
            "No runs yet. Your runs appear here with their curves and checkpoints.", objectName="mutedLabel"
        )
        self.runs_empty.setWordWrap(True)
        left = QWidget(objectName="trainingLeft")
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 14, 0)
        left_layout.setSpacing(8)
        left_layout.addWidget(self.setup)
        left_layout.addSpacing(6)
        left_layout.addWidget(runs_caption)
        left_layout.addWidget(self.runs_empty)
        left_layout.addWidget(self.run_list, 1)
        left.setMinimumWidth(300)

        self.head = TrainingMonitorHead()
        self.head.pause_toggled.connect(self.set_paused)
        self.head.stop_requested.connect(self.stop)
        self.head.save_requested.connect(self.save_now)
        self.head.sample_requested.connect(self.sample_now)
        self.curves_page = QWidget()
        self.curves_layout = QVBoxLayout(self.curves_page)
        self.curves_layout.setContentsMargins(0, 10, 0, 0)
        self.samples = SampleStrip()
        self.checkpoints = CheckpointList()
        self.checkpoints.resume_requested.connect(self.resume_from_checkpoint)
        self.checkpoints.open_requested.connect(self.open_checkpoint)
        self.log_view = TrainingLog()
        log_page = QWidget()
        log_layout = QVBoxLayout(log_page)
        log_layout.setContentsMargins(0, 10, 0, 0)
        log_layout.addWidget(self.log_view)
        self.tabs = QTabWidget(objectName="trainingTabs")
        self.tabs.setDocumentMode(True)
        for page, label in (
            (self.curves_page, "Curves"),
            (self.samples, "Samples"),
            (self.checkpoints, "Checkpoints"),
            (log_page, "Log"),
        ):
            self.tabs.addTab(page, label)
        self.export_button = QPushButton(icon("log"), "Export CSV", objectName="exportCsv")
        self.export_button.setToolTip(f"Save the shown run's metrics as a CSV spreadsheet ({SHORTCUTS['export']})")
        self.export_button.clicked.connect(self.export_csv)
        self.compare_button = QPushButton(icon("sample"), "Compare checkpoints…", objectName="compareCheckpoints")
        self.compare_button.setToolTip(
            "Render the shown run's checkpoints side by side, with the same seeds, prompts or sentences"
        )
        self.compare_button.clicked.connect(self._compare_current)
        corner = QWidget()
        corner_layout = QHBoxLayout(corner)
        corner_layout.setContentsMargins(0, 0, 0, 0)
        corner_layout.setSpacing(6)
        corner_layout.addWidget(self.compare_button)
        corner_layout.addWidget(self.export_button)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(16, 0, 0, 0)
        right_layout.setSpacing(10)
        right_layout.addWidget(self.head)
        right_layout.addWidget(self.tabs, 1)

        scroll = QScrollArea(objectName="trainingScroll")
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.viewport().setAutoFillBackground(False)
        left.setAutoFillBackground(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 870])
        scroll.setMinimumWidth(316)
        return self.splitter

    def _build_shortcuts(self) -> None:
        self.actions_ = self.add_shortcuts(
            (key, SHORTCUTS[key], slot)
            for key, slot in (
                ("start", self.start),
                ("pause", self.toggle_pause),
                ("stop", self.stop),
                ("save", self.save_now),
                ("sample", self.sample_now),
                ("export", self.export_csv),
            )
        )

    @property
    def runner(self):
        """The training run's JobRunner until its end has been handled, else None."""
        return self.training_slot.runner

    def ensure_plots(self):
        """Build the plots (imports pyqtgraph) the first time they are needed."""
        if self.plots is None:
            from studio.ui.widgets.training.plots import TrainingPlots  # pyqtgraph: ~0.5 s, on first need

            self.plots = TrainingPlots()
            self.plots.set_smoothing(self._smoothing)
            self.plots.log_scale.setChecked(self._log_scale)
            self.curves_layout.addWidget(self.plots)
        return self.plots

    def prepare_plots(self) -> None:
        """Build the plots now if their module is imported, else import it in a job and build them after."""
        if self.plots is not None or self.charts_slot.busy:  # built, or built when the import job ends
            return
        if PLOTS_MODULE in sys.modules or self.registry is None:  # imported, or no workers to import it
            self.ensure_plots()
        elif not self.charts_slot.busy:
            self.charts_slot.start(ImportCharts(), succeeded=self._on_charts_imported)

    @Slot(object)
    def _on_charts_imported(self, _result) -> None:
        if self.isVisible():
            self.ensure_plots()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.prepare_plots()
        self._schedule_estimate()  # what was cancelled or skipped while hidden (known answers cost nothing)

    def hideEvent(self, event) -> None:
        """Hidden (another panel, the window minimised or closing): nobody looks at the estimates, so the
        running one stops; showing the panel starts it again."""
        super().hideEvent(event)
        self._estimate_timer.stop()
        self._estimate_again = False
        self.estimate_slot.cancel()

    # -- project, devices, backend -------------------------------------------------------------------------------
    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        if self.project is not None and self.catalog is None:
            self.load_catalog()

    def set_backend(self, backend) -> None:
        """Use another engine (tests pass a fake one); reloads the catalogue."""
        self.backend = backend
        self.catalog = None
        self.load_catalog()

    def set_project(self, project: Project | None) -> None:
        super().set_project(project)
        self.estimate_slot.cancel()  # not discard: the next estimate still waits for it to end (one at a time)
        self.suggest_slot.discard()
        self.board_slot.discard()  # its cells belong to the project that was open
        self.board_run, self._board_pending = None, None
        if self.board_dialog is not None:
            self.board_dialog.view.done()
            self.board_dialog.hide()
        self._estimates, self._estimate_request, self._suggestions = {}, {}, {}
        self._estimate_again = False
        self._user_chose_for = None
        self.runs = []
        self._history_cache = {}
        self.shown_run = None
        self.run_list.set_runs([])
        self.refresh_datasets()
        self.load_catalog()

    @Slot(str)
    def refresh_datasets(self, name: str = "") -> None:
        """The project's datasets changed (an import or a cache build finished): what was measured or suggested
        for ``name`` may no longer hold (more items, a cache at another resolution)."""
        if name:
            self._suggestions.pop(name, None)
            self._estimates = {k: v for k, v in self._estimates.items() if json.loads(k)[0] != name}
        datasets = dict(self.project.datasets) if self.project else {}
        self.setup.set_datasets(datasets)
        if self._pending.get("dataset"):
            self.setup.select_dataset(self._pending["dataset"])
        if name and name == self.setup.dataset_name():
            self._suggest()
        self._update_view()
        self._schedule_estimate()

    @Slot(list)
    def set_devices(self, devices: list) -> None:
        self.devices = list(devices)
        self._schedule_estimate()

    @Slot(str)
    def set_device_choice(self, choice: str) -> None:
        self.device_choice = choice or "auto"
        self._schedule_estimate()

    def device(self) -> tuple[str | None, str]:
        """(device id for the engine, or None for its own pick; words for the user)."""
        if not self.devices:
            return (None if self.device_choice == "auto" else self.device_choice), "this computer"

        info = resolve_device(self.device_choice, self.devices)
        if info.kind == "cpu":  # a run started here leaves a core to the window (threads_beside_a_window)
            threads, total = threads_beside_a_window(), os.cpu_count() or 1
            if threads < total:
                return info.id, f"the CPU, {threads} of its {total} threads (one core stays with the window)"
        return info.id, info.name

    # -- the catalogue (families, presets, defaults) and the runs --------------------------------------------------
    def load_catalog(self) -> None:
        if self.registry is None or self.project is None:
            return
        self.catalog_slot.start(
            CatalogJob(self.backend, self.project.root), succeeded=self._on_catalog, failed=self._on_catalog_failed
        )

    @Slot(object)
    def _on_catalog(self, catalog: dict) -> None:
        self.catalog = catalog
        if self.plots is None and PLOTS_MODULE not in sys.modules and not self.charts_slot.busy:
            # ready before the panel is opened; started after the catalogue's torch warm-up, not beside it: each
            # more busy thread at start-up lengthened the window's pauses
            self.charts_slot.start(ImportCharts(), succeeded=self._on_charts_imported)
        self.setup.set_catalog(catalog.get("families", []), catalog.get("presets", {}), catalog.get("defaults", {}))
        pending = self._pending
        self.setup.select_dataset(pending.get("dataset"))
        self.setup.select_family(pending.get("family"))
        self.setup.select_preset(pending.get("preset"), source=RESTORED)
        if pending.get("overrides"):
            self.setup.restore_overrides(pending["overrides"])
        if pending.get("chosen") and pending.get("dataset") == self.setup.dataset_name():
            self._user_chose_for = pending["dataset"]  # last session's own choice still stands
        self._pending = {}
        self._set_runs(catalog.get("runs", []))
        self._update_view()
        self._suggest()
        self._schedule_estimate()

    @Slot(str)
    def _on_catalog_failed(self, message: str) -> None:
        self.banner.show_message(f"The model list could not be read. {message}", "error")

    def refresh_runs(self) -> None:
        if self.registry is None or self.project is None:
            return
        self.runs_slot.start(RunsJob(self.backend, self.project.root), succeeded=self._on_runs)

    @Slot(object)
    def _on_runs(self, runs: list) -> None:
        self._set_runs(runs)

    def _set_runs(self, runs: list[dict]) -> None:
        self.runs = list(runs or [])
        self.run_list.set_renamable(isinstance(self.backend, RunNaming))
        self.run_list.set_runs(self.runs)
        self.runs_empty.setVisible(not self.runs)
        self.run_list.setVisible(bool(self.runs))
        live_id = (self.live or {}).get("run_id")
        interrupted = [r for r in self.runs if r.get("interrupted") and r.get("run_id") != live_id]
        offer = [r for r in interrupted if r.get("run_id") not in self._dismissed]
        if offer and self.runner is None:
            self.resume_banner.offer(offer[0], others=len(interrupted) - 1)
        else:
            self.resume_banner.hide()
        if live_id:
            self.run_list.select(live_id, emit=False)
        elif self.shown_run is None and self.runs:
            self.run_list.select(str(self.runs[0]["run_id"]))
        self._update_compare()
        if self._board_pending and self._run_info(self._board_pending):
            self.compare_run(self._board_pending)

    def _run_info(self, run_id: str | None) -> dict | None:
        return next((r for r in self.runs if r.get("run_id") == run_id), None)

    @Slot(str, str)
    def rename_run(self, run_id: str, name: str) -> None:
        """Store the run's new name in its folder (a job), then list the runs again from disk."""
        info = self._run_info(run_id)
        if info is None or self.registry is None or not isinstance(self.backend, RunNaming):
            return
        job = RenameJob(self.backend, run_id, Path(str(info["folder"])), name)
        self.rename_slot.start(job, succeeded=self._on_renamed, failed=self._on_rename_failed)

    @Slot(object)
    def _on_renamed(self, result: dict) -> None:
        run_id = str(result.get("run_id"))
        self.run_list.update_run(run_id, name=str(result.get("name") or ""))
        info = self.run_list.runs.get(run_id)
        if info is not None and run_id == self.shown_run and self.runner is None:  # the monitor's title too
            self.head.title.set_full_text(f"{run_title(info)} on “{info.get('dataset', '?')}”")
        self.refresh_runs()

    @Slot(str)
    def _on_rename_failed(self, message: str) -> None:
        self.banner.show_message(f"The run could not be renamed. {message}", "error")

    def select(self, dataset: str | None = None, family: str | None = None) -> None:
        """Choose ``dataset`` and, when given, the model ``family``, as the user would: the Dataset panel's "Train
        on this dataset" and the writer's "Train a writer on your copy" call this. A family chosen here is the
        user's choice (no suggestion replaces it). Before the catalogue has loaded (just after the window opened)
        the dataset shows at once and the choice is applied again when the catalogue comes, as a restored one
        is, rather than lost."""
        self.setup.select_dataset(dataset)
        if self.catalog is None:
            self._pending.update({key: value for key, value in (("dataset", dataset), ("family", family)) if value})
            if family:
                self._pending["chosen"] = True
            return
        if family:
            self.setup.select_family(family)
            self._on_user_changed()

    # -- defaults that follow the data ---------------------------------------------------------------------------
    @Slot(str)
    def _on_dataset_changed(self, _name: str) -> None:
        self.setup.family.setToolTip("")  # the reasons were the previous dataset's
        self._suggest()

    @Slot()
    def _on_user_changed(self) -> None:
        """The user set the model or a setting by hand: their choice wins while this dataset stays selected."""
        self._user_chose_for = self.setup.dataset_name()
        self.setup.family.setToolTip("")

    def _suggest(self) -> None:
        """Preselect the model and settings that suit the selected dataset (read in a job), unless the user has
        chosen for it."""
        dataset = self.setup.dataset_name()
        if not dataset or self.project is None or self.registry is None or self.catalog is None:
            return
        if self._user_chose_for == dataset:
            if dataset not in self._suggestions:  # still read its facts: they fix what the dataset decides
                self.suggest_slot.start(SuggestJob(self.project.root, dataset), succeeded=self._on_suggestion)
            return
        self._suggest_basis = self._card_choice()
        if dataset in self._suggestions:
            self._apply_suggestion(self._suggestions[dataset])
            return
        self.suggest_slot.start(SuggestJob(self.project.root, dataset), succeeded=self._on_suggestion)

    def _card_choice(self) -> str:
        """Dataset, model and Advanced overrides as the card shows them, as text."""
        setup = self.setup
        return json.dumps([setup.dataset_name(), setup.family_name(), setup.form.overrides()], default=str)

    @Slot(object)
    def _on_suggestion(self, result: dict) -> None:
        if result.get("problem"):
            log.info("No suggestion for the dataset %s: %s", result.get("dataset"), result["problem"])
        self._suggestions[str(result.get("dataset"))] = result
        self._apply_suggestion(result)
        self.setup.set_dataset_facts(str(result.get("dataset")), dict(result.get("facts") or {}))

    def _apply_suggestion(self, result: dict) -> None:
        """Apply it unless the card changed since it was asked for (whoever changed it: the user, a restored
        state, a script driving the panel), or the user chose for this dataset, or a run trains."""
        dataset = result.get("dataset")
        if dataset != self.setup.dataset_name() or self._user_chose_for == dataset or self.runner is not None:
            return
        if self._card_choice() != self._suggest_basis:
            return
        if self.setup.apply_suggestion(result.get("family"), dict(result.get("settings") or {})):
            reasons = "; ".join(str(r) for r in result.get("reasons") or ())
            self.setup.family.setToolTip(f"Suggested for “{dataset}”: {reasons}" if reasons else "")

    # -- estimates --------------------------------------------------------------------------------------------
    @Slot()
    def _schedule_estimate(self) -> None:
        self._estimate_timer.start()

    def _estimate_keys(self) -> dict[str, str]:
        """preset -> what its estimate depends on (dataset and its size, model, full config, device), as text;
        empty when there is nothing to estimate."""
        dataset, family = self.setup.dataset_name(), self.setup.family_name()
        if not (dataset and family and self.project is not None):
            return {}
        info = self.project.datasets.get(dataset)
        items = info.get("items") if isinstance(info, dict) else None
        device_id = self.device()[0]
        return {
            key: json.dumps(
                [dataset, items, family, device_id, self.setup.preset_config(key)], sort_keys=True, default=str
            )
            for key in PRESET_KEYS
        }

    @Slot()
    def estimate(self) -> None:
        """Show each preset's time and memory on the device: known answers at once, the others from one job."""
        self._estimate_timer.stop()
        if self.estimate_slot.busy:  # never two at once: the running one stops first, its end starts this one
            self._estimate_again = True
            self.estimate_slot.cancel()
            return
        self._estimate_again = False
        if not self.isVisible() or self.runner is not None or self.registry is None or self.catalog is None:
            return
        keys = self._estimate_keys()
        if not keys:
            return
        device_id, label = self.device()
        missing = {}
        for key, estimate_key in keys.items():
            known = self._estimates.get(estimate_key)
            if known is None:
                missing[key] = self.setup.preset_config(key)
                self.setup.preset_buttons[key].set_estimate(ESTIMATING)
            else:
                self.setup.show_estimate(key, known, label)
        if not missing:
            return
        self._estimate_request = {key: keys[key] for key in missing}
        job = EstimateJob(
            self.backend,
            self.project.root,
            str(self.setup.dataset_name()),
            str(self.setup.family_name()),
            missing,
            device_id,
            self.setup.form.overrides(),
        )
        self.estimate_slot.start(job, metrics=self._on_estimate, finished=self._on_estimate_finished)

    @Slot(list)
    def _on_estimate(self, rows: list) -> None:
        """Remember each answer under what it was asked for; show it if the card still shows that choice."""
        current = self._estimate_keys()
        label = self.device()[1]
        for row in rows:
            key = str(row.get("preset"))
            asked = self._estimate_request.get(key)
            if asked is None:
                continue
            self._estimates[asked] = row
            if current.get(key) == asked:
                self.setup.show_estimate(key, row, label)

    @Slot()
    def _on_estimate_finished(self) -> None:
        self._estimate_request = {}
        if self._estimate_again:
            self.estimate()

    # -- starting -----------------------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Start a new run with the card's choices."""
        dataset, family = self.setup.dataset_name(), self.setup.family_name()
        if not (dataset and family) or not self.setup.start_button.isEnabled():
            return
        model = self.setup.family_title(family)  # "Image GAN (DCGAN)", not the id
        preset = PRESET_TITLES.get(self.setup.preset(), "")
        self._train(
            dataset,
            family,
            self.setup.preset(),
            self.setup.form.overrides(),
            None,
            f"Training {model} on “{dataset}” · {preset}",
        )

    @Slot(dict)
    def resume_run(self, run: dict) -> None:
        """Continue an (interrupted or stopped) run from its last checkpoint."""
        self.resume_banner.hide()
        self._train(
            str(run.get("dataset")),
            str(run.get("family")),
            None,
            None,
            str(run.get("run_id")),
            f"Resuming {run_title(run)} on “{run.get('dataset')}”",
        )

    @Slot(str)
    def resume_from_checkpoint(self, path: str) -> None:
        run = self._run_info(self.run_list.current_run()) or {}
        step = Path(path).stem.replace("step-", "").lstrip("0") or "0"
        self._train(
            str(run.get("dataset")),
            str(run.get("family")),
            None,
            None,
            path,
            f"Resuming {run_title(run)} from step {int(step):,}",
        )

    def _train(
        self, dataset: str, family: str, preset: str | None, overrides: dict | None, resume: str | None, title: str
    ) -> None:
        """Start (or resume) a run in the training slot, and turn the monitor to it."""
        if self.project is None or self.registry is None or self.runner is not None:
            return
        if self.estimate_slot.busy:  # estimates would steal the CPU from the run
            self._estimate_again = False
            self.estimate_slot.cancel()
            self.setup.stop_estimating()
        device_id, label = self.device()
        try:
            job = self.backend.train_job(
                self.project.root, dataset, family, preset or "balanced", overrides, resume, device_id
            )
            self.training_slot.start(
                job,
                title=getattr(job, "title", title),
                kind="training",
                device=getattr(job, "device", None) or device_id,
                progress=self._on_progress,
                metrics=self._on_metrics,
                preview=self._on_preview,
                succeeded=self._on_succeeded,
                failed=self._on_failed,
                cancelled=self._on_cancelled,
                finished=self._on_finished,
            )
        except JobError as exc:  # e.g. another run trains on this device
            self.banner.show_message(str(exc), "error")
            return
        self.job = job
        self.live = {"dataset": dataset, "family": family, "title": title, "run_id": None}
        self.shown_run = None
        self._last_row = {}
        plots = self.ensure_plots()
        plots.clear(LIVE)
        self.samples.clear()
        self.checkpoints.set_checkpoints([], family)
        self.banner.hide()
        self.resume_banner.hide()
        self.head.title.set_full_text(title)
        self.head.reset_figures()
        self.head.set_state(self.head.RUNNING, "starting")
        self.head.say(f"Starting on {label}…")
        self.log_view.start_session(f"{title} on {label}")
        self._update_view()
        self.run_started.emit(title)

    # -- live reports -------------------------------------------------------------------------------------------
    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.head.state == self.head.RUNNING:
            self.head.say(message)
            self.head.set_pill("training")
        self.log_view.progress(message)
        self._notice_run_id()

    @Slot(list)
    def _on_metrics(self, rows: list) -> None:
        points = []
        checkpoint_saved = False
        for row in rows:
            if "event" in row:
                self.log_view.engine_event(row.get("step"), str(row["event"]))
                checkpoint_saved = checkpoint_saved or "checkpoint" in str(row["event"]).lower()
            else:
                points.append(row)
        if points:
            self.ensure_plots().append(points, LIVE)
            self._last_row = points[-1]
            self.head.show_row(self._last_row)
        self._notice_run_id()
        if points and self.live.get("run_id") and isinstance(points[-1].get("step"), int):
            self.run_list.update_run(self.live["run_id"], step=points[-1]["step"])
        if checkpoint_saved:
            self._load_checkpoints((self.live or {}).get("run_id"))

    @Slot(object)
    def _on_preview(self, preview) -> None:
        self.samples.add(preview)

    def _notice_run_id(self) -> None:
        """The engine names the run once its folder exists: list it and select it."""
        if self.live is not None and not self.live.get("run_id"):
            run_id = getattr(self.job, "run_id", None)
            if run_id:
                self.live["run_id"] = str(run_id)
                self.refresh_runs()

    # -- controls -------------------------------------------------------------------------------------------
    @Slot(bool)
    def set_paused(self, pause: bool) -> None:
        if self.runner is None or self.head.state == self.head.STOPPING:
            return
        if pause:
            self.runner.pause()
            self.head.set_state(self.head.PAUSED)
            self.run_list.update_run(str(self.live.get("run_id")), state="paused")
            self.head.say("Paused · checkpoint saved · Space resumes", "paused")
            self.log_view.note("Paused by you; the engine saves a checkpoint and waits.")
            QTimer.singleShot(1500, self._refresh_live_checkpoints)
        else:
            self.runner.resume()
            self.head.set_state(self.head.RUNNING)
            self.run_list.update_run(str(self.live.get("run_id")), state="running")
            self.log_view.note("Resumed.")
        self._update_view()

    @Slot()
    def toggle_pause(self) -> None:
        if self.runner is not None:
            self.set_paused(self.head.state != self.head.PAUSED)

    @Slot()
    def stop(self) -> None:
        if self.runner is None or self.head.state == self.head.STOPPING:
            return
        self.training_slot.cancel()
        self.head.set_state(self.head.STOPPING)
        self.head.say("Stopping: saving a checkpoint first…")
        self.log_view.note("Stop asked; saving a checkpoint, then stopping.")
        self._update_view()

    def _request(self, action: str, words: str) -> None:
        if self.runner is None or self.head.state != self.head.RUNNING:
            return
        request = getattr(self.job, "request", None)
        if request is None:
            self.banner.show_message("This run cannot do that while it trains.", "info")
            return
        request(action)
        self.log_view.note(words)

    @Slot()
    def save_now(self) -> None:
        self._request("checkpoint", "Saving a checkpoint at the next step…")

    @Slot()
    def sample_now(self) -> None:
        self._request("sample", "Making a sample at the next step…")

    # -- the end of a run -----------------------------------------------------------------------------------
    def _step_words(self) -> str:
        step = self._last_row.get("step")
        return f" at step {int(step):,}" if isinstance(step, (int, float)) else ""

    @Slot(object)
    def _on_succeeded(self, result) -> None:
        result = result if isinstance(result, dict) else {}
        if result.get("run_id") and self.live is not None:
            self.live["run_id"] = str(result["run_id"])
        step = result.get("step")
        where = f" after {int(step):,} steps" if isinstance(step, int) else self._step_words()
        target = self.checkpoints.open_button.text().replace("Open in ", "")
        self.head.bar.setValue(1000)
        self.log_view.note(f"Finished{where}.")
        self._ended(
            "finished",
            f"Training finished{where}. Open its last checkpoint in the {target} from the Checkpoints tab.",
            "success",
        )

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.banner.show_message(f"Training stopped with a problem{self._step_words()}. {message}", "error")
        self.log_view.note(f"Failed: {message}")
        self._ended("failed", "Stopped with a problem; see the message above.", "error")

    @Slot()
    def _on_cancelled(self) -> None:
        self.log_view.note(f"Stopped{self._step_words()}.")
        self._ended(
            "stopped",
            f"Stopped{self._step_words()} · checkpoint saved · Resume from here (Checkpoints tab) continues it",
            "",
        )

    def _ended(self, outcome: str, message: str, tone: str) -> None:
        self.head.set_state(self.head.IDLE, outcome)
        self.head.tiles["eta"].set("—")
        self.head.say(message, tone)
        self.run_ended.emit(outcome)

    @Slot()
    def _on_finished(self) -> None:
        run_id = (self.live or {}).get("run_id")
        self.job = None
        if run_id:
            self.shown_run = run_id
            self._history_cache.pop(run_id, None)
        self.live = None
        self._update_view()
        self.refresh_runs()
        self._load_checkpoints(run_id)
        self._schedule_estimate()

    # -- past runs: curves, overlays, checkpoints ----------------------------------------------------------------
    @Slot(str)
    def show_run(self, run_id: str) -> None:
        """Show a past run's curves and checkpoints (read in a job). While a run trains, the plots stay on it."""
        info = self._run_info(run_id) or {}
        self.checkpoints.set_checkpoints([], info.get("family"))
        self._update_compare()
        if self.runner is not None:
            if run_id == (self.live or {}).get("run_id"):
                self._load_checkpoints(run_id)
            else:
                self._load_history([run_id], with_metrics=False)
            return
        if run_id == self.shown_run and self.plots is not None and self.plots.points(LIVE):
            self._load_checkpoints(run_id)
            return
        self.shown_run = run_id
        self.head.title.set_full_text(f"{run_title(info)} on “{info.get('dataset', '?')}”")
        self.head.set_state(self.head.IDLE, run_state(info))
        self.head.reset_figures()
        self.samples.clear()
        self.ensure_plots().clear(LIVE)
        cached = self._history_cache.get(run_id)
        if cached and cached.get("columns") is not None:
            self._show_history(run_id, cached)
        else:
            self._load_history([run_id], with_metrics=True)

    def _load_history(self, run_ids: list[str], with_metrics: bool) -> None:
        folders = {rid: Path(str(self._run_info(rid)["folder"])) for rid in run_ids if self._run_info(rid)}
        if not folders or self.registry is None:
            return
        runner = self.registry.start(HistoryJob(self.backend, folders, with_metrics=with_metrics))
        runner.succeeded.connect(self._on_history)

    def _load_checkpoints(self, run_id: str | None) -> None:
        if run_id and self._run_info(run_id):
            self._load_history([run_id], with_metrics=False)
        elif run_id:  # a brand-new run: list it first, then its checkpoints
            self.refresh_runs()

    @Slot()
    def _refresh_live_checkpoints(self) -> None:
        self._load_checkpoints((self.live or {}).get("run_id"))

    @Slot(object)
    def _on_history(self, result: dict) -> None:
        for run_id, data in (result or {}).items():
            cached = self._history_cache.setdefault(run_id, {})
            if data.get("columns") is not None:
                cached["columns"] = data["columns"]
                cached["previews"] = data.get("previews") or []
            cached["checkpoints"] = data.get("checkpoints", [])
            self._show_history(run_id, cached)
        self.history_loaded.emit(list(result or {}))

    def _show_history(self, run_id: str, data: dict) -> None:
        info = self._run_info(run_id) or {}
        if run_id == self.run_list.current_run():
            self.checkpoints.set_checkpoints(data.get("checkpoints", []), info.get("family"))
        columns = data.get("columns")
        if columns is None or self.plots is None:
            return
        if run_id == self.shown_run and self.runner is None:
            self.plots.add_columns(columns, LIVE, overlay=False)
            self.samples.clear()
            self.samples.add_many(data.get("previews") or [])  # oldest first: the strip shows the newest
            last = {k: float(v[-1]) for k, (_x, v) in columns.items() if len(v)}
            steps = columns.get("loss", next(iter(columns.values()), (None, None)))[0]
            if steps is not None and len(steps):
                last["step"] = int(steps[-1])
            if isinstance(info.get("total_steps"), int):
                last["total_steps"] = info["total_steps"]
            last.pop("eta_s", None)
            self._last_row = last
            self.head.show_row(last)
        if run_id in self.run_list.compared() and run_id != self._main_run():
            self.plots.add_columns(columns, run_id, overlay=True, label=run_title(info))

    def _main_run(self) -> str | None:
        return (self.live or {}).get("run_id") if self.runner is not None else self.shown_run

    @Slot(list)
    def _on_compare_changed(self, run_ids: list) -> None:
        plots = self.ensure_plots()
        wanted = {r for r in run_ids if r != self._main_run()}
        for run_id in plots.run_ids():
            if run_id != LIVE and run_id not in wanted:
                plots.clear(run_id)
        missing = []
        for run_id in wanted:
            cached = self._history_cache.get(run_id)
            if cached and cached.get("columns") is not None:
                label = run_title(self._run_info(run_id) or {})
                plots.add_columns(cached["columns"], run_id, overlay=True, label=label)
            else:
                missing.append(run_id)
        if missing:
            self._load_history(missing, with_metrics=True)

    @Slot(str, str)
    def open_checkpoint(self, panel_id: str, path: str) -> None:
        self.checkpoint_opened.emit(panel_id, path)
        self.navigate.emit(panel_id)

    # -- the comparison board ----------------------------------------------------------------------------------------
    def _update_compare(self) -> None:
        """Offer "Compare checkpoints…" for a run whose model a creation panel opens (it makes something to show)."""
        comparable = bool(families.panel_of((self._run_info(self._compare_target()) or {}).get("family")))
        self.compare_button.setEnabled(comparable)
        self.compare_action.setEnabled(comparable)

    def _compare_target(self) -> str | None:
        """The run "Compare checkpoints…" is for: the one selected in the list, else the one on the monitor."""
        return self.run_list.current_run() or self._main_run()

    @Slot()
    def _compare_current(self) -> None:
        run_id = self._compare_target()
        if run_id:
            self.compare_run(run_id)

    def compare_run(self, run_id: str) -> None:
        """Show the comparison board of ``run_id``'s checkpoints and render it (cached cells at once). Asked before
        the run list holds the run (the window has just opened the project), it opens once the list arrives."""
        info = self._run_info(run_id)
        if info is None:
            self._board_pending = run_id
            self.refresh_runs()
            return
        self._board_pending = None
        spec = families.find(info.get("family"))
        if spec is None or not spec.panel:
            self.banner.show_message(
                f"{run_title(info)} makes nothing the board can show side by side; compare a run of pictures, text "
                "or a voice.",
                "info",
            )
            return
        dialog = self._board()
        if run_id != self.board_run:
            others = [
                r
                for r in self.runs
                if r.get("run_id") != run_id
                and r.get("dataset") == info.get("dataset")
                and families.panel_of(r.get("family")) == spec.panel
            ]
            dialog.view.open_for(info, spec.preview, others)
            self.board_run = run_id
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.render_board()

    def _board(self) -> BoardDialog:
        if self.board_dialog is None:
            self.board_dialog = BoardDialog(self)
            view = self.board_dialog.view
            view.render_requested.connect(self.render_board)
            view.export_requested.connect(self.export_board)
            view.use_requested.connect(self.use_checkpoint)
            view.mark_requested.connect(self.mark_checkpoint)
        return self.board_dialog

    @Slot()
    def render_board(self) -> None:
        """Render the shown board with its settings in the board's job slot (a render still running is cancelled)."""
        if self.board_dialog is None or self.board_run is None or self.project is None or self.registry is None:
            return
        view = self.board_dialog.view
        view.root = self.project.root
        values = view.values()
        run_ids = [self.board_run] + ([view.settings.other_run()] if view.settings.other_run() else [])
        job = BoardJob(
            self.project.root,
            [r for r in run_ids if r],
            values["checkpoints"],
            values["seeds"],
            values["prompts"],
            values["sentences"],
            self.device()[0] or "cpu",
        )
        runner = self.board_slot.start(
            job,
            title=f"Comparing checkpoints of {run_title(self._run_info(self.board_run) or {})}",
            preview=self._on_board_preview,
            succeeded=self._on_board,
            failed=self._on_board_failed,
            cancelled=self._on_board_cancelled,
            finished=self._on_board_finished,
        )
        view.follow(runner, "Rendering the board")

    @Slot(object)
    def _on_board_preview(self, preview) -> None:
        if self.board_dialog is None or not isinstance(preview, dict):
            return
        view = self.board_dialog.view
        if "layout" in preview:
            view.set_layout(preview["layout"], preview.get("chosen") or {}, preview.get("marked") or {})
            steps = (preview.get("steps") or {}).get(self.board_run) or []
            view.set_steps(steps, view.values()["checkpoints"])
            self.board_shown.emit(str(self.board_run))
        elif "cell" in preview:
            view.set_cell(int(preview.get("column", -1)), int(preview.get("row", -1)), dict(preview["cell"]))

    @Slot(object)
    def _on_board(self, board) -> None:
        if self.board_dialog is None or not isinstance(board, dict):
            return
        view = self.board_dialog.view
        view.set_board(board)
        cells = len(board.get("columns") or []) * len(board.get("rows") or [])
        cached, loads = int(board.get("cached_cells") or 0), int(board.get("model_loads") or 0)
        if cached >= cells:
            view.say(f"All {words.count(cells, 'cell')} came from the cache: no model was loaded.", "success")
        else:
            view.say(
                f"Rendered {words.of(cells - cached, cells, 'cell')} ({words.count(loads, 'checkpoint')} loaded, one "
                f"at a time); {cached or 'none'} from the cache.",
                "success",
            )

    @Slot(str)
    def _on_board_failed(self, message: str) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.say(f"The board could not be rendered. {message}", "error")

    @Slot()
    def _on_board_cancelled(self) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.say(
                "Stopped. The cells rendered so far are kept: Render shows them at once and makes the rest."
            )

    @Slot()
    def _on_board_finished(self) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.done()

    @Slot(str, int)
    def use_checkpoint(self, run_id: str, step: int) -> None:
        """Make ``step`` the run's default checkpoint (its meta.json, in a job); the model panels then list again."""
        self._store_note(run_id, "use", step, True)

    @Slot(str, int, bool)
    def mark_checkpoint(self, run_id: str, step: int, on: bool) -> None:
        self._store_note(run_id, "mark", step, on)

    def _store_note(self, run_id: str, what: str, step: int, on: bool) -> None:
        info = self._run_info(run_id)
        if info is None or self.registry is None:
            return
        # every answer is wanted (a mark on one column, then on another): straight through the registry
        runner = self.registry.start(RunNotesJob(Path(str(info["folder"])), run_id, what, step, on))
        runner.succeeded.connect(self._on_note_stored)
        runner.failed.connect(self._on_note_failed)

    @Slot(object)
    def _on_note_stored(self, result: dict) -> None:
        run_id = str(result.get("run_id"))
        if self.board_dialog is not None:
            view = self.board_dialog.view
            view.set_notes(
                {**view.in_use(), run_id: result.get("chosen")},
                {**view.marked(), run_id: list(result.get("marked") or [])},
            )
            if result.get("what") == "use":
                view.say(
                    f"Step {int(result['step']):,} is now the checkpoint the canvas, writer, speech panel and exports "
                    "use for this run.",
                    "success",
                )
        if result.get("what") == "use":
            self.checkpoint_chosen.emit(run_id)

    @Slot(str)
    def _on_note_failed(self, message: str) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.say(f"The choice could not be saved. {message}", "error")

    @Slot()
    def export_board(self) -> None:
        """Save the shown board as one HTML file (the user picks where; written in a job)."""
        if self.board_dialog is None or self.project is None or self.registry is None:
            return
        view = self.board_dialog.view
        if not view.board or not view.filled():
            view.say("Render the board first: the export holds its pictures, texts or clips.", "info")
            return
        path = self.ask_board_html_path(f"{self.board_run or 'board'}-board.html")
        if not path:
            return
        path = Path(path).with_suffix(".html") if not Path(path).suffix else Path(path)
        job = ExportBoardJob(self.project.root, with_marks(view.board, view.marked()), path)
        self.board_export_slot.start(job, succeeded=self._on_board_exported, failed=self._on_board_export_failed)

    def ask_board_html_path(self, name: str) -> str:
        """Ask where to save the board's page (tests replace this)."""
        start = str((self.project.root if self.project else Path.home()) / name)
        parent = self.board_dialog or self
        return QFileDialog.getSaveFileName(parent, "Export the board", start, "Web page (*.html)")[0]

    @Slot(object)
    def _on_board_exported(self, path) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.say(f"Board saved to {path}: it opens in any browser, offline.", "success")

    @Slot(str)
    def _on_board_export_failed(self, message: str) -> None:
        if self.board_dialog is not None:
            self.board_dialog.view.say(f"The board could not be exported. {message}", "error")

    # -- export ----------------------------------------------------------------------------------------------------
    @Slot()
    def export_csv(self) -> None:
        run_id = self._main_run() or self.run_list.current_run()
        info = self._run_info(run_id)
        if info is None or self.registry is None:
            self.banner.show_message("Select a run first: its metrics are what gets exported.", "info")
            return
        path = self.ask_export_path(f"{run_id}-metrics.csv")
        if not path:
            return
        path = Path(path).with_suffix(".csv") if not Path(path).suffix else Path(path)
        runner = self.registry.start(ExportJob(self.backend, Path(str(info["folder"])), path))
        runner.succeeded.connect(self._on_exported)
        runner.failed.connect(self._on_export_failed)

    def ask_export_path(self, name: str) -> str:
        """Ask where to save the CSV (tests replace this)."""
        start = str((self.project.root if self.project else Path.home()) / name)
        return QFileDialog.getSaveFileName(self, "Export metrics", start, "CSV spreadsheet (*.csv)")[0]

    @Slot(object)
    def _on_exported(self, path) -> None:
        self.banner.show_message(f"Metrics saved to {path}.", "success")

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self.banner.show_message(f"The metrics could not be exported. {message}", "error")

    # -- what is enabled and shown ---------------------------------------------------------------------------
    def _update_view(self) -> None:
        project = self.project
        datasets = project.datasets if project else {}
        if project is None:
            self.empty.set_text(
                "Open a project to train",
                "Open or create a project first (File ▸ New Project), then import a dataset in the Dataset panel.",
            )
            self.empty.button.setVisible(False)
            self.stack.setCurrentWidget(self.empty)
        elif not datasets:
            self.empty.set_text(
                "No dataset to train on yet",
                "Import images, copy or recordings in the Dataset panel; then pick a model here and press Start.",
            )
            self.empty.button.setVisible(True)
            self.stack.setCurrentWidget(self.empty)
        elif self.catalog is not None and not self.catalog.get("available", True):
            self.empty.set_text(
                "Training is not available in this build",
                "The training engine could not be found. Reinstall AIGC Studio to get it.",
            )
            self.empty.button.setVisible(False)
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.content)
        training = self.runner is not None
        if self.catalog is None:
            self.setup.set_start_state(False, "Reading the models…")
        elif not self.setup.family_name():
            kind = self.setup.dataset_kind() or "this"
            self.setup.set_start_state(False, f"No model trains on {kind} datasets yet.")
        elif training:
            self.setup.set_start_state(False, "A run is training. Pause or stop it before starting another.")
        else:
            self.setup.set_start_state(True)
        self.setup.set_editable(not training)
        self.checkpoints.set_can_resume(not training, "Stop the running training first" if training else "")
        self.resume_banner.set_can_resume(not training)
        live = training and self.head.state in (self.head.RUNNING, self.head.PAUSED)
        self.actions_["start"].setEnabled(not training)
        self.actions_["pause"].setEnabled(live)
        self.actions_["stop"].setEnabled(live)
        self.actions_["save"].setEnabled(live and self.head.state == self.head.RUNNING)
        self.actions_["sample"].setEnabled(live and self.head.state == self.head.RUNNING)
        self.export_button.setEnabled(bool(self.runs))
        self._update_compare()

    @Slot()
    def _go_to_dataset(self) -> None:
        self.navigate.emit("dataset")

    # -- state ----------------------------------------------------------------------------------------------------
    def save_state(self) -> dict:
        state = {
            "preset": self.setup.preset(),
            "advanced": self.setup.advanced_toggle.isChecked(),
            "tab": TABS[self.tabs.currentIndex()],
            "list_width": int(self.splitter.sizes()[0]),
        }
        if self.plots is not None:
            state["smoothing"] = self.plots.smoothing.value() / 100
            state["log_scale"] = self.plots.log_scale.isChecked()
        else:
            state["smoothing"], state["log_scale"] = self._smoothing, self._log_scale
        for key, value in (("dataset", self.setup.dataset_name()), ("family", self.setup.family_name())):
            if value:
                state[key] = value
        if self._user_chose_for and self._user_chose_for == self.setup.dataset_name():
            state["chosen"] = True  # the model and settings are the user's own: no suggestion replaces them
        overrides = self.setup.form.overrides()
        if overrides:
            state["overrides"] = overrides
        return state

    def restore_state(self, state: dict) -> None:
        state = state or {}
        if state.get("tab") in TABS:
            self.tabs.setCurrentIndex(TABS.index(state["tab"]))
        self.setup.set_advanced_open(bool(state.get("advanced") in (True, "true")))
        with contextlib.suppress(TypeError, ValueError):
            self._smoothing = min(0.99, max(0.0, float(state.get("smoothing", self._smoothing))))
        self._log_scale = state.get("log_scale") in (True, "true")
        if self.plots is not None:
            self.plots.set_smoothing(self._smoothing)
            self.plots.log_scale.setChecked(self._log_scale)
        try:
            width = int(state.get("list_width", 0))
        except (TypeError, ValueError):
            width = 0
        if 300 <= width <= 600:
            self.splitter.setSizes([width, max(500, self.splitter.width() - width)])
        self._pending = {k: state[k] for k in ("dataset", "family", "preset", "overrides", "chosen") if state.get(k)}
        self.setup.select_preset(state.get("preset"), source=RESTORED)
        self.setup.select_dataset(state.get("dataset"))
        if self.catalog is not None:
            self.setup.select_family(state.get("family"))
            if isinstance(state.get("overrides"), dict):
                self.setup.restore_overrides(state["overrides"])
