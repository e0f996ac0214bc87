"""The comparison board as a user drives it from the Training panel: open it for a run, watch the cells fill in,
enlarge one, cancel a long render, mark the best column, make a checkpoint the one the canvas uses, export the
page — and a creation panel's "Compare checkpoints" opening it for its run.

The runs are laid out by hand as the engine writes them (config.json with the model block, step-N.safetensors +
.json), with random but lively GAN weights: the real board job renders them (tiny networks, CPU) and nothing is
trained. The engine half of the Training panel is the real backend without its torch warm-up and estimates
(:class:`QuickBackend`), so listing runs and checkpoints is real too. Screenshots go to ``tmp_path`` (set
``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from layout_audit import cut_texts
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

from studio.core.generation.model_list import list_models
from studio.core.project import create_project, open_project
from studio.core.training import runs
from studio.ui.backends.training import TrainingBackend
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.common.audio_player import UNAVAILABLE, AudioPlayer
from studio.ui.widgets.training.board_dialog import BoardDialog

RUN = "20260301-101500-gan"
STEPS = (10, 20, 30)
VAL_LOSS = {10: 0.91, 20: 0.42, 30: 0.57}  # step 20 is the engine's best


class QuickBackend(TrainingBackend):
    """The real run listing, without the engine's torch warm-up and the per-preset time estimates."""

    def warm_up(self) -> None:
        pass

    def estimate(self, *args, **kwargs) -> dict:
        return {"seconds": 60.0, "memory_bytes": 64 << 20}


