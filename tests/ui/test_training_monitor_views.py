"""The Training monitor's views as a user reads them: legends beside (not over) the curves, axes that fit what a
metric can be, plots that follow the theme, previews large enough to judge with a step slider and an enlarged view,
and runs the user can name."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtWidgets import QLineEdit, QWidget

from studio.core.generation.run_models import resolve_run_folder
from studio.core.project import create_project, open_project
from studio.core.training import runs
from studio.ui import theme
from studio.ui.backends.training import TrainingBackend
from studio.ui.widgets.training.samples import SampleStrip


# -- curves ---------------------------------------------------------------------------------------------------------
def _plots(qtbot):
    from studio.ui.widgets.training.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 560)
    plots.show()
    qtbot.waitUntil(lambda: plots.built)  # one plot per event-loop pass
    return plots


def _in_card(card: QWidget, widget_or_item) -> QRectF:
    """Where a legend (a widget, or a graphics item inside the plot) or the view box lies, in the card's pixels."""
    if isinstance(widget_or_item, QWidget):
        return QRectF(widget_or_item.mapTo(card, QPoint(0, 0)), widget_or_item.size().toSizeF())
    view = card.plot
    rect = view.mapFromScene(widget_or_item.sceneBoundingRect()).boundingRect()
    return QRectF(rect.translated(view.mapTo(card, QPoint(0, 0))))


def _y_range(card) -> tuple[float, float]:
    low, high = card.plot.getViewBox().viewRange()[1]
    return float(low), float(high)


def test_legends_sit_outside_the_curves_and_axes_fit_what_each_metric_can_be(qtbot, studio_app):
    plots = _plots(qtbot)
    rows = [
        {
            "step": s,
            "loss": 0.01 * s / 40,  # non-negative values that start at 0: auto-range padding went below zero
            "loss_d": 0.004,
            "loss_g": 0.006,
            "items_per_s": 900.0 + s,
            **({"val_precision": 0.2, "val_recall": 0.1} if s == 40 else {}),
        }
        for s in range(0, 41)
    ]
    plots.append(rows)
    plots.redraw()
    qtbot.wait(50)
    loss = plots.plots["loss"]
    assert loss.legend.isVisible()  # three curves: the legend tells them apart
    legend, view_box = _in_card(loss, loss.legend), _in_card(loss, loss.plot.getViewBox())
    assert not legend.intersects(view_box), f"the legend {legend} covers the curves {view_box}"
    assert {"loss", "loss d", "loss g"} <= set(loss.legend_words())
    # precision and recall are 0-1 quantities: two values of 0.1 and 0.2 used to get a -0.4…0.4 axis
    low, high = _y_range(plots.plots["variety"])
    assert -0.05 <= low <= 0.0 and 1.0 <= high <= 1.05
    # non-negative values never get a negative axis; the range still follows the data
    assert _y_range(loss)[0] >= 0.0
    assert _y_range(plots.plots["speed"])[0] >= 900.0 - 50
    # an empty card shows its "Nothing yet" line and no axes (no bare "1.0" tick)
    empty = plots.plots["val"]
    assert empty.empty.isVisible() and not empty.plot.getPlotItem().getAxis("left").isVisible()
    assert loss.plot.getPlotItem().getAxis("left").isVisible()
    # a loss that may be negative (a WGAN critic) is not clamped
    plots.append([{"step": 41, "loss_d": -0.5}])
    plots.redraw()
    qtbot.waitUntil(lambda: _y_range(loss)[0] <= -0.5, timeout=2000)  # the view re-ranges when it next paints


def test_plots_follow_a_theme_switch(qtbot, studio_app):
    from studio.ui.widgets.training.plots import PALETTE

    plots = _plots(qtbot)
    plots.append([{"step": s, "loss": 1.0 / s} for s in range(1, 20)])
    plots.redraw()
    card = plots.plots["loss"]
    curve = card.curves[("live", "loss", False)]
    before = theme.mode()
    assert card.plot.backgroundBrush().color().name().upper() == "#FFFFFF"
    try:
        theme.apply(studio_app, "dark")
        assert card.plot.backgroundBrush().color().name().upper() == theme.dark_colour("#FFFFFF")
        assert curve.opts["pen"].color().name().upper() == theme.dark_colour(PALETTE[0])
    finally:
        theme.apply(studio_app, "light" if before == "dark" else before)
    assert card.plot.backgroundBrush().color().name().upper() == "#FFFFFF"


