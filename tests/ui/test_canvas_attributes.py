"""The Image canvas's attribute sliders as a designer uses them, with the real core on a sparse VAE trained here for
a few seconds (tests/core/training/test_sparse_vae.py's ``make_shapes`` and ``train``): the Attributes button only
for a model whose family trains a sparse code, the most-used numbers listed with their strips and the sparsity in
words, dragging a slider redraws the picture (only the newest position's picture shows, the other numbers of the
code stay exactly as they were), Reset restores it, Export writes it, and a dropped picture becomes the one edited.

Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from layout_audit import cut_texts
from PIL import Image
from PySide6.QtCore import Qt
from test_canvas_panel import make_run
from test_canvas_transfer import drop, shot

from studio.core.generation import image_model
from studio.core.generation.png_settings import read_settings
from studio.core.project import open_project
from studio.ui.widgets.canvas.attributes import SLIDERS, STRIP_STEPS, offers_sliders, position_of, value_at

sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "training"))  # the core tests' shapes and training
Z_DIM = 16
SETTINGS = {
    "resolution": 32,
    "width": 8,
    "z_dim": Z_DIM,
    "batch_size": 16,
    "kl_warmup_steps": 30,
    "lr": 3e-3,
    "log_every": 50,
    "eval_every": 1000,
    "sample_every": 1000,
    "checkpoint_every": 1000,
    "eval_count": 16,
}
STEPS = 150


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A project whose dataset "shapes" (drawn circles, squares, triangles) trained a sparse VAE for a moment."""
    import torch
    from test_sparse_vae import make_shapes, train

    root = tmp_path_factory.mktemp("sliders")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:  # module scope: no per-test studio_home here
            patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
            project = make_shapes(root, per_class=8)
            train(project, "sparse_vae", SETTINGS, STEPS)
    finally:
        torch.set_num_threads(before)
    return project


@pytest.fixture
def project(trained, tmp_path) -> Path:
    """A fresh copy, with a (fake) GAN run beside the sparse VAE, and an empty model cache."""
    root = tmp_path / "Shapes"
    shutil.copytree(trained, root)
    make_run(root, "20200101-000000-gan", "gan", steps=(10,), created="2020-01-01T00:00:00")
    image_model.clear_cache()
    yield root
    image_model.clear_cache()


@pytest.fixture
def panel(qtbot, studio_app, project, panel_alone, no_starters):
    panel = panel_alone("image")
    panel.set_project(open_project(project))
    qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=10000)
    assert panel.controls.info()["kind"] == "sparse_vae"  # the newest run is selected
    return panel


def _open_sliders(qtbot, panel) -> None:
    with qtbot.waitSignal(panel.attributes.ready, timeout=60000):
        qtbot.mouseClick(panel.attributes_button, Qt.MouseButton.LeftButton)


def _move(qtbot, row, key=Qt.Key.Key_End) -> None:
    """Move a slider with the keyboard, as a user can (End: the top of its range)."""
    row.slider.setFocus()
    qtbot.keyClick(row.slider, key)


def test_only_a_family_with_a_sparse_code_offers_sliders(qtbot, panel):
    assert offers_sliders({"kind": "sparse_vae", "steps": [10]}) and not offers_sliders({"kind": "sparse_vae"})
    assert not any(offers_sliders({"kind": kind, "steps": [10]}) for kind in ("vae", "gan", "cyclegan", "gpt"))
    assert panel.attributes_button.isVisible() and not panel.attributes_button.isChecked()
    panel.controls.model.setCurrentIndex(panel.controls.model.findData("20200101-000000-gan"))
    assert not panel.attributes_button.isVisible() and panel.centre.currentWidget() is not panel.attributes
    assert position_of(value_at(250, -1.0, 3.0), -1.0, 3.0) == 250 and position_of(9.0, -1.0, 3.0) == 1000