def _weights(network, seed: int) -> dict:
    """Random weights scaled so pictures differ visibly (DCGAN's own init would draw flat grey)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in network.state_dict().items():
        if not value.is_floating_point():
            state[name] = value.clone()
        elif name.endswith("running_var"):
            state[name] = torch.ones_like(value)
        elif name.endswith("running_mean"):
            state[name] = torch.zeros_like(value)
        elif name.endswith("norm.weight"):  # batch-norm scales near 1: the seed's latent carries through
            state[name] = 1.0 + 0.3 * torch.randn(value.shape, generator=generator)
        elif value.dim() > 1:  # transposed convolutions keep their fan-in in dimension 0
            state[name] = torch.randn(value.shape, generator=generator) * (1.2 / value.shape[0] ** 0.5)
        else:
            state[name] = 0.1 * torch.randn(value.shape, generator=generator)
    return state


def make_gan_run(root: Path, run_id: str, steps=STEPS, resolution: int = 32, width: int = 8) -> Path:
    """A finished GAN run with checkpoints at ``steps`` (each with a validation loss and a time; one "best")."""
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json
    from studio.core.nets.gan import build_generator

    model = {
        "kind": "gan",
        "resolution": resolution,
        "z_dim": 16,
        "width": width,
        "num_classes": 0,
        "classes": [],
        "weights": "generator",
        "ema": False,
    }
    folder = root / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    atomic_write_json(
        folder / "config.json",
        {
            "run_id": run_id,
            "family": "gan",
            "dataset": "pics",
            "preset": "fast",
            "config": {"resolution": resolution, "steps": max(steps)},
            "model": model,
            "seed": 0,
            "device": "cpu",
            "created": "2026-03-01T10:15:00+00:00",
            "schema": 1,
        },
    )
    atomic_write_json(folder / "status.json", {"state": "finished", "step": max(steps), "total_steps": max(steps)})
    network = build_generator(model)
    for i, step in enumerate(steps):
        weights = {f"generator.{k}": v.contiguous() for k, v in _weights(network, 100 + step).items()}
        stem = folder / "checkpoints" / f"step-{step:06d}"
        save_file(weights, str(stem.with_suffix(".safetensors")))
        record = {
            "step": step,
            "family": "gan",
            "metrics": {"loss": 1.0, "val_loss": VAL_LOSS.get(step, 0.5)},
            "best": step == 20,
            "created": f"2026-03-01T1{i}:20:00+00:00",
        }
        atomic_write_json(stem.with_suffix(".json"), record)
    return folder


def _project(tmp_path: Path, *run_args) -> Path:
    project = create_project(tmp_path / "Spring Campaign")
    project.datasets["pics"] = {"kind": "image", "items": 24, "path": "datasets/pics"}
    project.save()
    make_gan_run(project.root, RUN, *run_args)
    return project.root


def _shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(folder / name))
    return folder / name


@pytest.fixture
def panel(qtbot, studio_app, panel_alone, no_starters):
    panel = panel_alone("training")
    panel.backend = QuickBackend()
    return panel


def _open(qtbot, panel, root: Path):
    panel.set_project(open_project(root))
    qtbot.waitUntil(lambda: panel.catalog is not None and panel._run_info(RUN) is not None, timeout=10000)
    panel.run_list.select(RUN)
    assert panel.compare_button.isEnabled() and panel.compare_action.isEnabled()


def _wait_board(qtbot, panel, timeout: int = 30000):
    qtbot.waitUntil(lambda: panel.board_dialog is not None and not panel.board_slot.busy, timeout=timeout)
    return panel.board_dialog.view


def _image_bytes(cell) -> bytes:
    image = cell.pixmap.toImage()
    return bytes(image.constBits())


# -- the board in the Training panel ----------------------------------------------------------------------------------
def test_the_board_lays_out_the_checkpoints_fills_in_and_enlarges(qtbot, panel, tmp_path):
    root = _project(tmp_path)
    _open(qtbot, panel, root)
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)  # "Compare checkpoints…" beside the tabs
    view = _wait_board(qtbot, panel)
    dialog = panel.board_dialog
    assert dialog.isVisible() and "Compare checkpoints" in view.title.full_text()
    assert [head.step_label.text() for head in view.heads] == ["Step 10", "Step 20", "Step 30"]
    assert [label.text() for label in view.row_labels] == [f"Seed {s}" for s in range(6)]
    assert [head.metric_labels[0].full_text() for head in view.heads] == [
        "Validation loss 0.9100",
        "Validation loss 0.4200",
        "Validation loss 0.5700",
    ]
    assert [head.best_label.isVisible() for head in view.heads] == [False, True, False]
    assert view.filled() == 18 and all(not c.pixmap.isNull() for column in view.cells for c in column)
    assert _image_bytes(view.cells[0][0]) != _image_bytes(view.cells[2][0])  # the columns differ by their weights
    assert _image_bytes(view.cells[0][0]) != _image_bytes(view.cells[0][1])  # and the rows by their seeds
    assert "Rendered 18 of 18 cells" in view.message.text()
    assert view.settings.steps.summary() == "All 3 checkpoints" and view.settings.seeds.isVisible()
    assert not view.settings.prompts[0].isVisible()  # prompts are for writers

    qtbot.mouseClick(view.cells[1][2], Qt.MouseButton.LeftButton)  # enlarge: Step 20, Seed 2
    cell_dialog = dialog.cell_dialog
    assert cell_dialog is not None and cell_dialog.isVisible()
    assert cell_dialog.caption.text() == "Step 20 · Seed 2"
    assert not cell_dialog.picture.pixmap.isNull() and cell_dialog.picture.shown_rect().width() >= 128
    cell_dialog.show_later()  # → the same seed one checkpoint later
    assert cell_dialog.caption.text() == "Step 30 · Seed 2" and not cell_dialog.later.isEnabled()
    cell_dialog.close()

    dialog.resize(1200, 740)  # the window on a 1280 × 800 screen
    _shot(dialog, tmp_path, "compare-board-gan.png")
    assert cut_texts(dialog) == []

    panel.compare_run(RUN)  # opened again: every cell from the cache, no model loaded
    view = _wait_board(qtbot, panel)
    assert view.board["model_loads"] == 0 and view.board["cached_cells"] == 18
    assert view.filled() == 18 and "from the cache" in view.message.text()

    view.settings.steps.set_picked([10, 30])  # pick two checkpoints and fewer seeds: Render
    view.settings.seeds.setValue(2)
    qtbot.mouseClick(view.settings.render_button, Qt.MouseButton.LeftButton)
    view = _wait_board(qtbot, panel)
    assert [head.step for head in view.heads] == [10, 30] and len(view.row_labels) == 2
    assert view.settings.steps.summary() == "2 of 3 checkpoints" and view.board["model_loads"] == 0


def test_cancel_stops_the_render_within_a_second_and_keeps_the_cells(qtbot, panel, tmp_path):
    root = _project(tmp_path, STEPS, 128, 32)  # ~0.1 s a cell: a 48-cell board takes seconds
    _open(qtbot, panel, root)
    panel.compare_action.trigger()  # the run list's context menu: "Compare checkpoints…"
    qtbot.waitUntil(lambda: panel.board_dialog is not None and bool(panel.board_dialog.view.heads), timeout=15000)
    view = panel.board_dialog.view
    view.settings.seeds.setValue(16)
    panel.render_board()
    qtbot.waitUntil(lambda: len(view.row_labels) == 16 and view.filled() >= 2, timeout=30000)  # this render's
    assert view.status.currentWidget() is view.strip and view.strip.cancel_button.isEnabled()
    started = time.monotonic()
    with qtbot.waitSignal(panel.board_slot.cancelled, timeout=5000):
        qtbot.mouseClick(view.strip.cancel_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 1.0
    qtbot.waitUntil(lambda: not panel.board_slot.busy, timeout=5000)
    assert 2 <= view.filled() < 48 and "Stopped" in view.message.text()
    assert view.status.currentWidget() is view.message


def test_mark_best_use_this_checkpoint_and_export(qtbot, panel, tmp_path, monkeypatch):
    root = _project(tmp_path)
    _open(qtbot, panel, root)
    panel.compare_run(RUN)
    view = _wait_board(qtbot, panel)
    folder = root / "runs" / RUN

    qtbot.mouseClick(view.heads[2].mark_button, Qt.MouseButton.LeftButton)  # the user's own pick: step 30
    qtbot.waitUntil(lambda: runs.marked_steps(folder) == [30], timeout=5000)
    assert view.heads[2].mark_button.text() == "★ Marked best"

    with qtbot.waitSignal(panel.checkpoint_chosen, timeout=5000) as chosen:
        qtbot.mouseClick(view.heads[0].use_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [RUN]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["chosen_step"] == 10 and meta["marked_steps"] == [30]
    assert view.heads[0].use_button.text() == "✓ In use" and not view.heads[0].use_button.isEnabled()
    assert view.heads[1].use_button.isEnabled() and "Step 10 is now" in view.message.text()
    assert list_models(root, "image")[0].chosen_step == 10  # what the canvas lists next time

    out = tmp_path / "shared" / "board.html"
    out.parent.mkdir()
    asked = []
    monkeypatch.setattr(panel, "ask_board_html_path", lambda name: asked.append(name) or str(out))
    qtbot.mouseClick(view.settings.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: out.is_file() and "saved to" in view.message.text(), timeout=10000)
    page = out.read_text(encoding="utf-8")
    assert asked == [f"{RUN}-board.html"]
    assert "http" not in page.lower() and page.count("<img") == 18
    assert page.count('class="badge">Best') == 1  # the user's mark, not the engine's star
    assert '<div class="step">Step 30<span class="badge">Best' in page

    panel.compare_run(RUN)  # opened again: the notes come back from meta.json
    view = _wait_board(qtbot, panel)
    assert view.heads[0].in_use and view.heads[2].mark_button.isChecked()


# -- cells that are read or played --------------------------------------------------------------------------------
def _write_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = (0.2 * np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


def _board(modality: str, cells: list[list[dict]], rows: list[str]) -> dict:
    return {
        "modality": modality,
        "runs": [{"run_id": "r", "name": "Voice", "family": "tts", "dataset": "d", "settings": {}}],
        "columns": [
            {"run_id": "r", "step": 100 * (i + 1), "created": "", "metrics": {}, "best": False, "checkpoint": ""}
            for i in range(len(cells))
        ],
        "rows": [{"key": f"row-{i}", "label": label} for i, label in enumerate(rows)],
        "cells": cells,
    }


class RecordingOutput:
    name = "recording"

    def __init__(self) -> None:
        self.played: list[int] = []

    def probe(self) -> None:
        pass

    def play(self, samples, rate) -> None:
        self.played.append(len(samples))

    def stop(self) -> None:
        pass


def test_a_clip_plays_and_no_audio_device_says_so_plainly(qtbot, studio_app, tmp_path):
    for i in range(2):
        _write_wav(tmp_path / f"runs/r/board/k{i}/cell.wav")
    board = _board("audio", [[{"file": f"runs/r/board/k{i}/cell.wav", "seconds": 0.5}] for i in range(2)], ["Hello."])
    dialog = BoardDialog()
    qtbot.addWidget(dialog)
    dialog.view.root = tmp_path
    dialog.view.set_layout(board)
    dialog.show()
    dialog.player = AudioPlayer(outputs=[])  # this computer has no sound output
    qtbot.mouseClick(dialog.view.cells[1][0], Qt.MouseButton.LeftButton)
    assert dialog.view.message.text() == UNAVAILABLE and dialog.cell_dialog is None

    output = RecordingOutput()
    dialog.player = AudioPlayer(outputs=[output])
    dialog.player.playing_changed.connect(dialog._on_playing)
    qtbot.mouseClick(dialog.view.cells[1][0], Qt.MouseButton.LeftButton)
    assert output.played == [8000] and dialog.view.cells[1][0].playing
    qtbot.mouseClick(dialog.view.cells[1][0], Qt.MouseButton.LeftButton)  # a second click stops it
    assert not dialog.player.is_playing() and not dialog.view.cells[1][0].playing
    dialog.player.stop()


def test_a_text_cell_opens_the_whole_text_to_read(qtbot, studio_app, tmp_path):
    long_text = "Fresh roasted coffee, delivered to your door every Monday. " * 30
    cells = [[{"file": "x.txt", "text": long_text}, {"file": "y.txt", "text": ""}]]
    dialog = BoardDialog()
    qtbot.addWidget(dialog)
    dialog.view.root = tmp_path
    dialog.view.set_layout(_board("text", cells, ["Once upon a time", "Your own prompt"]))
    dialog.show()
    assert dialog.view.settings.prompts[0].isVisible() and not dialog.view.settings.seeds.isVisible()
    assert dialog.view.row_labels[0].text() == "Once upon a time"
    qtbot.mouseClick(dialog.view.cells[0][0], Qt.MouseButton.LeftButton)
    assert dialog.cell_dialog.shown_text() == long_text
    assert dialog.cell_dialog.caption.text() == "Step 100 · Once upon a time"


# -- from the window ----------------------------------------------------------------------------------------------
@pytest.mark.main_window
def test_a_creation_panel_opens_the_board_and_the_canvas_follows_the_chosen_checkpoint(
    qtbot, studio_app, tmp_path, no_starters
):
    root = _project(tmp_path)
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.panels["training"].backend = QuickBackend()
    window.setFixedSize(QSize(1280, 820))
    with qtbot.waitExposed(window):
        window.show()
    window.set_project(open_project(root))
    canvas, training = window.panels["image"], window.panels["training"]
    window.show_panel("image")
    qtbot.waitUntil(lambda: canvas.controls.run_id() == RUN, timeout=10000)
    assert canvas.controls.step() == 30 and canvas.controls.checkpoint.currentText() == "Step 30  (newest)"

    with qtbot.waitSignal(training.board_shown, timeout=15000):
        canvas.compare_requested.emit(RUN)  # a gallery item's or the canvas's "Compare checkpoints"
    assert window.current_panel_id == "training" and training.board_run == RUN
    view = _wait_board(qtbot, training)
    assert len(view.heads) == 3

    qtbot.mouseClick(view.heads[1].use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: canvas.controls.step() == 20, timeout=10000)  # the canvas listed its models again
    assert canvas.controls.checkpoint.currentText() == "Step 20  (chosen)"
    assert runs.chosen_step(root / "runs" / RUN) == 20
    training.board_dialog.close()


# -- the chosen checkpoint everywhere else ----------------------------------------------------------------------------
def test_the_chosen_step_is_kept_beside_the_name_and_is_what_generation_uses_by_default(tmp_path):
    from studio.core.generation.run_models import checkpoint_for
    from studio.core.jobs import JobError

    root = _project(tmp_path)
    folder = root / "runs" / RUN
    runs.set_run_name(folder, "Spring shoot")
    assert checkpoint_for(folder, None).step == 30  # nothing chosen: the newest
    assert runs.set_chosen_step(folder, 20) == 20
    assert json.loads((folder / "meta.json").read_text()) == {"name": "Spring shoot", "chosen_step": 20}
    assert checkpoint_for(folder, None).step == 20  # the CLI's generate without --checkpoint, the exports
    assert checkpoint_for(folder, 30).step == 30  # an explicit step still wins
    with pytest.raises(JobError, match="no checkpoint at step 25"):
        runs.set_chosen_step(folder, 25)
    (folder / "checkpoints" / "step-000020.json").unlink()  # pruned: the newest again, everywhere
    assert checkpoint_for(folder, None).step == 30 and list_models(root, "image")[0].chosen_step is None
    for hostile in ('{"chosen_step": true}', '{"chosen_step": -3}', '{"chosen_step": "20"}', "[]", "{"):
        (folder / "meta.json").write_text(hostile)
        assert runs.chosen_step(folder) is None
    assert runs.set_chosen_step(folder, None) is None and runs.set_marked(folder, 10, True) == [10]


def test_the_speech_picker_defaults_to_the_chosen_step_and_follows_a_new_choice(qtbot, studio_app):
    from studio.ui.widgets.speech.controls import SpeechControls

    controls = SpeechControls()
    qtbot.addWidget(controls)
    voice = {
        "id": "20260301-101500-tts",
        "title": "Studio voice (trained)",
        "kind": "trained",
        "language": "en-us",
        "sample_rate": 22050,
        "detail": "Trained on clips",
        "steps": [100, 200, 300],
        "chosen_step": 200,
        "vocoders": [{"id": "griffinlim", "title": "Griffin-Lim (built in)"}],
    }
    controls.set_voices([voice])
    assert controls.select(voice["id"]) and controls.step() == 200
    assert controls.checkpoint.currentText() == "Step 200  (chosen)"
    controls.set_voices([{**voice, "chosen_step": 100}])  # "Use this checkpoint" on another column
    assert controls.step() == 100
    controls.set_voices([{**voice, "chosen_step": 100}])  # listed again, unchanged: the user's own pick stays
    controls.checkpoint.setCurrentIndex(0)
    controls.set_voices([{**voice, "chosen_step": 100}])
    assert controls.step() == 300
