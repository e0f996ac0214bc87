"""Image canvas: explore what a trained GAN or VAE makes, and take the good ones away.

What the user does here:

* **Controls** (left card): the model (the project's GAN/VAE runs and any starter models) and its checkpoint;
  the grid size (4, 16, 36, 64), the seed (the dice picks a new one and generates), truncation, and the class
  for a model trained on class folders. *Generate* (Ctrl+Return) fills the grid.
* **Grid** (centre): click to select, Ctrl-click or tick the corner box to pick several, arrows move, Enter or a
  double click enlarges (Esc goes back), Space or the star marks a favourite; *Favourites* shows every starred
  image of the project (stars are kept in its gallery, so they outlive the session). Choosing another model or
  checkpoint clears the grid (and its strips): what the centre shows always comes from the model the controls
  name, and Export waits for new pictures.
* **Strips** (under the grid): Variations and Make walk each open a titled strip ("Variations of image 3 ·
  strength 0.30", "Walk through 4 images · 24 frames") and leave the grid as it is; strips stack, newest
  first, scroll, and close with their ✕. A variation in a strip is selected, starred, enlarged, exported and
  varied like a grid image. Selecting happens in one row at a time (the grid or one strip): picking images
  for a walk or an export picks them in the row clicked last.
* **Details** (right tabs): *Image* — the selected picture large, its settings, Variations (nearby latents,
  with a strength), Export PNG (sizes listed in pixels, "128 × 128 px (×4)", nearest or Lanczos, settings
  embedded; Ctrl+E); *Walk* — a latent walk through the picked images (frames per step, easing, loop) playing
  in the panel; "Export GIF…" (there or on its strip) asks for the size (×1–×8, shown in pixels) and frames per
  step, then writes the looping GIF; *Compare* — "Open PNG…" regenerates an exported picture from its embedded
  settings and says whether every pixel matches, and a VAE's reconstruction of a dropped picture (two dropped
  pictures make a morph); *History* — every picture of every grid and variations strip, kept in the project's
  gallery with its settings (:class:`~studio.ui.widgets.common.gallery_history.GalleryHistory`: search, filter by
  run, favourites, export, delete with Edit ▸ Undo); *Reopen* makes one again and compares it with the kept one
  in the Compare tab.

Two modes take the grid's place in the centre, each in its own file (the panel only wires them):

* **Transfer** — for a style-transfer model (the model list's ``makes`` is "transfer"): pictures dropped or opened
  beside their versions in the other style, export, and *Convert folder…* with its progress across the panel
  (:mod:`studio.ui.widgets.canvas.transfer`). The grid's settings are greyed: such a model fills no grid.
* **Attributes** — the work bar's *Attributes* button, shown for a model whose family trains a sparse code: a
  slider and a strip of pictures per most-used latent number, editing the selected picture or a dropped one
  (:mod:`studio.ui.widgets.canvas.attributes`). *Generate* or the button again brings the grid back.

Numbers are one-based everywhere a person reads them: the details say "Image 3", a strip says "image 3", and
that picture's file is ``…-s42-03.png`` (the core's ``default_name``).

Rules this panel keeps (ARCHITECTURE.md): no ML and no torch here. Every generation is a job started through
the window's registry via :mod:`studio.ui.backends.canvas`; results arrive as numpy ``uint8`` arrays and
become QImages here. Each purpose — listing models, the grid, variations, the walk, its export, the PNG export,
the Compare tab — has its own job slot: a new request cancels that purpose's stale one, whose late result never arrives.
The progress line follows the job started last. Job signals go to this object's slots.
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.datasets.images import picture_suffixes
from studio.core.gallery.record import RecordImages
from studio.core.project import Project
from studio.ui import theme
from studio.ui.backends.canvas import CanvasBackend, ModelsJob
from studio.ui.backends.gallery import FavouritePictures, ReopenPicture
from studio.ui.panels.creation import NO_CHECKPOINT, ModelListPanel
from studio.ui.widgets.canvas.attributes import AttributesPane, offers_sliders, toggle_style_sheet
from studio.ui.widgets.canvas.controls import GRID_SIZES, CanvasControls
from studio.ui.widgets.canvas.grid import CanvasGrid, describe_settings, last_variation, settings_key
from studio.ui.widgets.canvas.strips import CanvasStrip, StripStack
from studio.ui.widgets.canvas.transfer import TransferPane, is_transfer_model
from studio.ui.widgets.canvas.viewer import ComparePane, DetailsPane, EnlargedView, to_qimage
from studio.ui.widgets.canvas.walk import WalkPane
from studio.ui.widgets.canvas.walk_export import WALK_SCALES, WalkExportDialog, walk_frames
from studio.ui.widgets.common.drop_overlay import DropOverlay
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.model_picker import model_title

log = logging.getLogger(__name__)

TABS = ("image", "walk", "compare", "history")
VARIATIONS = 16
MORPH_FRAMES = 24


def picture_filter() -> str:
    """The file dialog's filter: every picture format the dataset importer accepts (one list, in core)."""
    return "Pictures (" + " ".join(f"*{suffix}" for suffix in sorted(picture_suffixes())) + ")"


def _columns(count: int) -> int:
    """A square-ish grid: 4 → 2 columns, 16 → 4, 36 → 6, 64 → 8; 5 favourites → 3."""
    return max(1, math.ceil(count**0.5))


def _image_name(settings: dict) -> str:
    """How the canvas names a picture in a title: "image 3", "image 3, variation 5" (one-based, as the details
    pane and the exported file names count)."""
    name = f"image {int(settings.get('latent_index', 0)) + 1}"
    variation = last_variation(settings)
    if variation is not None:
        name += f", variation {int(variation.get('index', 0)) + 1}"
    return name


def _tiles(result: dict) -> list[dict]:
    """A job's {"images": (N,R,R,3) uint8, "settings": [...]} → tiles (QImage made once, pixels kept for export)."""
    images = np.asarray(result.get("images"))
    return [
        {"image": to_qimage(images[i]), "pixels": images[i], "settings": dict(s)}
        for i, s in enumerate(result.get("settings") or [])
    ]


