"""Dropping folders on the Dataset panel while a dataset is selected: the overlay offers "New dataset “<folder>”"
(the default, anywhere on the panel) and "Add to “<selected>”" (a card), and what it says is what happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.datasets.manifest import Manifest
from studio.core.project import create_project
from studio.ui.widgets.common.drop_overlay import CARD, MAIN


def _pictures(folder: Path, count: int, seed: int) -> Path:
    """``count`` distinct drawings (no two alike, so none is a duplicate of another)."""
    folder.mkdir(parents=True)
    for i in range(count):
        image = Image.new("RGB", (64, 64), (240, 240, 235))
        draw = ImageDraw.Draw(image)
        draw.ellipse([4 + i * 6, 6 + seed * 5, 40 + i * 5, 50], fill=(40 * i % 255, 90 + seed * 30, 200 - i * 20))
        draw.line([0, i * 9 + seed, 64, 60 - i * 7], fill=(20, 20, 20), width=3)
        image.save(folder / f"pic{seed}_{i}.png")
    return folder


@pytest.fixture
def panel(panel_alone, tmp_path):
    panel = panel_alone("dataset", QSize(1280, 800))
    panel.set_project(create_project(tmp_path / "Studio"))
    return panel


def _import(qtbot, panel, paths):
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths(paths) is not None


def _mime(paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drag(panel, cls, mime, pos: QPoint):
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    if cls is QDropEvent:
        event = QDropEvent(QPointF(pos), *args)
    else:
        try:  # PySide6 up to 6.11 takes a QPoint here, later releases a QPointF
            event = cls(pos, *args)
        except TypeError:
            event = cls(QPointF(pos), *args)
    QApplication.sendEvent(panel, event)
    return event


def _drop(qtbot, panel, paths, on_card: bool = False) -> str:
    """Drag ``paths`` over the panel as a person does (enter in the middle, move, let go) and return what the
    overlay said letting go there would do. Waits for the import to end."""
    mime = _mime(paths)
    centre = QPoint(panel.width() // 2, panel.height() // 2)
    assert _drag(panel, QDragEnterEvent, mime, centre).isAccepted()
    assert panel.overlay.isVisible() and panel.overlay.active == MAIN  # the middle of the panel: a new dataset
    QApplication.processEvents()
    card = panel.overlay.card
    target = card.mapTo(panel, card.rect().center()) if on_card else centre + QPoint(0, 40)
    _drag(panel, QDragMoveEvent, mime, target)
    assert panel.overlay.active == (CARD if on_card else MAIN)
    said = panel.overlay.outcome()
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert _drag(panel, QDropEvent, mime, target).isAccepted()
    assert not panel.overlay.isVisible()
    return said


def _usable(panel, name: str) -> int:
    return len(Manifest.load(panel.project.root / "datasets" / name).usable())


def test_a_folder_dropped_while_a_dataset_is_selected_makes_a_new_dataset_named_after_it(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_pictures(tmp_path / "drops" / "icons", 4, seed=0)])
    assert panel.current_name == "icons"
    tests = _pictures(tmp_path / "drops" / "test pictures", 3, seed=1)
    (tests / "README.txt").write_text("Pictures for a test.", encoding="utf-8")

    said = _drop(qtbot, panel, [tests])

    assert panel.overlay.title.text() == "New dataset “test pictures”"
    assert said == (
        "A new dataset “test pictures” is made from the folder “test pictures”. "
        "Among them, 1 text file goes to a separate dataset “test pictures-text”."
    )
    assert panel.dataset_names() == ["icons", "test pictures", "test pictures-text"]  # as the overlay said
    assert panel.current_name == "test pictures" and _usable(panel, "test pictures") == 3
    assert _usable(panel, "icons") == 4  # the selected dataset is untouched
    assert "split" in panel.banner.text.text() and "“test pictures-text”" in panel.banner.text.text()


def test_a_folder_named_like_a_dataset_gets_a_new_numbered_dataset(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_pictures(tmp_path / "first" / "icons", 4, seed=0)])
    again = _pictures(tmp_path / "second" / "icons", 2, seed=2)  # another folder with the same name

    said = _drop(qtbot, panel, [again])

    assert said == "“icons” is already taken, so a new dataset “icons-2” is made from the folder “icons”."
    assert panel.dataset_names() == ["icons", "icons-2"]
    assert _usable(panel, "icons") == 4 and _usable(panel, "icons-2") == 2


def test_add_to_puts_the_files_into_the_selected_dataset_and_skips_other_kinds(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_pictures(tmp_path / "drops" / "icons", 4, seed=0)])
    more = _pictures(tmp_path / "drops" / "more", 2, seed=3)
    (more / "notes.txt").write_text("Notes, not a picture.", encoding="utf-8")

    said = _drop(qtbot, panel, [more], on_card=True)

    assert panel.overlay.card.title.text() == "Add to “icons”"
    assert said == (
        "2 pictures are checked and added to “icons”; files it already holds are not added twice. "
        "Among them, 1 text file is skipped: “icons” holds pictures only."
    )
    assert panel.dataset_names() == ["icons"]  # no "more", no "icons-text"
    assert _usable(panel, "icons") == 6
    skipped = [e for e in panel.manifest.entries if e["source"].endswith("notes.txt")]
    assert [e["status"] for e in skipped] == ["skipped"] and "holds image" in skipped[0]["reason"]


def test_add_to_is_offered_only_for_files_of_the_selected_datasets_kind(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_pictures(tmp_path / "drops" / "icons", 2, seed=0)])
    copy = tmp_path / "drops" / "copy"
    copy.mkdir()
    (copy / "tagline.txt").write_text("Made to last.", encoding="utf-8")
    mime = _mime([copy])
    _drag(panel, QDragEnterEvent, mime, QPoint(panel.width() // 2, panel.height() // 2))
    assert panel.overlay.isVisible() and not panel.overlay.card.isVisible()
    assert panel.overlay.outcome() == "A new dataset “copy” is made from the folder “copy”."
    bottom = QPoint(panel.width() // 2, panel.height() - 60)  # where the card would be: still a new dataset
    _drag(panel, QDragMoveEvent, mime, bottom)
    assert panel.overlay.active == MAIN
