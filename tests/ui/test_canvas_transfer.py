"""The Image canvas's Transfer mode as a designer uses it, with the real core: pick a style-transfer model, drop or
open pictures and see each beside its transferred version (either direction, at the trained size or tiled), export
them, and convert a whole folder in the background — one output per input, the originals untouched, Cancel
stopping it — with the plain refusals (an output folder inside the source).

The style-transfer run is the core tests' hand-made one (tests/core/generation/test_transfer.py's
``make_transfer_run``: the real networks, random lively weights, styles "photos" and "ink"), so every transfer takes
milliseconds. Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from layout_audit import cut_texts
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.generation import transfer_jobs
from studio.core.generation.png_settings import read_settings
from studio.core.project import create_project, open_project
from studio.ui.widgets.canvas.transfer import TransferJobs

sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "generation"))  # the core tests' run maker
from test_transfer import RUN, make_transfer_run

R = 32  # the hand-made run's picture size


# -- helpers --------------------------------------------------------------------------------------------------------
def shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(folder / name))
    return folder / name


def drop(panel, paths: list[Path]) -> None:
    """Drag ``paths`` over the panel and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPointF(panel.width() / 2, panel.height() / 2)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        enter = QDragEnterEvent(centre.toPoint(), *args)
    except TypeError:
        enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted() and panel.overlay.isVisible()
    QApplication.sendEvent(panel, QDropEvent(centre, *args))
    assert not panel.overlay.isVisible()


def picture(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A colour field with a few blocks (tiles of it differ), saved as ``path``."""
    rng = np.random.default_rng(seed)
    pixels = np.array(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize(size))
    pixels[size[1] // 4 : size[1] // 2, size[0] // 4 : size[0] // 2] = rng.integers(0, 256, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def files_state(folder: Path) -> dict:
    """Every file under ``folder``: (sha256, size, mtime_ns) by relative path."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_size,
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "Styles"
    create_project(root, "Styles")
    make_transfer_run(root)
    transfer_jobs.clear_cache()
    yield root
    transfer_jobs.clear_cache()


@pytest.fixture
def panel(qtbot, studio_app, project, panel_alone, no_starters):
    panel = panel_alone("image")
    panel.set_project(open_project(project))
    qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=10000)
    assert panel.controls.run_id() == RUN
    return panel


def _transfer(qtbot, panel, paths: list[Path]) -> dict:
    with qtbot.waitSignal(panel.transfer.transferred, timeout=60000) as done:
        drop(panel, paths)
    return done.args[0]


# -- tests ----------------------------------------------------------------------------------------------------------
def test_a_transfer_model_shows_transfer_where_the_grid_would_be(qtbot, panel, tmp_path):
    assert panel.centre.currentWidget() is panel.transfer and panel.grid_label.text() == "Transfer"
    assert not panel.controls.generate_button.isEnabled()
    assert "another style" in panel.controls.hint.text() and "Press Generate" not in panel.controls.hint.text()
    empty = panel.transfer.empty
    assert panel.transfer.pages.currentWidget() is empty and "Drop pictures" in empty.title.text()
    assert "Open pictures…" in empty.body.text() and "Generate" not in empty.body.text()
    # the two directions are named by the styles the run learnt (its datasets), before anything is transferred
    names = [panel.transfer.direction.itemText(i) for i in range(panel.transfer.direction.count())]
    assert names == ["photos → ink", "ink → photos"]
    assert not panel.favourites_button.isVisible() and not panel.attributes_button.isVisible()
    assert not panel.transfer.export_button.isEnabled() and panel.transfer.convert_button.isEnabled()
    shot(panel, tmp_path, "canvas-transfer-empty.png")
    assert cut_texts(panel) == []