class ImageCanvasPanel(ModelListPanel):
    panel_id = "image"
    title = "Image canvas"
    subtitle = "Generate grids, explore seeds and latent walks, and export what your image model makes."
    icon_name = "image"
    LIST_MODELS = ModelsJob
    MODELS = "image models"
    GENERATION = "Image generation"
    NO_PROJECT = (
        "Open a project to generate images",
        "Open or create a project (File ▸ New Project), train a GAN or VAE on your images, and explore what it "
        "makes here.",
    )
    NO_MODELS = (
        "No image model trained yet",
        "Train a GAN or a VAE on an image dataset in the Training panel. As soon as it saves a checkpoint, it "
        "appears here, ready to generate.",
    )

    generated = Signal(int)  # tiles shown after a grid job
    strip_opened = Signal(object)  # the CanvasStrip a variations or walk job opened under the grid
    walk_ready = Signal(int)  # a walk's frames are made (previewed, not written yet)
    walk_exported = Signal(str)  # the GIF a walk export wrote
    exported = Signal(list)  # paths written
    compared = Signal(dict)  # the Compare tab's result ("identical" for Open PNG)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.backend = CanvasBackend()
        self.favourites: dict[str, dict] = {}  # key -> tile: the starred images (the project's gallery keeps them)
        self._gallery_ids: dict[str, str] = {}  # key -> gallery item id of each kept picture
        self._star_later: dict[str, bool] = {}  # stars given to pictures the gallery is still keeping
        self.showing_favourites = False
        self.grid_title = ""
        self._tiles: list[dict] = []  # the last grid (the Favourites filter shows another list)
        self._pick_order: list[str] = []  # keys of picked tiles, in the order they were picked
        self._png_settings: dict | None = None  # what the last "Open PNG…" read
        self._select_after: int | None = None  # the latent to select when the next grid arrives
        self._model_key: tuple | None = None  # (run, step) the controls named last: another one clears the grid
        self._walk_shown: CanvasStrip | None = None  # the walk strip the Walk tab plays
        self.walk_dialog: WalkExportDialog | None = None  # open while the user chooses how to export a walk
        self._walk_export = {"scale": 4, "resample": "nearest"}  # the dialog's last choice
        self._walk_recipe: dict = {}  # the walk being made: what its strip's export needs
        self._exporting: dict = {}  # the walk the export dialog is about
        self._export_words = ""  # "48 frames, 128 × 128 px": the banner after a walk export
        self._variations_of: tuple[dict, float] = ({}, 0.0)  # the image being varied, and the strength
        # models_slot and generate_slot (the grid) come with ModelListPanel
        self.variations_slot = self.job_slot()
        self.walk_slot = self.job_slot()
        self.walk_export_slot = self.job_slot()
        self.export_slot = self.job_slot()
        self.compare_slot = self.job_slot()  # Open PNG, reconstruction, morph, reopening a kept picture
        self.favourites_slot = self.job_slot()  # the project's starred pictures, read from the gallery

        self.empty = EmptyState("Open a project to generate images", "", action="Go to Training")
        self.empty.action_triggered.connect(self._go_to_training)
        self.content = self._build_content()
        self.body.addWidget(self.transfer.strip)  # a folder conversion's progress, across the panel (Dataset's way)
        self.stack = self.add_scrolling_stack("canvasOuterScroll", self.empty, self.content)
        self.overlay = DropOverlay(self)
        self.overlay.title.setText("Drop to reconstruct")
        self._build_shortcuts()
        self._route_drops_to_panel()
        self.set_project(None)

    # -- construction -------------------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        self.controls = CanvasControls()
        self.controls.generate_requested.connect(self.generate)
        self.controls.model_changed.connect(self._on_model_changed)
        self.controls.open_png_requested.connect(self.open_png)
        self.controls.open_image_requested.connect(self.open_images)
        # the card's own minimum width plus its margin: never clipped
        scroll = self.controls_column(self.controls, "canvas", min_width=310)

        # centre: what the grid shows, favourites filter, progress; then the grid (or the enlarged image)
        self.grid_label = QLabel(objectName="columnTitle")
        self.favourites_button = QPushButton("★ Favourites", objectName="favouritesFilter")
        self.favourites_button.setCheckable(True)
        self.favourites_button.setToolTip("Show only the images you starred (Space or the star on a tile)")
        self.favourites_button.toggled.connect(self.set_favourites_filter)
        self.attributes_button = QPushButton("Attributes", objectName="attributesToggle")
        self.attributes_button.setCheckable(True)
        self.attributes_button.setToolTip(
            "Sliders for the latent numbers this model uses most, each with what moving it does; edits the "
            "selected picture (or one you drop). Click again for the grid."
        )
        self.attributes_button.toggled.connect(self.set_attributes_mode)
        self.attributes_button.setVisible(False)
        self._style_attributes_button()
        theme.signals.changed.connect(self._style_attributes_button)
        bar = self.work_bar(self.grid_label, self.attributes_button, self.favourites_button)

        self.grid = CanvasGrid()
        self.active: CanvasGrid = self.grid  # the row (grid or strip) the user acts on: clicked or tabbed last
        self._watch_view(self.grid)
        self.grid_empty = EmptyState("Press Generate", "", action="Go to Training")
        self.grid_empty.action_triggered.connect(self._go_to_training)
        self.enlarged = EnlargedView()
        self.enlarged.back_requested.connect(self.back_to_grid)
        # the centre for a style-transfer model, and the attribute sliders of a sparse model (their own files)
        self.transfer = TransferPane(self.job_slot)
        self.transfer.transferred.connect(self._keep)
        self.transfer.message.connect(self.banner.show_message)
        self.attributes = AttributesPane(self.job_slot)
        self.attributes.message.connect(self.banner.show_message)
        self.centre = QStackedWidget()
        for page in (self.grid_empty, self.grid, self.enlarged, self.transfer, self.attributes):
            self.centre.addWidget(page)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(16, 0, 16, 0)
        centre_layout.setSpacing(8)
        self.strips = StripStack()
        self.strips.changed.connect(self._on_strips_changed)
        self.centre_split = QSplitter(Qt.Orientation.Vertical, objectName="canvasCentreSplit")
        self.centre_split.setChildrenCollapsible(False)
        self.centre_split.addWidget(self.centre)
        self.centre_split.addWidget(self.strips)
        self.centre_split.setStretchFactor(0, 3)
        self.centre_split.setStretchFactor(1, 2)
        centre_layout.addLayout(bar)
        centre_layout.addWidget(self.centre_split, 1)
        centre.setMinimumWidth(360)

        # right: the selected image, the walk, the comparison
        self.details = DetailsPane()
        self.details.favourite_toggled.connect(self.toggle_favourite)
        self.details.variations_requested.connect(self.make_variations)
        self.details.export_requested.connect(self.export_selected)
        self.details.enlarge_requested.connect(self.enlarge_current)
        self.walk = WalkPane()
        self.walk.walk_requested.connect(self.make_walk)
        self.walk.export_requested.connect(self.export_shown_walk)
        self.compare = ComparePane()
        self.compare.use_requested.connect(self.use_png_settings)
        self.history = self.make_history()
        self.history.recorded.connect(self._on_recorded)
        self.history.stored.connect(self._on_gallery_stored)
        self.tabs = self.side_tabs(
            ((self.details, "Image"), (self.walk, "Walk"), (self.compare, "Compare"), (self.history, "History")), 270
        )
        # Four tabs in the 280 px column with a little less padding than the theme's: a wider column would take
        # the width the 64-picture grid needs for 8 columns at 1280 × 800.
        self.tabs.tabBar().setStyleSheet("QTabBar::tab { padding-left: 10px; padding-right: 10px; }")

        self.splitter = self.three_columns(scroll, centre, self.tabs, [310, 680, 280])
        return self.splitter

    def _build_shortcuts(self) -> None:
        self.actions_ = self.add_shortcuts(
            (
                *self.run_keys("generate", self.generate),
                ("export", "Ctrl+E", self.export_selected),
                ("favourite", "Space", self.toggle_favourite),
                ("back", "Esc", self.back_to_grid),
            )
        )

    # -- project, model list ------------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        for slot in (self.generate_slot, self.variations_slot, self.walk_slot, self.compare_slot):
            slot.discard()  # their results belong to the old project
        super().set_project(project)
        self.models = None
        self.favourites = {}
        self._gallery_ids, self._star_later = {}, {}
        self._model_key = None
        self._tiles = []
        self.strips.clear()
        self._show_tiles([], "")
        self.controls.set_models([])
        self.compare.clear()
        self.transfer.clear()
        self.history.set_project(project.root if project else None)
        self.refresh_models()
        self.load_favourites()
        self._update_view()

    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        if self.project is not None:
            self.history.refresh()
            self.load_favourites()

    @Slot(object)
    def _on_models(self, result: dict) -> None:
        self.available = bool(result.get("available", True))
        self.models = list(result.get("models") or [])
        self.history.set_run_names({str(m["run_id"]): model_title(m) for m in self.models})
        self.controls.set_models(self.models)
        pending = self._pending
        if pending.get("run"):
            self.controls.select(pending["run"], pending.get("step"))
            if pending.get("class"):
                self.controls.set_class(pending["class"])
        self._pending = {}
        self._update_view()

    @Slot(str, str)
    def open_checkpoint(self, panel_id: str, path: str) -> None:
        """The Training panel's "Open in canvas": select that run and checkpoint (listing runs again first,
        since the run may be newer than the list)."""
        if panel_id != self.panel_id or not path:
            return
        run_id, step = self.checkpoint_run(path)
        if self.models and self.controls.select(run_id, step) and self.controls.step() == step:
            self._on_model_changed()
        self._pending = {"run": run_id, "step": step}
        self.refresh_models()

    # -- generating -----------------------------------------------------------------------------------------------
    def _model_args(self) -> tuple[str, int | None] | None:
        info = self.controls.info()
        if info is None or not info.get("steps"):
            return None
        return str(info["folder"]), self.controls.step()

    def _run_in(self, slot, job, done, failed=None) -> None:
        """Start ``job`` in ``slot`` (the slot's stale request is cancelled); the progress line follows it."""
        self.start_job(
            slot,
            job,
            words=self._progress_words,
            succeeded=done,
            failed=failed or self._on_job_failed,
            finished=self._update_view,
        )
        self._update_view()

    def _progress_words(self, _fraction: float, message: str) -> str:
        return f"{self.progress_line.title}: {message}" if message else ""

    @Slot()
    def generate(self) -> None:
        if not self.controls.generate_button.isEnabled():
            return
        args = self._model_args()
        if args is None or self.registry is None:
            return
        self.favourites_button.setChecked(False)
        self.attributes_button.setChecked(False)  # Generate shows the grid it fills
        job = self.backend.grid_job(
            args[0],
            args[1],
            self.controls.seed.value(),
            self.controls.count(),
            self.controls.truncation_value_(),
            self.controls.class_name(),
        )
        self._run_in(self.generate_slot, job, self._on_grid)

    @Slot(object)
    def _on_grid(self, result: dict) -> None:
        tiles = _tiles(result)
        self.favourites_button.setChecked(False)
        self._tiles = tiles
        self._show_tiles(tiles, self._grid_title_for(tiles))
        self._set_active(self.grid)
        wanted, self._select_after = self._select_after, None
        row = next((r for r, t in enumerate(tiles) if t["settings"].get("latent_index") == wanted), None)
        if row is not None:
            self.grid.select_row(row)
        self.grid.setFocus()
        self._keep(result)
        self.generated.emit(len(tiles))

    @Slot()
    def make_variations(self) -> None:
        tile = self.current_tile()
        args = self._model_args()
        if tile is None or args is None or self.registry is None or not self._from_current_model(tile):
            return
        strength = self.details.strength.value() / 100
        seed = int(hashlib.sha256(settings_key(tile["settings"]).encode()).hexdigest()[:8], 16) % 1_000_000
        job = self.backend.variations_job(args[0], args[1], tile["settings"], strength, VARIATIONS, seed)
        self._variations_of = (dict(tile["settings"]), strength)
        self._run_in(self.variations_slot, job, self._on_variations)

    @Slot(object)
    def _on_variations(self, result: dict) -> None:
        """A strip under the grid: the image itself first, then its variations (the grid stays as it was)."""
        tiles = _tiles(result)
        if not tiles:
            return
        images = np.asarray(result.get("images"))  # the first is the image itself, kept with its grid already
        self._keep({**result, "images": images[1:], "settings": list(result.get("settings") or [])[1:]})
        base, strength = self._variations_of
        title = f"Variations of {_image_name(base)} · strength {strength:.2f}"
        strip = CanvasStrip.variations(title, tiles, f"First: the image itself ({describe_settings(base)})")
        self._add_strip(strip)
        self._watch_view(strip.grid)
        strip.grid.model_.set_favourites(set(self.favourites))
        self._set_active(strip.grid)
        strip.grid.setFocus()
        self.strip_opened.emit(strip)

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self.banner.show_message(message, "error")

    # -- the grid and its strips: one active row ----------------------------------------------------------------
    def _watch_view(self, view: CanvasGrid) -> None:
        """Route a row's clicks, keys and selection to the panel (the grid's, and each variations strip's)."""
        view.became_active.connect(self._on_view_activated)
        view.favourite_clicked.connect(self._on_star_clicked)
        view.enlarge_requested.connect(self.enlarge)
        view.selectionModel().currentChanged.connect(self._on_current)
        view.selectionModel().selectionChanged.connect(self._on_selection)

    def views(self) -> list[CanvasGrid]:
        """The grid, then every variations strip's row."""
        return [self.grid, *(s.grid for s in self.strips.strips() if s.grid is not None)]

    @Slot(object)
    def _on_view_activated(self, view: CanvasGrid) -> None:
        self._set_active(view)

    def _set_active(self, view: CanvasGrid) -> None:
        """Act on ``view`` from now on. The other rows lose their selection: one selection at a time keeps
        "Export 3 PNG…" and a walk's picks unambiguous (the order of picks is per row)."""
        if view is self.active:
            return
        self.active = view
        self._pick_order = []
        for other in self.views():
            if other is not view and other.selectionModel().hasSelection():
                other.selectionModel().clearSelection()
                other.viewport().update()
        self._on_current()
        self._on_selection()

    def _show_tiles(self, tiles: list[dict], title: str) -> None:
        self.grid_title = title
        if self.active is self.grid:
            self._pick_order = []
        self.grid.set_tiles(tiles, _columns(max(4, len(tiles))))
        self.grid.model_.set_favourites(set(self.favourites))
        self.grid_label.setText(title)
        if self.centre.currentWidget() is self.enlarged:
            self.back_to_grid()
        self._on_current()
        self._on_selection()
        self._update_view()

    def current_tile(self) -> dict | None:
        row = self.active.current_row()
        tiles = self.active.tiles()
        return tiles[row] if 0 <= row < len(tiles) else None

    def picked_tiles(self) -> list[dict]:
        """The picked images of the active row, in the order they were picked (the walk's order)."""
        by_key = {t["key"]: t for t in self.active.tiles()}
        return [by_key[k] for k in self._pick_order if k in by_key]

    def _acted_rows(self) -> list[int]:
        """What Export and Space act on: the picked rows of the active row, else its current one."""
        view = self.active
        return view.selected_rows() or ([view.current_row()] if view.current_row() >= 0 else [])

    def _model_title(self, settings: dict) -> str:
        info = next((m for m in self.models or [] if m["run_id"] == settings.get("run_id")), None)
        return model_title(info) if info else str(settings.get("run_id", ""))

    @Slot()
    def _on_current(self, *_args) -> None:
        tile = self.current_tile()
        self.details.show_tile(
            tile, self._model_title(tile["settings"]) if tile else "", bool(tile and tile["key"] in self.favourites)
        )
        self._name_export_sizes(tile)
        self._update_buttons()

    def _name_export_sizes(self, tile: dict | None) -> None:
        """The export list says pixels: the picture's own size, else the chosen model's resolution."""
        if tile is not None:
            height, width = np.asarray(tile["pixels"]).shape[:2]
        else:
            width = height = int((self.controls.info() or {}).get("resolution") or 0)
        self.details.set_picture_size(width, height)

    @Slot()
    def _on_selection(self, *_args) -> None:
        tiles = self.active.tiles()
        keys = [tiles[r]["key"] for r in self.active.selected_rows() if r < len(tiles)]
        self._pick_order = [k for k in self._pick_order if k in keys] + [k for k in keys if k not in self._pick_order]
        self.active.viewport().update()
        self._update_buttons()

    @Slot(int)
    def _on_star_clicked(self, row: int) -> None:
        self._toggle_favourite_rows([row])

    @Slot()
    def toggle_favourite(self) -> None:
        """Space / the star button: star or unstar the picked images (or the current one) of the active row."""
        if self.active is self.grid and self.centre.currentWidget() is self.grid_empty:
            return
        self._toggle_favourite_rows(self._acted_rows())

    def _toggle_favourite_rows(self, rows: list[int]) -> None:
        tiles = [self.active.tiles()[r] for r in rows if 0 <= r < len(self.active.tiles())]
        if not tiles:
            return
        star = not all(t["key"] in self.favourites for t in tiles)
        for tile in tiles:
            if star:
                self.favourites[tile["key"]] = {k: v for k, v in tile.items() if k != "key"}
            else:
                self.favourites.pop(tile["key"], None)
        self._store_stars([t["key"] for t in tiles], star)
        self._show_stars(refilter=not star)

    def _show_stars(self, refilter: bool = True) -> None:
        """The stars as :attr:`favourites` holds them, on every row, the details and the Favourites button."""
        if self.showing_favourites and refilter:
            self._show_favourites()
        for view in self.views():
            view.model_.set_favourites(set(self.favourites))
        self._on_current()
        count = len(self.favourites)
        self.favourites_button.setText(f"★ Favourites ({count})" if count else "★ Favourites")
        self._update_buttons()

    @Slot(bool)
    def set_favourites_filter(self, on: bool) -> None:
        self.showing_favourites = on
        if on:
            self._show_favourites()
        else:
            self._show_tiles(self._tiles, self._grid_title_for(self._tiles))
        self._set_active(self.grid)

    def _show_favourites(self) -> None:
        tiles = list(self.favourites.values())
        self._show_tiles(tiles, f"Favourites · {len(tiles)}")

    @staticmethod
    def _grid_title_for(tiles: list[dict]) -> str:
        if not tiles:
            return ""
        return f"{words.count(len(tiles), 'image')} · seed {tiles[0]['settings'].get('seed')}"

    @Slot(int)
    def enlarge(self, row: int) -> None:
        tiles = self.active.tiles()
        if not 0 <= row < len(tiles):
            return
        self.enlarged.show_tile(tiles[row], self._model_title(tiles[row]["settings"]))
        self.centre.setCurrentWidget(self.enlarged)
        self.enlarged.setFocus()
        self._update_buttons()

    @Slot()
    def enlarge_current(self) -> None:
        self.enlarge(self.active.current_row())

    @Slot()
    def back_to_grid(self) -> None:
        if self.centre.currentWidget() is self.enlarged:
            self.centre.setCurrentWidget(self.grid)
            self.active.setFocus()
        self._update_buttons()

    # -- strips ----------------------------------------------------------------------------------------------------
    def _add_strip(self, strip: CanvasStrip) -> None:
        first = not self.strips.strips()
        strip.close_requested.connect(self.close_strip)
        strip.export_requested.connect(self.export_walk)
        strip.play_requested.connect(self.play_walk)
        self.strips.add(strip)
        if first:  # the grid keeps most of the height; the strips scroll in the rest
            total = sum(self.centre_split.sizes()) or self.centre_split.height()
            self.centre_split.setSizes([max(200, total * 3 // 5), max(150, total * 2 // 5)])

    @Slot(object)
    def close_strip(self, strip: CanvasStrip) -> None:
        if strip.grid is not None and strip.grid is self.active:
            self._set_active(self.grid)
        if strip is self._walk_shown:
            self._walk_shown = None
            self.walk.show_frames([], "", "")
        self.strips.remove(strip)

    @Slot()
    def _on_strips_changed(self) -> None:
        self._update_buttons()

    def _clear_results(self) -> None:
        """Another model or checkpoint: the grid, its strips and the walk belong to the old one. Jobs still making
        them are dropped (their results would come back under the new model's name); favourites stay."""
        for slot in (self.generate_slot, self.variations_slot, self.walk_slot):
            slot.discard()
        self._tiles = []
        self._set_active(self.grid)
        if self._walk_shown is not None:
            self._walk_shown = None
            self.walk.show_frames([], "", "")
        self.strips.clear()
        if not self.showing_favourites:
            self._show_tiles([], "")

    # -- the gallery: every picture kept, stars kept, reopening ------------------------------------------------
    def _keep(self, result: dict) -> None:
        """Keep a job's pictures in the project's gallery, quietly (a failure says so in the banner; the pictures
        on screen stay either way)."""
        if self.project is not None and len(result.get("settings") or []):
            self.history.record(RecordImages(self.project.root, result))

    @Slot(dict)
    def _on_recorded(self, result: dict) -> None:
        """The gallery kept pictures: remember their ids, and store the stars given to them meanwhile."""
        later: dict[bool, list[str]] = {True: [], False: []}
        for item in result.get("items") or []:
            key = settings_key(item.get("settings") or {})
            self._gallery_ids[key] = str(item["id"])
            if key in self._star_later:
                later[self._star_later.pop(key)].append(str(item["id"]))
        for on, ids in later.items():
            if ids:
                self.history.set_favourite(ids, on)

    def _store_stars(self, keys: list[str], on: bool) -> None:
        ids = [self._gallery_ids[k] for k in keys if k in self._gallery_ids]
        self._star_later.update({k: on for k in keys if k not in self._gallery_ids})
        if ids:
            self.history.set_favourite(ids, on)

    @Slot(str)
    def _on_gallery_stored(self, change: str) -> None:
        """A star, a delete or an undo reached the gallery (from a tile or from the History): read the starred
        pictures again, so the stars and Favourites show what the project keeps."""
        if change in ("favourite", "delete", "restore"):
            self.load_favourites()

    def load_favourites(self) -> None:
        if self.project is not None and self.registry is not None:
            self.favourites_slot.start(FavouritePictures(self.project.root), succeeded=self._on_favourites)

    @Slot(object)
    def _on_favourites(self, found: list) -> None:
        """The project's starred pictures, as tiles. Stars still waiting for their picture to be kept stay."""
        if self.history.writing():
            return  # a star is still on its way to the store: its write ends in another reading
        kept: dict[str, dict] = {}
        for entry in found or []:
            settings = dict(entry["item"].get("settings") or {})
            key = settings_key(settings)
            self._gallery_ids.setdefault(key, str(entry["item"]["id"]))
            pixels = np.asarray(entry["pixels"])
            kept[key] = {"image": to_qimage(pixels), "pixels": pixels, "settings": settings}
        for key, on in self._star_later.items():
            if on and key in self.favourites:
                kept[key] = self.favourites[key]
        unchanged = set(kept) == set(self.favourites)
        self.favourites = kept
        self._show_stars(refilter=not unchanged)

    @Slot(dict)
    def reopen_item(self, item: dict) -> None:
        """The History's Reopen: make the kept picture again from its settings and compare the two."""
        if self.project is None or self.registry is None or not item.get("id"):
            return
        if (item.get("settings") or {}).get("source") == "transfer":
            self.banner.show_message(
                "A transferred picture is made from one of your pictures: pick its model and drop that picture "
                "on the canvas again to transfer it once more. The kept copy is in the History.",
                "info",
            )
            return
        self.tabs.setCurrentWidget(self.compare)
        job = ReopenPicture(self.project.root, str(item["id"]), getattr(self.backend, "device", "cpu"))
        self._run_in(self.compare_slot, job, self._on_reopened, self._on_compare_failed)

    @Slot(object)
    def _on_reopened(self, result: dict) -> None:
        item = dict(result.get("item") or {})
        settings = dict(item.get("settings") or {})
        again = np.asarray(result["image"])
        kept = result.get("original")
        identical = bool(result.get("identical"))
        if identical:
            verdict, tone = "Identical: every pixel matches the kept picture.", "success"
        else:
            verdict = (
                "Different from the kept picture: the run or its checkpoint may have changed since it was made, "
                "or this computer rounds differently."
            )
            tone = "error"
        self._png_settings = settings
        self.compare.show_pair(
            f"Made again: {item.get('title') or _image_name(settings)}",
            to_qimage(np.asarray(kept)) if kept is not None else to_qimage(again),
            "As kept" if kept is not None else "The kept file is missing",
            to_qimage(again),
            "Made again now",
            verdict,
            tone,
            f"{self._model_title(settings)} · step {settings.get('step', '?')} · {describe_settings(settings)}",
            usable="latent_index" in settings,
        )
        self.tabs.setCurrentWidget(self.compare)
        self.compared.emit({"kind": "gallery", "identical": identical, "settings": settings, "id": item.get("id")})

    # -- walk ----------------------------------------------------------------------------------------------------
    def _output_folder(self, name: str) -> Path:
        root = self.project.root if self.project else Path.home()
        return root / "outputs" / name

    @Slot()
    def make_walk(self) -> None:
        picked = self.picked_tiles()
        args = self._model_args()
        if (
            len(picked) < 2
            or args is None
            or self.registry is None
            or not all(self._from_current_model(t) for t in picked)
        ):
            return
        options = self.walk.options()
        settings = [dict(t["settings"]) for t in picked]
        height, width = np.asarray(picked[0]["pixels"]).shape[:2]
        self._walk_recipe = {
            "folder": args[0],
            "step": args[1],
            "settings": settings,
            **options,
            "points": len(picked),
            "size": (width, height),
            "run_id": str(settings[0].get("run_id", "model")),
            "digest": hashlib.sha256("/".join(t["key"] for t in picked).encode()).hexdigest()[:8],
        }
        job = self.backend.walk_job(
            args[0],
            args[1],
            settings,
            options["frames_per_step"],
            options["easing"],
            options["loop"],
            options["fps"],
            None,  # a preview: the GIF is written by "Export GIF…", at the size the user picks
        )
        self.tabs.setCurrentWidget(self.walk)
        self._run_in(self.walk_slot, job, self._on_walk)

    @Slot(object)
    def _on_walk(self, result: dict) -> None:
        frames = [to_qimage(f) for f in np.asarray(result["frames"])]
        recipe = dict(self._walk_recipe)
        title = f"Walk through {words.count(recipe['points'], 'image')} · {words.count(len(frames), 'frame')}"
        strip = CanvasStrip.walk(title, frames, recipe)
        self._add_strip(strip)
        self.play_walk(strip)
        self.walk_ready.emit(len(frames))
        self.strip_opened.emit(strip)

    @Slot(object)
    def play_walk(self, strip: CanvasStrip) -> None:
        """Play a walk strip's frames in the Walk tab (its Export GIF… then exports that walk)."""
        if strip.frames is None:
            return
        self._walk_shown = strip
        self.walk.show_frames(
            list(strip.frames.model_.frames),
            "",
            f"{strip.title.full_text()}. Export GIF… saves it at the size you choose.",
            exportable=True,
        )
        self.tabs.setCurrentWidget(self.walk)

    @Slot()
    def export_shown_walk(self) -> None:
        if self._walk_shown is not None:
            self.export_walk(self._walk_shown)

    @Slot(object)
    def export_walk(self, strip: CanvasStrip) -> None:
        """Ask how to export the walk (size, scaling, frames per step), then where; then write the GIF."""
        recipe = strip.data
        if not recipe or self.registry is None:
            return
        if self.walk_dialog is not None:
            self.walk_dialog.reject()
        width, height = recipe["size"]
        dialog = WalkExportDialog(
            width,
            height,
            recipe["points"],
            recipe["frames_per_step"],
            recipe["loop"],
            recipe["fps"],
            self._walk_export["scale"],
            self._walk_export["resample"],
            self,
        )
        dialog.finished.connect(self._on_walk_dialog_finished)
        self.walk_dialog = dialog
        self._exporting = recipe
        dialog.open()

    @Slot(int)
    def _on_walk_dialog_finished(self, result: int) -> None:
        dialog, self.walk_dialog = self.walk_dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result != QDialog.DialogCode.Accepted:
            return
        options = dialog.options()
        self._walk_export = {"scale": options["scale"], "resample": options["resample"]}
        recipe = self._exporting
        width, height = recipe["size"]
        scale = options["scale"]
        default = self._output_folder("walks") / f"walk-{recipe['run_id']}-{recipe['digest']}-x{scale}.gif"
        path = self.ask_walk_path(default)
        if not path:
            return
        target = Path(path) if Path(path).suffix.lower() == ".gif" else Path(path).with_suffix(".gif")
        frames = walk_frames(recipe["points"], options["frames_per_step"], recipe["loop"])
        self._export_words = f"{words.count(frames, 'frame')}, {width * scale} × {height * scale} px"
        job = self.backend.walk_job(
            recipe["folder"],
            recipe["step"],
            recipe["settings"],
            options["frames_per_step"],
            recipe["easing"],
            recipe["loop"],
            recipe["fps"],
            target,
            scale,
            options["resample"],
        )
        self._run_in(self.walk_export_slot, job, self._on_walk_exported)

    def ask_walk_path(self, default: Path) -> str:
        """Where the GIF goes (tests replace this). Starts in the project's outputs/walks folder."""
        default.parent.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getSaveFileName(self, "Export walk as GIF", str(default), "GIF animations (*.gif)")[0]

    @Slot(object)
    def _on_walk_exported(self, result: dict) -> None:
        gif = str(result.get("gif") or "")
        self.banner.show_message(
            f"Walk saved as {Path(gif).name} ({self._export_words}) in {Path(gif).parent}.", "success"
        )
        self.walk_exported.emit(gif)

    # -- export --------------------------------------------------------------------------------------------------
    def ask_export_folder(self) -> str:
        """Where PNG files go (tests replace this). Starts in the project's outputs/images folder."""
        start = self._output_folder("images")
        start.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getExistingDirectory(self, "Export PNG files to", str(start))

    @Slot()
    def export_selected(self) -> None:
        """Ctrl+E and the Image tab's Export: the picked grid pictures; in Transfer or the sliders, what they show."""
        mode = self._centre_mode(self.controls.info())
        if mode == "transfer":
            self.transfer.export_results()
            return
        if mode == "attributes":
            self.attributes.export()
            return
        tiles = [self.active.tiles()[r] for r in self._acted_rows() if 0 <= r < len(self.active.tiles())]
        if not tiles or self.registry is None:
            if self.project is not None:
                self.banner.show_message("Generate images and select the ones to export first.", "info")
            return
        folder = self.ask_export_folder()
        if not folder:
            return
        scale, resample = self.details.export_options()
        job = self.backend.export_job([(t["pixels"], t["settings"]) for t in tiles], Path(folder), scale, resample)
        self._run_in(self.export_slot, job, self._on_exported)

    @Slot(object)
    def _on_exported(self, paths: list) -> None:
        paths = [str(p) for p in paths or []]
        where = str(Path(paths[0]).parent) if paths else ""
        count = len(paths)
        self.banner.show_message(
            f"Saved {words.count(count, 'PNG file')} with their settings to "
            f"{where}. “Open PNG…” makes any of them again.",
            "success",
        )
        self.exported.emit(paths)

    # -- from a file: Open PNG, VAE reconstruction and morph -------------------------------------------------
    def ask_png_path(self) -> str:
        start = self._output_folder("images")
        return QFileDialog.getOpenFileName(
            self, "Open a studio PNG", str(start if start.is_dir() else Path.home()), "PNG images (*.png)"
        )[0]

    def ask_image_paths(self) -> list[str]:
        return QFileDialog.getOpenFileNames(self, "Open one or two pictures", str(Path.home()), picture_filter())[0]

    @Slot()
    def open_png(self) -> None:
        path = self.ask_png_path()
        if not path or self.registry is None:
            return
        job = self.backend.regenerate_job(self.project.root if self.project else None, Path(path))
        self.tabs.setCurrentWidget(self.compare)
        self._run_in(self.compare_slot, job, self._on_regenerated, self._on_compare_failed)

    @Slot(object)
    def _on_regenerated(self, result: dict) -> None:
        settings = dict(result.get("settings") or {})
        original, again = np.asarray(result["original"]), np.asarray(result["regenerated"])
        identical = bool(result.get("identical"))
        if identical:
            verdict, tone = "Identical: every pixel matches the file.", "success"
        else:
            differ = int(np.any(original != again, axis=-1).sum()) if original.shape == again.shape else -1
            verdict = (
                (
                    f"Different: {differ:,} of {original.shape[0] * original.shape[1]:,} pixels changed. The run or "
                    "its checkpoint may have changed since the file was made."
                )
                if differ >= 0
                else "Different: the regenerated picture has another size than the file."
            )
            tone = "error"
        name = Path(str(result.get("path", ""))).name
        self._png_settings = settings
        self.compare.show_pair(
            f"Regenerated “{name}”",
            to_qimage(original),
            "From the file",
            to_qimage(again),
            "Made again now",
            verdict,
            tone,
            f"{settings.get('run_id', '')} · step {settings.get('step', '?')} · {describe_settings(settings)}",
            usable="latent_index" in settings,
        )
        self.tabs.setCurrentWidget(self.compare)
        self.compared.emit({"kind": "png", "identical": identical, "settings": settings})

    @Slot()
    def use_png_settings(self) -> None:
        """Put the opened PNG's model and settings into the controls and generate its grid, the picture
        selected (a variation's base image: the banner says how to get to the variation)."""
        settings = self._png_settings or {}
        if not self.controls.select(
            settings.get("run_id"), settings.get("step")
        ) or self.controls.step() != settings.get("step"):
            self.banner.show_message(
                f"The run {settings.get('run_id')} at step {settings.get('step')} is not in this "
                "project any more, so its settings cannot be used here.",
                "error",
            )
            return
        self.controls.seed.setValue(int(settings.get("seed", 0)))
        self.controls.set_truncation(settings.get("truncation", 1.0))
        if settings.get("class"):
            self.controls.set_class(settings["class"])
        index = int(settings.get("latent_index", 0))
        if index >= self.controls.count():
            self.controls.set_count(next((c for c in GRID_SIZES if c > index), GRID_SIZES[-1]))
        self._select_after = index
        self._update_view()
        self.generate()
        chain = settings.get("variations") or []
        if chain:
            self.banner.show_message(
                f"This picture is a variation: its base image is selected. Press Variations "
                f"with strength {float(chain[-1].get('strength', 0.3)):.2f} to get near it.",
                "info",
            )

    @Slot(str)
    def _on_compare_failed(self, message: str) -> None:
        self.compare.clear()
        self.compare.title.setText("Nothing to compare")
        self.banner.show_message(message, "error")

    @Slot()
    def open_images(self) -> None:
        paths = self.ask_image_paths()
        if paths:
            self.use_pictures([Path(p) for p in paths])

    def use_pictures(self, paths: list[Path]) -> None:
        """Pictures dropped or opened. A style-transfer model transfers them; with the attribute sliders shown, the
        first one is edited; otherwise one picture is the VAE's reconstruction, two or more a morph between the
        first two."""
        args = self._model_args()
        mode = self._centre_mode(self.controls.info())
        if mode == "transfer" and paths:
            self.transfer.set_pictures(paths)
            return
        if is_transfer_model(self.controls.info()):  # one without a checkpoint yet
            self.banner.show_message(NO_CHECKPOINT, "info")
            return
        if mode == "attributes" and paths:
            self.attributes.use_picture(paths[0])
            return
        if not self.controls.is_vae() or args is None:
            self.banner.show_message(
                "Pictures can be rebuilt by a VAE only. Pick a VAE run with a checkpoint in "
                "the Model list, then drop the picture again.",
                "info",
            )
            return
        if self.registry is None or not paths:
            return
        self.tabs.setCurrentWidget(self.compare)
        if len(paths) == 1:
            job = self.backend.reconstruct_job(args[0], args[1], paths)
            self._run_in(self.compare_slot, job, self._on_reconstructed, self._on_compare_failed)
            return
        if len(paths) > 2:
            self.banner.show_message("A morph goes between two pictures: the first two are used.", "info")
        digest = hashlib.sha256("/".join(str(p) for p in paths[:2]).encode()).hexdigest()[:8]
        gif = self._output_folder("walks") / f"morph-{digest}.gif"
        job = self.backend.morph_job(args[0], args[1], paths[0], paths[1], MORPH_FRAMES, self.walk.fps.value(), gif)
        self._run_in(self.compare_slot, job, self._on_morphed, self._on_compare_failed)

    @Slot(object)
    def _on_reconstructed(self, result: dict) -> None:
        original = np.asarray(result["originals"])[0]
        recon = np.asarray(result["reconstructions"])[0]
        error = float(np.abs(original.astype(np.float32) - recon.astype(np.float32)).mean())
        name = (result.get("names") or [""])[0]
        self.compare.show_pair(
            f"How the VAE rebuilds “{name}”",
            to_qimage(original),
            "Your picture",
            to_qimage(recon),
            "Reconstruction",
            f"Average difference: {error:.1f} of 255 per channel (lower is closer).",
            "",
        )
        self.compared.emit({"kind": "reconstruction", "error": error})

    @Slot(object)
    def _on_morphed(self, result: dict) -> None:
        originals = np.asarray(result["originals"])
        names = list(result.get("names") or ["", ""])
        frames = [to_qimage(f) for f in np.asarray(result["frames"])]
        gif = str(result.get("gif", ""))
        self.compare.show_pair(
            "Morph between two pictures",
            to_qimage(originals[0]),
            names[0],
            to_qimage(originals[1]),
            names[1],
            f"The morph plays in the Walk tab and is saved as {Path(gif).name}.",
            "",
        )
        self._walk_shown = None  # the Walk tab plays the morph now (saved as it was made: nothing to export)
        self.walk.show_frames(frames, gif, f"Morph of {words.count(len(frames), 'frame')}, saved as a looping GIF")
        self.banner.show_message(f"Morph saved as a looping GIF in {Path(gif).parent}.", "success")
        self.tabs.setCurrentWidget(self.walk)
        self.compared.emit({"kind": "morph", "frames": len(frames), "gif": gif})

    # -- drag and drop (VAE) ---------------------------------------------------------------------------------------
    @staticmethod
    def _picture_paths(mime) -> list[Path]:
        if mime is None or not mime.hasUrls():
            return []
        paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        return [p for p in paths if p.suffix.lower() in picture_suffixes() and p.is_file()]

    def dragEnterEvent(self, event) -> None:
        paths = self._picture_paths(event.mimeData())
        if not paths or self.stack.currentWidget() is not self.content:
            event.ignore()
            return
        event.acceptProposedAction()
        mode = self._centre_mode(self.controls.info())
        if mode == "transfer":
            self.overlay.title.setText("Drop to transfer")
            self.overlay.show_for("Each picture is shown beside its version in the other style.")
        elif mode == "attributes":
            self.overlay.title.setText("Drop to edit with sliders")
            self.overlay.show_for("The VAE encodes the picture; the sliders then start where its code has them.")
        elif self.controls.is_vae():
            self.overlay.title.setText("Drop to reconstruct" if len(paths) == 1 else "Drop to morph")
            self.overlay.show_for("The VAE rebuilds one picture, or morphs between two.")
        else:
            self.overlay.title.setText("Pick a VAE first")
            self.overlay.show_for("Only a VAE model can rebuild a picture.")

    def dragMoveEvent(self, event) -> None:
        if self._picture_paths(event.mimeData()):
            event.acceptProposedAction()

    def _route_drops_to_panel(self) -> None:
        """Children that take drops themselves (spin boxes, combo boxes) would swallow dropped pictures; route
        picture drops to the panel, so a picture can be dropped anywhere on it."""
        for child in self.findChildren(QWidget):
            if child.acceptDrops() and child is not self:
                child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        handlers = {
            QEvent.Type.DragEnter: self.dragEnterEvent,
            QEvent.Type.DragMove: self.dragMoveEvent,
            QEvent.Type.Drop: self.dropEvent,
        }
        if kind in handlers and self._picture_paths(event.mimeData()):
            handlers[kind](event)
            return True
        if kind == QEvent.Type.DragLeave:
            self.overlay.hide()
        return super().eventFilter(watched, event)

    def dragLeaveEvent(self, event) -> None:
        self.overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        self.overlay.hide()
        paths = self._picture_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.use_pictures(paths)

    # -- what is enabled and shown --------------------------------------------------------------------------------
    def why_not_generate(self) -> str:
        """The base reasons, and one more: a style-transfer model (the model list's ``makes`` is "transfer") turns
        pictures into pictures, so the grid has nothing to generate from it."""
        why = super().why_not_generate()
        if not why and (self.controls.info() or {}).get("makes", "image") != "image":
            return "This model turns pictures into another style: drop pictures on the canvas or press Open pictures…"
        return why

    def _update_view(self) -> None:
        self._follow_model()
        self._follow_modes()
        self.show_content_or_empty()
        why = self.why_not_generate()
        self.controls.set_generate_state(not why, why)
        self.controls.generate_button.setText("Generating…" if self.generate_slot.is_running() else "Generate")
        self._update_centre(self.controls.info())
        self._name_export_sizes(self.current_tile())
        self._update_buttons()

    def _centre_mode(self, info: dict | None) -> str:
        """What the centre shows: "transfer" for a style-transfer model with a checkpoint, "attributes" while the
        sliders of a sparse model are on, else "grid" (the grid, its empty state or an enlarged picture)."""
        if is_transfer_model(info) and info and info.get("steps"):
            return "transfer"
        if self.attributes_button.isChecked() and offers_sliders(info):
            return "attributes"
        return "grid"

    def _update_centre(self, info: dict | None) -> None:
        mode = self._centre_mode(info)
        pages = {"transfer": (self.transfer, "Transfer"), "attributes": (self.attributes, "Attribute sliders")}
        self.strips.setVisible(mode == "grid" and bool(self.strips.strips()))
        self.favourites_button.setVisible(mode == "grid")  # it filters the grid
        grid_settings = (*self.controls.size_buttons.values(), self.controls.seed, self.controls.truncation)
        for widget in grid_settings:  # a transfer model fills no grid: its settings are greyed, not hidden
            widget.setEnabled(mode != "transfer")
        if mode == "transfer" and self.centre.currentWidget() is not self.transfer:
            self.tabs.setCurrentWidget(self.history)  # what the Image tab shows is a grid picture's
        if mode in pages:
            page, title = pages[mode]
            self.centre.setCurrentWidget(page)
            self.grid_label.setText(title)
            return
        self.grid_label.setText(self.grid_title)
        if self.centre.currentWidget() in (self.transfer, self.attributes):
            self.centre.setCurrentWidget(self.grid)
        if self.grid.tiles() or self.showing_favourites:
            if self.centre.currentWidget() is self.grid_empty:
                self.centre.setCurrentWidget(self.grid)
            return
        if info is not None and not info.get("steps"):
            self.fill_empty(
                self.grid_empty,
                "This run has no checkpoint yet",
                "A run can generate once it has saved a checkpoint. Training saves one every few hundred "
                "steps, when you pause or stop, and when you press Save now.",
                300,
            )
            self.grid_empty.button.setVisible(True)
        else:
            vae = (
                " With this VAE you can also drop a picture here to see how it rebuilds it."
                if self.controls.is_vae()
                else ""
            )
            self.fill_empty(
                self.grid_empty,
                "Press Generate to fill the grid",
                "Choose how many images and a seed on the left, then press Generate (Ctrl+Return). The same "
                f"seed always gives the same images.{vae}",
                300,
            )
            self.grid_empty.button.setVisible(False)
        self.centre.setCurrentWidget(self.grid_empty)

    def _from_current_model(self, tile: dict) -> bool:
        """Variations and walks re-render latents, so they need the model that made the image (favourites may
        come from another run or checkpoint)."""
        settings = tile["settings"]
        return settings.get("run_id") == self.controls.run_id() and settings.get("step") == self.controls.step()

    def _update_buttons(self) -> None:
        has_tiles = any(view.tiles() for view in self.views())
        current = self.current_tile()
        picked = len(self._pick_order)
        ready = self._model_args() is not None and self.available
        other_model = "It was made by another model or checkpoint: pick that one in the Model list first."
        self.favourites_button.setEnabled(bool(self.favourites) or self.showing_favourites)
        self.favourites_button.setToolTip(
            "Show only the images you starred; click again for the whole grid"
            if self.favourites
            else "Star images first (Space, or the star on a tile); this then shows only them"
        )
        self.details.export_button.setEnabled(current is not None or picked > 0)
        count = max(picked, 1 if current is not None else 0)
        self.details.export_button.setText(f"Export {count} PNG…" if count > 1 else "Export PNG…")
        can_vary = current is not None and ready and self._from_current_model(current)
        self.details.variations_button.setEnabled(can_vary)
        self.details.variations_button.setToolTip(
            "Open images near this one (its latent, nudged) in a strip under the grid; the grid stays"
            if can_vary
            else "Pick a model with a checkpoint first"
            if not ready
            else "Select an image first"
            if current is None
            else other_model
        )
        if not ready:
            self.walk.set_ready(False, "Pick a model with a checkpoint, generate, then pick two or more images.")
        elif not all(self._from_current_model(t) for t in self.picked_tiles()):
            self.walk.set_ready(False, f"A picked image cannot join this walk. {other_model}")
        elif picked < 2:
            self.walk.set_ready(
                False,
                f"Pick {'two or more images' if picked == 0 else 'one more image'} in the grid or in one "
                "strip (Ctrl-click or tick their boxes) to walk between them.",
            )
        else:
            self.walk.set_ready(True, f"Walks through the {picked} picked images in the order you picked them.")
        self.actions_["back"].setEnabled(self.centre.currentWidget() is self.enlarged)
        self.actions_["favourite"].setEnabled(has_tiles)

    @Slot()
    def _on_model_changed(self) -> None:
        self._update_view()

    def _follow_model(self) -> None:
        """Clear the grid when the controls name another run or checkpoint than before (however it was chosen:
        the Model list, "Open in canvas", "Use these settings"), so the centre never shows another model's
        pictures with Export enabled as if they were this one's."""
        key = (self.controls.run_id(), self.controls.step())
        if key == self._model_key:
            return
        self._model_key = key
        self._clear_results()

    def _follow_modes(self) -> None:
        """Give the Transfer pane and the attribute sliders the model the controls name (each ignores a model it
        already has); the Attributes button shows only for a model whose family trains a sparse code."""
        info = self.controls.info()
        args = self._model_args()
        root = self.project.root if self.project else None
        transfer = args if args is not None and is_transfer_model(info) else (None, None)
        self.transfer.set_model(transfer[0], transfer[1], root)
        sliders = offers_sliders(info) and args is not None
        self.attributes_button.setVisible(sliders)
        if not sliders and self.attributes_button.isChecked():
            self.attributes_button.setChecked(False)
        folder, step = args if sliders and args is not None else (None, None)
        run_id, class_name = self.controls.run_id() or "", self.controls.class_name()
        changed = self.attributes.set_model(folder, step, run_id, class_name, root)
        if changed and self.attributes_button.isChecked():
            self.attributes.show_for(None)  # another checkpoint or class: its own sliders

    @Slot()
    def _style_attributes_button(self, *_args) -> None:
        self.attributes_button.setStyleSheet(toggle_style_sheet())

    @Slot(bool)
    def set_attributes_mode(self, on: bool) -> None:
        """The Attributes button: the sliders take the grid's place, editing the selected picture (a picture of
        this model: a favourite made by another one is not); off, the grid is back as it was."""
        if on:
            tile = self.current_tile()
            if tile is not None and self._from_current_model(tile):
                settings = tile["settings"]
                self.attributes.show_for(tile, f"{_image_name(settings).capitalize()} · seed {settings.get('seed')}")
            else:
                self.attributes.show_for(None)
        self._update_view()

    # -- state ----------------------------------------------------------------------------------------------------
    def save_state(self) -> dict:
        scale, resample = self.details.export_options()
        state = {
            "grid": self.controls.count(),
            "seed": self.controls.seed.value(),
            "truncation": self.controls.truncation_value_(),
            "tab": TABS[self.tabs.currentIndex()],
            "strength": self.details.strength.value() / 100,
            "export_scale": scale,
            "export_resample": resample,
            "gif_scale": self._walk_export["scale"],
            "gif_resample": self._walk_export["resample"],
            **{f"walk_{k}": v for k, v in self.walk.options().items()},
            **self.transfer.save_state(),
            **self.model_state(),
        }
        name = self.controls.class_name() or self._pending.get("class")
        if name:
            state["class"] = name
        return state

    def restore_state(self, state: dict) -> None:
        state = state or {}
        if state.get("grid") is not None:
            self.controls.set_count(state["grid"])
        try:
            self.controls.seed.setValue(int(state.get("seed", self.controls.seed.value())))
            self.details.strength.setValue(int(round(float(state.get("strength", 0.3)) * 100)))
        except (TypeError, ValueError):
            pass
        if state.get("truncation") is not None:
            self.controls.set_truncation(state["truncation"])
        if state.get("tab") in TABS:
            self.tabs.setCurrentIndex(TABS.index(state["tab"]))
        self.details.set_export_options(state.get("export_scale", 1), state.get("export_resample", "nearest"))
        if state.get("gif_scale") in WALK_SCALES and state.get("gif_resample") in ("nearest", "lanczos"):
            self._walk_export = {"scale": int(state["gif_scale"]), "resample": str(state["gif_resample"])}
        self.walk.set_options({k[5:]: v for k, v in state.items() if k.startswith("walk_")})
        self.transfer.restore_state(state)
        step = self.restored_step(state)
        self._pending = {
            k: v for k, v in (("run", state.get("run")), ("step", step), ("class", state.get("class"))) if v is not None
        }
        if self.models and self._pending.get("run"):
            self.controls.select(self._pending["run"], step)
            if self._pending.get("class"):
                self.controls.set_class(self._pending["class"])
            self._pending = {}
            self._update_view()
