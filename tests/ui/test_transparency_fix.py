"""The Health tab's "Transparency…" choice: flatten a dataset's transparent pictures onto a colour picked in a
colour dialog, or keep their transparency; each is one undoable step, and files imported later follow it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSize

from studio.core.datasets.manifest import Manifest
from studio.core.project import create_project
from studio.ui.widgets.dataset.augment_preview import make_preview

ORANGE = (230, 120, 20)


def _logo(path, flip: bool = False) -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((*ORANGE, 255), (0, 0, 32, 64) if flip else (32, 0, 64, 64))
    rgba.save(path)


@pytest.fixture
def panel(qtbot, studio_app, tmp_path, panel_alone):
    source = tmp_path / "icons"
    source.mkdir()
    _logo(source / "logo.png")
    Image.new("RGB", (64, 64), (40, 90, 160)).save(source / "photo.png")
    panel = panel_alone("dataset", QSize(1280, 800))
    panel.set_project(create_project(tmp_path / "Brand"))
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths([source]) is not None
    return panel


def _logo_pixel(panel, name: str = "logo.png") -> tuple:
    manifest = Manifest.load(panel.manifest.folder)  # what is saved
    entry = next(e for e in manifest.entries if e["source"].endswith(name))
    with Image.open(manifest.item_path(entry)) as image:
        return tuple(np.asarray(image)[10, 5])


def _corner_alpha(panel, name: str) -> int:
    """The alpha of the top-right pixel (see-through in a flipped logo), as saved."""
    manifest = Manifest.load(panel.manifest.folder)
    entry = next(e for e in manifest.entries if e["source"].endswith(name))
    with Image.open(manifest.item_path(entry)) as image:
        return int(np.asarray(image.convert("RGBA"))[0, -1, 3]) if "A" in image.getbands() else 255


def _choose(qtbot, panel, text: str) -> None:
    action = next(a for a in panel.health.transparency_actions if a.text().startswith(text))
    with qtbot.waitSignal(panel.dataset_shown, timeout=30000):  # the fix runs as a job, then the dataset reloads
        action.trigger()


def test_flatten_on_a_chosen_colour_then_keep_and_undo(qtbot, panel, monkeypatch, tmp_path):
    health = panel.health
    assert health.transparency_button.isVisible() and health.transparency_button.isEnabled()
    assert "1 picture with see-through pixels: flattened onto white" in health.transparency_button.toolTip()
    assert _logo_pixel(panel) == (255, 255, 255)
    panel.grab().save(str(Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path)) / "dataset-health-transparency.png"))

    asked = []
    monkeypatch.setattr(health, "ask_colour", lambda initial: asked.append(initial) or (0, 128, 128))
    _choose(qtbot, panel, "Flatten on a colour")
    assert asked == [(255, 255, 255)]  # the dialog opened on the dataset's colour
    assert _logo_pixel(panel) == (0, 128, 128)
    assert "Flattened 1 picture onto #008080" in panel.banner.text.text()
    assert panel.manifest.options["background"] == [0, 128, 128]
    checked = [a.text() for a in health.transparency_actions if a.isChecked()]
    assert checked == ["Flatten on a colour… (now #008080)"]

    _choose(qtbot, panel, "Keep transparency")
    assert _logo_pixel(panel)[3] == 0  # read again from the original: its alpha is back
    assert "Kept the transparency of 1 picture" in panel.banner.text.text()
    logo = next(p for p in panel.augment.paths if Image.open(p).mode == "RGBA")
    preview = make_preview(((logo,), "", 0, 32, panel.augment.background))
    assert tuple(preview[0][2, 2]) == (0, 128, 128)  # the Augment tab shows it on the dataset's colour, as training

    more = tmp_path / "more"
    more.mkdir()
    _logo(more / "second.png", flip=True)
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths([more], name=panel.current_name) is not None
    second = next(e for e in panel.manifest.entries if e["source"].endswith("second.png"))
    assert second["meta"]["transparency"] == "kept"  # files added later follow the dataset's choice

    panel.undo()  # the import is no operation; the last choice ("keep") is undone
    assert panel.manifest.options["transparency"] == "flatten" and _logo_pixel(panel) == (0, 128, 128)
    panel.undo()
    assert _logo_pixel(panel) == (255, 255, 255) and panel.manifest.options["background"] == [255, 255, 255]


def test_a_cancelled_colour_dialog_changes_nothing(qtbot, panel, monkeypatch):
    health = panel.health
    monkeypatch.setattr(health, "ask_colour", lambda initial: None)
    action = next(a for a in health.transparency_actions if a.text().startswith("Flatten on a colour"))
    action.trigger()
    assert not panel.fix_slot.busy and not panel.manifest.history
    assert [a.text() for a in health.transparency_actions if a.isChecked()] == ["Flatten on white"]


def test_the_choice_beside_import_decides_for_a_new_dataset_only(qtbot, panel, monkeypatch, tmp_path):
    choice = panel.transparency_choice
    assert choice.isVisible() and choice.text() == "Transparency: white"  # the default
    choice.choose("Keep transparency")

    kept = tmp_path / "kept"
    kept.mkdir()
    _logo(kept / "mark.png")
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths([kept], name="marks", new=True) is not None
    assert panel.manifest.options["transparency"] == "keep"
    assert _logo_pixel(panel, "mark.png")[3] == 0  # stored with its alpha

    monkeypatch.setattr(choice, "ask_colour", lambda initial: (0, 128, 128))
    choice.choose("Flatten on a colour")
    assert choice.text() == "Transparency: #008080"
    assert [a.text() for a in choice.actions_ if a.isChecked()] == ["Flatten on #008080…"]
    more = tmp_path / "more"
    more.mkdir()
    _logo(more / "second.png", flip=True)
    with qtbot.waitSignal(panel.import_done, timeout=30000):  # into the existing dataset: it keeps its own choice
        assert panel.import_paths([more], name="marks") is not None
    assert _logo_pixel(panel, "second.png") == (*ORANGE, 255) and _corner_alpha(panel, "second.png") == 0

    teal = tmp_path / "teal"
    teal.mkdir()
    _logo(teal / "third.png")
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths([teal], name="teal", new=True) is not None
    assert _logo_pixel(panel, "third.png") == (0, 128, 128)

    monkeypatch.setattr(choice, "ask_colour", lambda initial: None)  # a cancelled colour dialog keeps the choice
    choice.choose("Flatten on black")
    choice.choose("Flatten on #008080")
    assert choice.text() == "Transparency: black"
    assert panel.save_state()["transparency"] == {"row": 1, "colour": [0, 128, 128]}
    choice.restore_state({"row": 2, "colour": [0, 128, 128]})
    assert choice.choice() == ("flatten", (0, 128, 128))
