"""Near-duplicate review: each pair's two pictures side by side, "Keep left / Keep right / Keep both", each an
undoable exclusion in the manifest; a double-click on a pair's row or a click on the Flagged tile opens it.

Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtWidgets import QApplication

from studio.core.datasets.manifest import Manifest
from studio.core.datasets.near_duplicates import BOTH, RIGHT, keep, pairs
from studio.core.project import create_project


def _drawing(colour, offset: int) -> Image.Image:
    image = Image.new("RGB", (96, 96), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse([10 + offset, 12, 60 + offset, 70], fill=colour)
    draw.line([0, offset, 96, 96 - offset], fill=(20, 20, 20), width=3)
    return image


def _pictures(root: Path) -> Path:
    """Two distinct drawings, and a JPEG re-save of each: two near-duplicate pairs (other pixels, same look)."""
    source = root / "logos"
    source.mkdir()
    for name, colour, offset in (("a_sun", (220, 170, 40), 0), ("b_sea", (60, 90, 200), 30)):
        picture = _drawing(colour, offset)
        picture.save(source / f"{name}.png")
        picture.save(source / f"{name}_again.jpg", quality=85)
    return source


def _shot(widget, tmp_path: Path, name: str) -> None:
    QApplication.processEvents()
    assert widget.grab().save(str(Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path)) / name))


@pytest.fixture
def panel(qtbot, studio_app, tmp_path, panel_alone):
    panel = panel_alone("dataset", QSize(1280, 800))  # a 1280×800 window
    panel.set_project(create_project(tmp_path / "Brand"))
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths([_pictures(tmp_path)]) is not None
    assert len(pairs(panel.manifest)) == 2
    return panel


def _row_of(health, source_end: str) -> int:
    for row in range(health.proxy.rowCount()):
        if health.proxy.index(row, 0).data().endswith(source_end):
            return row
    raise AssertionError(f"no row for {source_end}")


def _double_click_row(qtbot, health, row: int) -> None:
    table = health.table
    table.scrollTo(health.proxy.index(row, 0))
    rect = table.visualRect(health.proxy.index(row, 0))
    # A real double-click is press, release, then the double-click event (the view acts only on the row pressed)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_double_click_shows_both_pictures_keep_left_excludes_the_right_and_undo_brings_it_back(qtbot, panel, tmp_path):
    health = panel.health
    assert health.review_button.isEnabled()
    _shot(panel, tmp_path, "dataset-health-pairs.png")
    _double_click_row(qtbot, health, _row_of(health, "b_sea_again.jpg"))  # the flagged picture of the 2nd pair
    review = panel.review
    assert review is not None and review.isVisible()
    assert review.heading.text().startswith("Pair 2 of 2")  # opened on that row's pair
    assert review.left.name.full_text() == "b_sea.png" and review.right.name.full_text() == "b_sea_again.jpg"
    assert "96 × 96 px" in review.left.details.full_text() and "JPEG" in review.right.details.full_text()
    qtbot.waitUntil(review.thumbnails_ready, timeout=5000)  # both thumbnails, loaded off the GUI thread
    for side in (review.left, review.right):
        pixmap = side.picture.pixmap()
        assert min(pixmap.width(), pixmap.height()) >= 96  # a picture to judge, not an icon
    _shot(review, tmp_path, "duplicate-review.png")

    left_id, right_id = review.current_pair().ids
    qtbot.mouseClick(review.keep_left, Qt.MouseButton.LeftButton)
    saved = Manifest.load(panel.manifest.folder).by_id()  # saved at once
    assert saved[right_id].get("excluded") and not saved[left_id].get("excluded")
    assert review.heading.text().startswith("Pair 1 of 1")  # the decided pair left the list
    assert right_id not in health.pair_ids and "excluded" in panel.banner.text.text()

    qtbot.mouseClick(review.undo_button, Qt.MouseButton.LeftButton)
    saved = Manifest.load(panel.manifest.folder).by_id()
    assert not saved[right_id].get("excluded")
    assert len(review.pairs) == 2 and review.current_pair().ids in {(left_id, right_id), review.pairs[0].ids}


def test_the_flagged_tile_opens_the_review_and_every_choice_is_undoable(qtbot, panel):
    health = panel.health
    tile = health.tiles["flagged"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    review = panel.review
    assert review is not None and review.isVisible() and review.heading.text().startswith("Pair 1 of 2")
    first = review.current_pair()
    qtbot.mouseClick(review.keep_right, Qt.MouseButton.LeftButton)
    manifest = panel.manifest
    by_id = manifest.by_id()
    assert by_id[first.left["id"]].get("excluded") and not by_id[first.right["id"]].get("excluded")
    assert not any("near-duplicate" in f for f in by_id[first.right["id"]].get("flags", []))  # no longer flagged
    second = review.current_pair()
    qtbot.mouseClick(review.keep_both, Qt.MouseButton.LeftButton)
    assert len(manifest.usable()) == 3 and review.current_pair() is None and not health.review_button.isVisible()
    assert "No near-duplicate pairs" in review.heading.text() and not review.keep_left.isEnabled()

    panel.undo()  # Ctrl+Z of the window: "keep both"
    panel.undo()  # and "keep right"
    assert [p.ids for p in review.pairs] == [first.ids, second.ids] and len(panel.manifest.usable()) == 4

    health.status_filter.setCurrentIndex(0)
    review.close()
    panel.remove_near_duplicates()  # no pairs left open: the tile lists the flagged files instead
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert not review.isVisible() and health.status_filter.currentData() == "all"  # nothing flagged is usable


def test_keep_is_refused_for_a_pair_that_is_no_longer_open(panel):
    manifest = panel.manifest
    pair = pairs(manifest)[0]
    assert keep(manifest, *pair.ids, BOTH) == 1
    assert keep(manifest, *pair.ids, RIGHT) == 0 and manifest.history[-1]["action"] == "keep both of a pair"