def test_dropped_pictures_come_back_beside_their_transfer_and_are_kept(qtbot, panel, project, tmp_path):
    big = picture(tmp_path / "in" / "street.png", (80, 60), 1)
    small = picture(tmp_path / "in" / "icon.png", (R, R), 2)
    before = files_state(tmp_path / "in")
    with qtbot.waitSignal(panel.history.recorded, timeout=60000) as kept:
        result = _transfer(qtbot, panel, [big, small])
    assert [np.asarray(i).shape for i in result["images"]] == [(60, 80, 3), (R, R, 3)]  # each its own size
    assert result["direction"] == "a2b" and result["styles"] == ["photos", "ink"]
    rows = panel.transfer.rows
    assert len(rows) == 2 and all(row.result_image() is not None for row in rows)
    assert rows[0].input_caption.full_text() == "street.png · 80 × 60 px"
    assert rows[0].result_caption.full_text() == "In ink · 80 × 60 px"
    assert rows[0].result_image().size().width() == 80
    assert len(kept.args[0]["items"]) == 2  # in the gallery like any canvas picture, titled by what it is
    qtbot.waitUntil(lambda: len(panel.history.rows()) == 2, timeout=10000)
    assert sorted(r["title"] for r in panel.history.rows()) == ["photos → ink · icon.png", "photos → ink · street.png"]
    assert panel.tabs.currentWidget() is panel.history and panel.transfer.export_button.isEnabled()
    shot(panel, tmp_path, "canvas-transfer-pairs.png")
    assert cut_texts(panel) == []

    # the other direction, then tiled: the same pictures again, each time other pixels
    with qtbot.waitSignal(panel.transfer.transferred, timeout=60000) as back:
        panel.transfer.set_direction("b2a")
    assert back.args[0]["direction"] == "b2a" and rows[0].result_caption.full_text().startswith("In photos")
    assert not np.array_equal(back.args[0]["images"][0], result["images"][0])
    with qtbot.waitSignal(panel.transfer.transferred, timeout=60000) as tiled:
        qtbot.mouseClick(panel.transfer.tile_box, Qt.MouseButton.LeftButton)
    settings = tiled.args[0]["settings"]
    assert settings[0]["tile"] is True and settings[0]["tiles"] > 1 and settings[1]["tiles"] == 1
    assert "tiles" in panel.transfer.rows[0].result_caption.full_text()
    assert np.asarray(tiled.args[0]["images"][0]).shape == (60, 80, 3)

    # Export PNG…: one file per result, named after its input and style, settings inside
    out = tmp_path / "exported"
    panel.transfer.ask_export_folder = lambda: str(out)
    with qtbot.waitSignal(panel.transfer.exported, timeout=30000) as exported:
        qtbot.mouseClick(panel.transfer.export_button, Qt.MouseButton.LeftButton)
    assert sorted(Path(p).name for p in exported.args[0]) == ["icon-photos.png", "street-photos.png"]
    embedded = read_settings(out / "street-photos.png")
    assert embedded["source"] == "transfer" and embedded["input"] == "street.png" and embedded["to_style"] == "photos"
    with Image.open(out / "street-photos.png") as saved:
        assert saved.size == (80, 60)
    assert files_state(tmp_path / "in") == before  # dropped pictures are only read

    # reopening a kept transfer says what to do instead of failing
    panel.reopen_item(kept.args[0]["items"][0])
    assert "drop that picture" in panel.banner.text.text() and panel.compare_slot.runner is None


def test_open_pictures_replaces_the_set_and_another_model_transfers_it_again(qtbot, panel, project, tmp_path):
    first = [picture(tmp_path / f"a{i}.png", (40, 40), i) for i in range(3)]
    panel.transfer.ask_pictures = lambda: [str(p) for p in first]
    with qtbot.waitSignal(panel.transfer.transferred, timeout=60000):
        qtbot.mouseClick(panel.transfer.open_button, Qt.MouseButton.LeftButton)
    assert len(panel.transfer.rows) == 3
    panel.transfer.ask_pictures = lambda: [str(first[1])]
    with qtbot.waitSignal(panel.transfer.transferred, timeout=60000) as again:
        panel.transfer.open_pictures()
    assert len(panel.transfer.rows) == 1 and len(again.args[0]["images"]) == 1

    other = "20260102-000000-cyclegan"  # another run (its own weights): the set is transferred again with it
    make_transfer_run(project, run_id=other, step=20)
    results: list[dict] = []
    panel.transfer.transferred.connect(results.append)
    with qtbot.waitSignal(panel.models_slot.finished, timeout=10000):
        panel.refresh_models()
    panel.controls.model.setCurrentIndex(panel.controls.model.findData(other))  # the user picks it
    qtbot.waitUntil(lambda: any(r["run_id"] == other for r in results), timeout=60000)
    newer = next(r for r in results if r["run_id"] == other)
    assert newer["step"] == 20 and len(panel.transfer.rows) == 1 and panel.transfer.result["run_id"] == other
    assert not np.array_equal(newer["images"][0], again.args[0]["images"][0])