# -- samples --------------------------------------------------------------------------------------------------------
COLOURS = {100: (200, 40, 40), 200: (40, 160, 60), 300: (40, 60, 200)}


def _image_previews(folder: Path) -> list[dict]:
    previews = []
    for step, colour in COLOURS.items():
        path = folder / f"step-{step:06d}.png"
        Image.new("RGB", (64, 32), colour).save(path)  # a 32 px model's grid: two pictures side by side
        previews.append({"step": step, "kind": "image", "path": str(path), "caption": f"Step {step:,}: 2 latents"})
    return previews


def _centre_colour(view) -> tuple[int, int, int]:
    colour = view.grab().toImage().pixelColor(view.shown_rect().center())
    return colour.red(), colour.green(), colour.blue()


def test_samples_show_large_with_a_step_slider_and_enlarge_on_double_click(qtbot, studio_app, tmp_path):
    strip = SampleStrip()
    qtbot.addWidget(strip)
    strip.resize(760, 480)
    strip.show()
    for preview in _image_previews(tmp_path):
        strip.add(preview)
    qtbot.wait(20)
    assert strip.count() == 3 and strip.current_step() == 300  # the newest is shown while it arrives
    assert strip.picture.shown_rect().width() >= 4 * 64  # whole-factor enlargement, not a 110 px tile
    assert _centre_colour(strip.picture) == COLOURS[300]
    # the slider goes through the run's previews
    strip.slider.setFocus()
    qtbot.keyClick(strip.slider, Qt.Key.Key_Home)
    assert strip.current_step() == 100 and _centre_colour(strip.picture) == COLOURS[100]
    assert "1 of 3 previews" in strip.step_label.text()
    qtbot.keyClick(strip.slider, Qt.Key.Key_Right)
    assert strip.current_step() == 200
    assert strip.list.currentRow() == 1  # the column of earlier previews (newest first) follows
    # a preview that arrives while an earlier one is looked at does not pull the view away
    path = tmp_path / "step-000400.png"
    Image.new("RGB", (64, 32), (90, 90, 90)).save(path)
    strip.add({"step": 400, "kind": "image", "path": str(path)})
    assert strip.current_step() == 200 and strip.slider.maximum() == 3
    # double-click enlarges: a window of its own, at a readable size; ← → step, Esc closes
    qtbot.mouseDClick(strip.picture, Qt.MouseButton.LeftButton, pos=strip.picture.rect().center())
    dialog = strip.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.isVisible() and "Step 200" in dialog.windowTitle()
    assert dialog.picture.shown_rect().width() > max(600, strip.picture.shown_rect().width())
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)  # it takes the keys: the window opened in front
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert strip.current_step() == 100 and "Step 100" in dialog.windowTitle()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_text_previews_are_shown_whole_in_a_readable_size(qtbot, studio_app, tmp_path):
    strip = SampleStrip()
    qtbot.addWidget(strip)
    strip.resize(760, 480)
    strip.show()
    text = "To be, or not to be, that is the question. " * 30  # ~1,300 characters: rows cut it at 400
    for step in (100, 200):
        path = tmp_path / f"step-{step:06d}.txt"
        path.write_text(f"{step} {text}", encoding="utf-8")
        strip.add({"step": step, "kind": "text", "path": str(path), "caption": "the model continues"})
    assert strip.view.currentWidget() is strip.text and strip.text.isVisible()
    assert strip.text.toPlainText() == f"200 {text}"
    assert strip.text.font().pointSizeF() > strip.list.font().pointSizeF()
    strip.show_index(0)
    assert strip.text.toPlainText().startswith("100 ")


