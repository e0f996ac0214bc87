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


def _logo_pixel(panel) -> tuple:
    manifest = Manifest.load(panel.manifest.folder)  # what is saved
    entry = next(e for e in manifest.entries if e["source"].endswith("logo.png"))
    with Image.open(manifest.item_path(entry)) as image:
        return tuple(np.asarray(image)[10, 5])


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