def _folder(root: Path) -> Path:
    """Four pictures (one in a sub-folder, one JPEG) and a text file that is no picture."""
    source = root / "Holiday photos"
    for i, size in enumerate(((40, 30), (R, R), (50, 50))):
        picture(source / f"photo{i}.png", size, 10 + i)
    picture(source / "day two" / "beach.png", (36, 48), 20)
    Image.open(source / "photo0.png").convert("RGB").save(source / "photo3.jpg")
    (source / "notes.txt").write_text("not a picture")
    return source


def test_convert_folder_writes_one_output_per_input_and_never_touches_the_inputs(qtbot, panel, tmp_path):
    source = _folder(tmp_path)
    before = files_state(source)
    out = tmp_path / "Holiday in ink"
    panel.transfer.ask_source_folder = lambda: str(source)
    panel.transfer.ask_output_folder = lambda chosen: str(out)
    opened: list[Path] = []
    panel.transfer.open_folder = opened.append
    with qtbot.waitSignal(panel.transfer.converted, timeout=60000) as done:
        qtbot.mouseClick(panel.transfer.convert_button, Qt.MouseButton.LeftButton)
        assert panel.transfer.strip.isVisible() and not panel.transfer.convert_button.isEnabled()
    result = done.args[0]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["day two/beach.png", "photo0.png", "photo1.png", "photo2.png", "photo3.png"]
    assert result["written"] == 5 and [s["file"] for s in result["skipped"]] == ["notes.txt"]
    for name in written:  # one output per input, each its input's size
        stem = Path(name).with_suffix("")
        original = next(p for p in source.rglob("*") if p.with_suffix("").relative_to(source) == stem)
        with Image.open(out / name) as made, Image.open(original) as given:
            assert made.size == given.size
    assert files_state(source) == before
    qtbot.waitUntil(lambda: not panel.transfer.strip.isVisible(), timeout=5000)
    summary = panel.transfer.summary_text.text()
    assert summary.startswith("Converted 5 pictures into “Holiday in ink”; 1 skipped (notes.txt is not a picture")
    tip = panel.transfer.summary_text.toolTip()
    assert str(out) in tip and "notes.txt" in tip and panel.transfer.convert_button.isEnabled()
    shot(panel, tmp_path, "canvas-transfer-converted.png")
    assert cut_texts(panel) == []
    qtbot.mouseClick(panel.transfer.open_folder_button, Qt.MouseButton.LeftButton)
    assert opened == [out]


@pytest.mark.parametrize("where", ["itself", "inside"])
def test_an_output_folder_inside_the_source_is_refused_in_words(qtbot, panel, tmp_path, where):
    source = _folder(tmp_path)
    before = files_state(source)
    panel.transfer.ask_source_folder = lambda: str(source)
    panel.transfer.ask_output_folder = lambda chosen: str(source if where == "itself" else source / "converted")
    panel.transfer.convert_folder()
    assert panel.transfer.convert_slot.runner is None and not panel.transfer.strip.isVisible()
    text = panel.banner.text.text()
    assert "outside “Holiday photos”" in text and "never written among the originals" in text
    assert files_state(source) == before


class SlowContext:
    """A job context whose every check takes a moment, so a conversion lasts long enough to cancel."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def check(self) -> None:
        time.sleep(0.05)
        self.ctx.check()

    def __getattr__(self, name):
        return getattr(self.ctx, name)


class SlowJobs(TransferJobs):
    def convert(self, *args):
        job = super().convert(*args)
        inner = job.job
        job.job = lambda ctx: inner(SlowContext(ctx))
        return job


def test_cancel_stops_a_folder_conversion_and_says_what_was_written(qtbot, panel, tmp_path):
    source = tmp_path / "Many"
    for i in range(30):
        picture(source / f"p{i:02d}.png", (R, R), i)
    before = files_state(source)
    out = tmp_path / "Many in ink"
    panel.transfer.jobs = SlowJobs()
    panel.transfer.ask_source_folder = lambda: str(source)
    panel.transfer.ask_output_folder = lambda chosen: str(out)
    panel.transfer.convert_folder()
    strip = panel.transfer.strip
    qtbot.waitUntil(lambda: "Converted" in strip.detail_text(), timeout=30000)
    assert "of 30 pictures" in strip.detail_text() and "Converting “Many”" in strip.title.full_text()
    shot(panel, tmp_path, "canvas-transfer-converting.png")
    with qtbot.waitSignal(panel.transfer.convert_slot.cancelled, timeout=30000):
        qtbot.mouseClick(strip.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not strip.isVisible(), timeout=10000)
    assert "Converting stopped" in panel.transfer.summary_text.text()
    assert len(list(out.glob("*.png"))) < 30 and files_state(source) == before