# -- run names ------------------------------------------------------------------------------------------------------
class QuickBackend(TrainingBackend):
    """The real adapter for runs (list, name, curves) with a one-family catalogue and no estimates or torch."""

    def families(self) -> list[dict]:
        return [{"family": "gan", "title": "GAN", "kinds": ("image",), "description": "Makes new pictures."}]

    def presets(self, family: str) -> dict:
        return {"fast": {"steps": 200}, "balanced": {"steps": 1000}, "best": {"steps": 4000}}

    def default_config(self, family: str) -> dict:
        return {"steps": 1000}

    def estimate(self, root, dataset, family, config, device) -> dict:
        return {"seconds": 60.0, "memory_bytes": 64 << 20}

    def warm_up(self) -> None:
        pass


def _run_folder(root: Path, run_id: str) -> Path:
    folder = root / "runs" / run_id
    for sub in ("checkpoints", "samples"):
        (folder / sub).mkdir(parents=True)
    config = {"run_id": run_id, "family": "gan", "dataset": "shapes", "config": {"steps": 200}, "schema": 1}
    (folder / "config.json").write_text(json.dumps({**config, "created": "2026-11-25T20:14:00"}))
    status = {"state": "finished", "step": 200, "total_steps": 200, "pid": os.getpid()}
    (folder / "status.json").write_text(json.dumps({**status, "host": socket.gethostname(), "heartbeat": time.time()}))
    (folder / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1 / s}) + "\n" for s in range(1, 201)))
    return folder


def _open_editor(run_list) -> QLineEdit | None:
    """The name editor open on the list (a closed one lingers until Qt deletes it)."""
    return next((e for e in run_list.findChildren(QLineEdit, "runNameEditor") if e.isVisible()), None)


@pytest.fixture
def training_panel(qtbot, panel_alone, tmp_path):
    project = create_project(tmp_path / "Spring Campaign")
    project.datasets["shapes"] = {"kind": "image", "items": 240, "path": "datasets/shapes"}
    project.save()
    folder = _run_folder(project.root, "20261125-201400-gan")
    panel = panel_alone("training")
    panel.backend = QuickBackend()
    panel.set_project(project)
    qtbot.waitUntil(lambda: panel.catalog is not None and panel.run_list.count() == 1, timeout=5000)
    return panel, folder


def test_a_run_renamed_in_the_list_keeps_its_name_after_the_runs_are_read_again(qtbot, training_panel):
    panel, folder = training_panel
    run_id = folder.name
    run_list = panel.run_list
    assert run_list.title(run_id) == "Nov 25, 20:14 · GAN"
    # double-click the title: an editor opens on it; Esc leaves the run as it was
    title = run_list.visualItemRect(run_list.item(0)).topLeft() + QPoint(60, 10)
    qtbot.mouseClick(run_list.viewport(), Qt.MouseButton.LeftButton, pos=title)  # a double-click's first press
    qtbot.mouseDClick(run_list.viewport(), Qt.MouseButton.LeftButton, pos=title)
    editor = _open_editor(run_list)
    assert editor is not None and editor.placeholderText() == "Nov 25, 20:14 · GAN"
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not (folder / runs.RUN_META).exists()
    # F2 on the selected run, type a name, Enter
    run_list.setCurrentRow(0)
    run_list.setFocus()
    qtbot.keyClick(run_list, Qt.Key.Key_F2)
    editor = _open_editor(run_list)
    assert editor is not None
    qtbot.keyClicks(editor, "Spring icons, first try")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (folder / runs.RUN_META).exists(), timeout=5000)
    assert json.loads((folder / runs.RUN_META).read_text())["name"] == "Spring icons, first try"
    # the runs are read again from disk (another project opened and this one again): the name stays
    panel.set_project(None)
    assert run_list.count() == 0
    panel.set_project(open_project(folder.parent.parent))
    qtbot.waitUntil(lambda: run_list.count() == 1, timeout=5000)
    assert run_list.title(run_id) == "Spring icons, first try"
    assert "Spring icons, first try" in run_list.item(0).toolTip() and run_id in run_list.item(0).toolTip()
    # the folder keeps its id: --run and --resume still take it
    assert [r.run_id for r in runs.list_runs(folder.parent.parent)] == [run_id]
    assert resolve_run_folder(folder.parent.parent, run_id, lambda _f: None, ()) == folder