def test_sliders_list_the_most_used_numbers_with_strips_and_edit_the_selected_picture(qtbot, panel, tmp_path):
    panel.controls.set_count(4)
    with qtbot.waitSignal(panel.generated, timeout=60000):
        panel.generate()
    panel.grid.select_row(2)
    tile = panel.grid.tiles()[2]
    _open_sliders(qtbot, panel)
    pane = panel.attributes
    assert panel.centre.currentWidget() is pane and panel.grid_label.text() == "Attribute sliders"
    dims = pane.dims["dims"]
    assert len(pane.rows) == len(dims) == SLIDERS and [r.index for r in pane.rows] == [d["index"] for d in dims]
    usages = [d["usage"] for d in dims]
    assert usages == sorted(usages, reverse=True)  # the most-used first
    assert pane.sparsity.text().endswith(f"of {Z_DIM} dimensions active on average")
    assert all(len(row.strip.images) == STRIP_STEPS for row in pane.rows)
    strip = pane.picture["strips"][pane.rows[0].index]
    assert not np.array_equal(strip[0], strip[-1])  # the first slider's strip shows a change
    # the picture edited is the grid's picture 3, made again from its settings
    assert pane.title.full_text() == "Image 3 · seed 42"
    difference = np.abs(pane.image.astype(int) - np.asarray(tile["pixels"]).astype(int)).mean()
    assert difference < 1.0, difference
    base_code = np.asarray(pane.picture["code"])
    for row in pane.rows:  # each slider starts where the picture's code has it
        assert row.value() == pytest.approx(
            np.clip(base_code[row.index], row.low, row.high), abs=(row.high - row.low) / 999
        )
    assert not pane.reset_button.isEnabled() and pane.export_button.isEnabled()
    shot(panel, tmp_path, "canvas-attribute-sliders.png")
    # the sliders' column and the work bar above it (the Image tab's own labels are the details pane's)
    assert cut_texts(panel.centre) == [] and cut_texts(panel.attributes_button.parentWidget()) == []

    # dragging one slider redraws the picture; the other numbers of its code stay exactly as they were
    row = pane.rows[0]
    edits: list[dict] = []
    pane.edited.connect(edits.append)
    _move(qtbot, row, Qt.Key.Key_Home)
    _move(qtbot, row, Qt.Key.Key_End)  # two moves in a row: only the last position is drawn
    qtbot.waitUntil(lambda: len(edits) == 1, timeout=30000)
    qtbot.wait(3 * 100)
    assert len(edits) == 1 and pane.values() == {row.index: pytest.approx(row.high)}
    code = np.asarray(edits[0]["code"])
    others = [i for i in range(Z_DIM) if i != row.index]
    assert np.array_equal(code[others], base_code[others]) and code[row.index] == pytest.approx(row.high, abs=1e-3)
    edited = pane.image.copy()
    assert not np.array_equal(edited, pane.picture["image"]) and pane.reset_button.isEnabled()
    assert pane.code_words.text().endswith(f"of {Z_DIM} dimensions active")
    shot(panel, tmp_path, "canvas-attribute-edited.png")

    # Export PNG…: the edited picture, with the model, the picture it came from and the slider's value inside
    panel.attributes.ask_export_folder = lambda: str(tmp_path / "out")
    with qtbot.waitSignal(pane.exported, timeout=30000) as exported:
        qtbot.mouseClick(pane.export_button, Qt.MouseButton.LeftButton)
    path = Path(exported.args[0][0])
    settings = read_settings(path)
    assert settings["source"] == "attributes" and settings["base"]["latent_index"] == 2
    assert settings["values"] == {str(row.index): pytest.approx(round(row.high, 4))}
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), edited)

    # Reset: every slider back, the picture as it was
    qtbot.mouseClick(pane.reset_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(pane.image, pane.picture["image"]) and pane.values() == {}
    assert row.value() == pytest.approx(
        np.clip(base_code[row.index], row.low, row.high), abs=(row.high - row.low) / 999
    )
    assert not pane.reset_button.isEnabled()

    # off again: the grid, as it was
    qtbot.mouseClick(panel.attributes_button, Qt.MouseButton.LeftButton)
    assert panel.centre.currentWidget() is panel.grid and len(panel.grid.tiles()) == 4


def test_a_dropped_picture_is_encoded_and_edited(qtbot, panel, tmp_path):
    _open_sliders(qtbot, panel)  # nothing selected: the dataset's most typical picture
    pane = panel.attributes
    assert pane.title.full_text() == "The dataset’s most typical picture" and pane.image is not None
    typical = pane.image.copy()
    qtbot.mouseClick(panel.attributes_button, Qt.MouseButton.LeftButton)  # back to the grid, to pick a picture
    panel.controls.set_count(4)
    with qtbot.waitSignal(panel.generated, timeout=60000):
        panel.generate()
    panel.grid.select_row(1)
    _open_sliders(qtbot, panel)
    assert pane.title.full_text() == "Image 2 · seed 42" and not np.array_equal(pane.image, typical)
    source = tmp_path / "my circle.png"
    Image.new("RGB", (48, 48), (250, 250, 250)).save(source)
    with qtbot.waitSignal(pane.ready, timeout=60000):
        drop(panel, [source])
    assert pane.title.full_text() == "Your picture “my circle.png”" and not np.array_equal(pane.image, typical)
    with qtbot.waitSignal(pane.edited, timeout=30000) as done:
        _move(qtbot, pane.rows[1])
    assert done.args[0]["values"] == {pane.rows[1].index: pytest.approx(pane.rows[1].high, abs=1e-3)}
