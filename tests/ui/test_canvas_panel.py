"""The Image canvas as a designer drives it: pick a model, generate grids, enlarge, star, vary, walk, export,
open a PNG again, drop pictures on a VAE — and the empty states that say what to do first.

Most tests use a FAKE generation core (:class:`FakeCanvasBackend`): deterministic coloured squares computed from
each image's settings (the same settings always give the same pixels, and latent i of a seed does not depend on
the grid size, as the real core promises), instant jobs called with a JobContext through the panel's registry,
PNG files with the settings in a text chunk, and real GIF files. The model list is the real one
(:meth:`CanvasBackend.list_models` reads run folders; no torch). One test uses the real core when it is there.
The canvas is built on its own (``panel_alone``) except in the tests marked ``main_window``, which check what
the window wires: navigation, "Open in canvas" from Training, the state saved with the window.
Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from PySide6.QtCore import QMimeData, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.jobs import JobContext, JobError
from studio.core.project import create_project, open_project
from studio.ui.backends.canvas import CanvasBackend
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.canvas.grid import settings_key, tile_rects

RES = 32


# -- the fake generation core -------------------------------------------------------------------------------------
def fake_pixels(settings: dict) -> np.ndarray:
    """A picture that only its settings decide: a background and a square, coloured by a hash of the settings."""
    rng = np.random.default_rng(zlib.crc32(settings_key(settings).encode()))
    image = np.empty((RES, RES, 3), np.uint8)
    image[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    corner = int(rng.integers(0, RES // 2))
    image[corner : corner + RES // 2, corner : corner + RES // 2] = rng.integers(0, 256, 3, dtype=np.uint8)
    return image


class FakeJob:
    kind = "task"

    def __init__(self, title: str, make, delay: float = 0.0) -> None:
        self.title, self.make, self.delay = title, make, delay

    def __call__(self, ctx: JobContext):
        end = time.monotonic() + self.delay
        while time.monotonic() < end:
            ctx.check()
            time.sleep(0.01)
        ctx.check()
        ctx.progress(0.5, "half way")
        return self.make()


def _gif(frames: np.ndarray, path: Path, fps: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = [Image.fromarray(f) for f in frames]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], loop=0, duration=int(1000 / fps))


class FakeCanvasBackend:
    """The CanvasBackend contract, with pictures from :func:`fake_pixels` instead of a network."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.calls: list[tuple] = []

    def available(self) -> bool:
        return True

    def list_models(self, root):
        return CanvasBackend().list_models(root)  # the real listing: run folders, no torch

    def grid_job(self, folder, step, seed, count, truncation, class_name):
        self.calls.append(("grid", Path(folder).name, step, seed, count, truncation, class_name))
        base = {"run_id": Path(folder).name, "step": step, "seed": seed, "class": class_name, "truncation": truncation}
        settings = [{**base, "latent_index": i} for i in range(count)]
        return FakeJob(
            f"Generating {count} images",
            lambda: {"images": np.stack([fake_pixels(s) for s in settings]), "settings": settings},
            self.delay,
        )

    def variations_job(self, folder, step, settings, strength, count, seed):
        self.calls.append(("variations", settings_key(settings), strength, count))
        chain = list(settings.get("variations") or [])
        out = [dict(settings)] + [
            {**settings, "variations": [*chain, {"seed": seed, "strength": strength, "index": k}]}
            for k in range(count - 1)
        ]
        return FakeJob(
            "Making variations", lambda: {"images": np.stack([fake_pixels(s) for s in out]), "settings": out}
        )

    def walk_job(
        self, folder, step, settings, frames_per_step, easing, loop, fps, gif_path, scale=1, resample="nearest"
    ):
        self.calls.append(("walk", len(settings), frames_per_step, easing, loop, fps))
        if gif_path is not None:
            self.calls[-1] += (Path(gif_path).name, scale, resample)

        def make():
            keys = [fake_pixels(s).astype(np.float32) for s in settings]
            legs = list(zip(keys, keys[1:] + keys[:1], strict=True)) if loop else list(itertools.pairwise(keys))
            frames = [a + (b - a) * t for a, b in legs for t in np.linspace(0, 1, frames_per_step, endpoint=False)]
            if not loop:
                frames.append(keys[-1])
            frames = np.stack(frames).round().astype(np.uint8)
            if gif_path is None:  # a preview: no file
                return {"frames": frames, "gif": None, "fps": fps}
            _gif(frames.repeat(scale, axis=1).repeat(scale, axis=2), Path(gif_path), fps)
            return {"frames": frames, "gif": str(gif_path), "fps": fps}

        return FakeJob("Making a latent walk", make)

    def export_job(self, items, folder, scale, resample):
        self.calls.append(("export", len(items), scale, resample))

        def make():
            written = []
            for pixels, settings in items:
                picture = Image.fromarray(pixels)
                if scale > 1:
                    picture = picture.resize(
                        (RES * scale, RES * scale),
                        Image.Resampling.LANCZOS if resample == "lanczos" else Image.Resampling.NEAREST,
                    )
                info = PngImagePlugin.PngInfo()
                info.add_text("aigc-studio", json.dumps({**settings, "scale": scale, "resample": resample}))
                path = Path(folder) / f"seed{settings['seed']}-n{settings['latent_index']}-x{scale}.png"
                picture.save(path, pnginfo=info)
                written.append(str(path))
            return written

        return FakeJob("Exporting PNG files", make)

    def read_png_settings(self, path):
        with Image.open(path) as picture:
            if "aigc-studio" not in getattr(picture, "text", {}):
                raise JobError(f"{Path(path).name} has no AIGC Studio settings.")
            return json.loads(picture.text["aigc-studio"])

    def regenerate_job(self, root, path):
        def make():
            settings = self.read_png_settings(path)
            with Image.open(path) as picture:
                original = np.asarray(picture.convert("RGB"))
            again = Image.fromarray(fake_pixels({k: v for k, v in settings.items() if k not in ("scale", "resample")}))
            scale = int(settings.get("scale", 1))
            if scale > 1:
                again = again.resize(
                    (RES * scale, RES * scale),
                    Image.Resampling.LANCZOS if settings.get("resample") == "lanczos" else Image.Resampling.NEAREST,
                )
            again = np.asarray(again)
            return {
                "settings": settings,
                "original": original,
                "regenerated": again,
                "path": str(path),
                "identical": bool(np.array_equal(original, again)),
            }

        return FakeJob("Regenerating from a PNG", make)

    def reconstruct_job(self, folder, step, paths):
        def make():
            originals = np.stack([np.asarray(Image.open(p).convert("RGB").resize((RES, RES))) for p in paths])
            return {
                "originals": originals,
                "reconstructions": (originals // 2 + 60).astype(np.uint8),
                "names": [Path(p).name for p in paths],
            }

        return FakeJob("Reconstructing with the VAE", make)

    def morph_job(self, folder, step, path_a, path_b, frames, fps, gif_path):
        def make():
            a, b = (np.asarray(Image.open(p).convert("RGB").resize((RES, RES)), np.float32) for p in (path_a, path_b))
            out = np.stack([a + (b - a) * t for t in np.linspace(0, 1, frames)]).round().astype(np.uint8)
            _gif(out, Path(gif_path), fps)
            return {
                "originals": np.stack([a, b]).astype(np.uint8),
                "frames": out,
                "gif": str(gif_path),
                "fps": fps,
                "names": [Path(path_a).name, Path(path_b).name],
            }

        return FakeJob("Morphing between two pictures", make)


# -- fixtures -------------------------------------------------------------------------------------------------------
def _shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    assert widget.grab().save(str(target))
    return target


def make_run(root: Path, run_id: str, family: str = "gan", steps=(200, 400), classes=(), created: str = "") -> Path:
    """A run folder as the engine writes it (config with the model description, status, checkpoints)."""
    folder = root / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    model = {
        "kind": family,
        "resolution": RES,
        "z_dim": 16,
        "width": 8,
        "num_classes": len(classes),
        "classes": list(classes),
        "weights": "generator" if family == "gan" else "vae",
        "ema": False,
    }
    (folder / "config.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "family": family,
                "dataset": "shapes",
                "preset": "fast",
                "config": {"resolution": RES},
                "model": model,
                "seed": 0,
                "device": "cpu",
                "created": created or run_id[:15],
                "schema": 1,
            }
        )
    )
    (folder / "status.json").write_text(json.dumps({"state": "finished", "step": max(steps, default=0)}))
    for step in steps:
        (folder / "checkpoints" / f"step-{step:06d}.json").write_text(json.dumps({"step": step, "metrics": {}}))
        (folder / "checkpoints" / f"step-{step:06d}.safetensors").write_bytes(b"weights")
    return folder


class NoTraining:
    """The Training panel's engine, absent: its catalogue job then ends at once instead of importing torch,
    which these tests do not need (they only use the Training panel's "Open in canvas")."""

    def available(self) -> bool:
        return False


def _window(qtbot) -> MainWindow:
    window = MainWindow(AppSettings())
    window.panels["training"].backend = NoTraining()
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.setFixedSize(QSize(1280, 820))
    with qtbot.waitExposed(window):
        window.show()
    return window


def _open(qtbot, window, fake, root: Path):
    panel = window.panels["image"]
    panel.backend = fake
    window.set_project(open_project(root))
    window.show_panel("image")
    qtbot.waitUntil(
        lambda: panel.models is not None and panel.models_slot.runner is None,
        timeout=5000,
    )
    return panel


@pytest.fixture
def fake():
    return FakeCanvasBackend()


@pytest.fixture
def project_root(tmp_path):
    root = create_project(tmp_path / "Spring Campaign").root
    make_run(root, "20261125-201400-gan", "gan", steps=(200, 400), classes=("circles", "stars"))
    make_run(root, "20261124-100000-vae", "vae", steps=(300,))
    return root


@pytest.fixture
def panel(request, qtbot, studio_app, fake, project_root, panel_alone):
    """The canvas with the project open: on its own, or inside the whole window for tests marked main_window."""
    if request.node.get_closest_marker("main_window"):
        window = _window(qtbot)
        panel = _open(qtbot, window, fake, project_root)
        panel.window_ = window
        return panel
    panel = panel_alone("image")
    panel.backend = fake
    panel.set_project(open_project(project_root))
    qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=5000)
    return panel


def _generate(qtbot, panel, key: bool = True):
    with qtbot.waitSignal(panel.generated, timeout=5000) as done:
        if key:
            panel.setFocus()
            qtbot.keyClick(panel, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return
        else:
            qtbot.mouseClick(panel.controls.generate_button, Qt.MouseButton.LeftButton)
    return done.args[0]


def _pixels(panel) -> list[bytes]:
    return [t["pixels"].tobytes() for t in panel.grid.tiles()]


def _click_tile(qtbot, panel, row: int, modifier=Qt.KeyboardModifier.NoModifier, where: str = "centre") -> None:
    rect = panel.grid.visualRect(panel.grid.model_.index(row))
    card, star, box = tile_rects(rect)
    point = {"centre": card.center(), "star": star.center(), "box": box.center()}[where]
    qtbot.mouseClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, modifier, point)


# -- tests --------------------------------------------------------------------------------------------------------
def test_empty_states_say_what_to_do(qtbot, studio_app, tmp_path, fake, no_starters):
    window = _window(qtbot)
    panel = window.panels["image"]
    panel.backend = fake
    window.show_panel("image")
    assert panel.stack.currentWidget() is panel.empty and "Open a project" in panel.empty.title.text()
    assert not panel.empty.button.isVisible()

    root = create_project(tmp_path / "Empty").root
    make_run(root, "20261125-090000-text-gpt", "text-gpt")  # not an image model: not offered
    _open(qtbot, window, fake, root)
    assert panel.empty.title.text() == "No image model trained yet" and panel.empty.button.isVisible()
    _shot(window, tmp_path, "canvas-no-model.png")
    qtbot.mouseClick(panel.empty.button, Qt.MouseButton.LeftButton)
    assert window.current_panel_id == "training"

    make_run(root, "20261125-100000-gan", "gan", steps=())  # a run that has not saved a checkpoint yet
    _open(qtbot, window, fake, root)
    assert panel.stack.currentWidget() is panel.content
    assert not panel.controls.generate_button.isEnabled()
    assert "no checkpoint yet" in panel.controls.hint.text()
    assert panel.centre.currentWidget() is panel.grid_empty
    assert panel.grid_empty.title.text() == "This run has no checkpoint yet" and panel.grid_empty.button.isVisible()
    assert not panel.controls.checkpoint.isEnabled()
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert panel.generate_slot.runner is None and not fake.calls  # nothing runs without a checkpoint
    _shot(window, tmp_path, "canvas-no-checkpoint.png")


@pytest.mark.main_window
def test_models_checkpoints_and_classes_are_offered(no_starters, qtbot, panel):
    controls = panel.controls
    assert [controls.model.itemData(i) for i in range(controls.model.count())] == [
        "20261125-201400-gan",
        "20261124-100000-vae",
    ]  # newest first
    assert controls.step() == 400 and controls.checkpoint.count() == 2  # newest checkpoint first
    assert controls.class_choice.isVisible() and controls.class_name() == "circles"
    assert controls.facts.text() == "GAN · 32 × 32 px · 2 classes · on shapes"
    assert not controls.open_image_button.isEnabled() and "Only a VAE" in controls.open_image_button.toolTip()
    controls.checkpoint.setCurrentIndex(1)
    controls.set_class("stars")
    window = panel.window_
    window.show_panel("training")  # coming back lists the runs again (new checkpoints may have appeared)...
    assert panel.models_slot.runner is None
    window.show_panel("image")
    assert panel.models_slot.runner is not None
    qtbot.waitUntil(lambda: panel.models_slot.runner is None, timeout=5000)
    assert controls.step() == 200 and controls.class_name() == "stars"  # ...and keeps what was chosen
    controls.model.setCurrentIndex(1)
    assert not controls.class_choice.isVisible() and controls.class_name() is None
    assert controls.open_image_button.isEnabled() and controls.step() == 300
    assert panel.centre.currentWidget() is panel.grid_empty and "Press Generate" in panel.grid_empty.title.text()


def test_generate_fills_the_grid_and_the_same_seed_gives_the_same_images(qtbot, panel, fake, tmp_path):
    controls = panel.controls
    qtbot.mouseClick(controls.size_buttons[16], Qt.MouseButton.LeftButton)
    controls.seed.setValue(1234)
    assert _generate(qtbot, panel, key=False) == 16
    assert panel.grid.model_.rowCount() == 16 and panel.centre.currentWidget() is panel.grid
    assert fake.calls[-1] == ("grid", "20261125-201400-gan", 400, 1234, 16, 1.0, "circles")
    assert panel.grid_label.text() == "16 images · seed 1234"
    shot = _shot(panel.window(), tmp_path, "canvas-grid.png")
    rects = [panel.grid.visualRect(panel.grid.model_.index(r)) for r in range(16)]
    assert len({r.top() for r in rects}) == 4 and len({r.left() for r in rects}) == 4  # 4 × 4
    assert all(panel.grid.viewport().rect().contains(r) for r in rects)  # all of it in view: no scrolling
    assert panel.grid.side >= 90
    first = _pixels(panel)
    assert len(set(first)) == 16
    assert shot.stat().st_size > 20_000

    qtbot.mouseClick(controls.size_buttons[4], Qt.MouseButton.LeftButton)
    assert _generate(qtbot, panel) == 4
    # what the panel is responsible for (that image i of a seed does not depend on the grid size is the core's
    # property, tested in tests/core/generation): it asks for the same seed and settings, only fewer images,
    # and the 16 tiles are replaced by the 4 new ones, in order, under a title that says so
    assert fake.calls[-1] == ("grid", "20261125-201400-gan", 400, 1234, 4, 1.0, "circles")
    assert [(t["settings"]["seed"], t["settings"]["latent_index"]) for t in panel.grid.tiles()] == [
        (1234, 0),
        (1234, 1),
        (1234, 2),
        (1234, 3),
    ]
    assert _pixels(panel) == first[:4] and panel.grid_label.text() == "4 images · seed 1234"
    qtbot.mouseClick(controls.dice, Qt.MouseButton.LeftButton)  # a new seed, and generate
    qtbot.waitUntil(lambda: fake.calls[-1][3] != 1234 and panel.generate_slot.runner is None, timeout=5000)
    qtbot.waitUntil(lambda: _pixels(panel) != first[:4], timeout=5000)
    controls.seed.setValue(1234)
    _generate(qtbot, panel)
    assert _pixels(panel) == first[:4]
    controls.set_truncation(0.5)  # other settings, other images
    qtbot.mouseClick(controls.size_buttons[64], Qt.MouseButton.LeftButton)
    assert _generate(qtbot, panel) == 64
    assert fake.calls[-1][5] == 0.5 and _pixels(panel)[:4] != first[:4]
    rects = [panel.grid.visualRect(panel.grid.model_.index(r)) for r in range(64)]
    assert len({r.top() for r in rects}) == 8 and panel.grid.side >= 48  # 8 × 8


def test_a_newer_request_cancels_a_stale_one(qtbot, panel, fake):
    fake.delay = 1.0
    panel.controls.seed.setValue(1)
    panel.generate()
    stale = panel.generate_slot.runner
    assert panel.progress.isVisible() and panel.controls.generate_button.text() == "Generating…"
    fake.delay = 0.0
    panel.controls.seed.setValue(2)
    with qtbot.waitSignal(panel.generated, timeout=5000):
        panel.generate()
    qtbot.waitUntil(lambda: stale.state == "cancelled", timeout=5000)
    assert panel.grid.tiles()[0]["settings"]["seed"] == 2
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)
    assert panel.controls.generate_button.text() == "Generate"


def test_select_move_star_filter_and_enlarge(qtbot, panel, tmp_path):
    panel.controls.set_count(16)
    _generate(qtbot, panel)
    _click_tile(qtbot, panel, 5)
    assert panel.grid.current_row() == 5 and panel.details.values["index"].text() == "6"
    assert panel.details.values["seed"].text() == "42" and panel.details.values["class"].text() == "circles"
    assert panel.details.view.scale() >= 5  # a 32 px picture shown large, in whole pixels
    qtbot.keyClick(panel.grid, Qt.Key.Key_Right)  # arrows move the selection
    assert panel.grid.current_row() == 6 and panel.grid.selected_rows() == [6]
    qtbot.keyClick(panel.grid, Qt.Key.Key_Space)  # Space stars it
    assert panel.details.star_button.isChecked() and len(panel.favourites) == 1
    _click_tile(qtbot, panel, 0, where="star")  # the star on a tile
    assert len(panel.favourites) == 2 and panel.grid.current_row() == 6  # a star click does not select
    qtbot.keyClick(panel.grid, Qt.Key.Key_Space)  # again: unstar
    assert len(panel.favourites) == 1
    qtbot.keyClick(panel.grid, Qt.Key.Key_Space)
    assert panel.favourites_button.text() == "★ Favourites (2)"

    starred = {panel.grid.tiles()[0]["key"], panel.grid.tiles()[6]["key"]}
    qtbot.mouseClick(panel.favourites_button, Qt.MouseButton.LeftButton)
    assert {t["key"] for t in panel.grid.tiles()} == starred and panel.grid_label.text() == "Favourites · 2"
    _shot(panel.window(), tmp_path, "canvas-favourites.png")
    panel.controls.seed.setValue(7)
    _generate(qtbot, panel)  # a new grid: favourites are kept
    assert not panel.favourites_button.isChecked() and len(panel.favourites) == 2
    qtbot.mouseClick(panel.favourites_button, Qt.MouseButton.LeftButton)
    assert panel.grid.model_.rowCount() == 2
    panel.controls.checkpoint.setCurrentIndex(panel.controls.checkpoint.findData(200))  # another checkpoint:
    _click_tile(qtbot, panel, 0)
    assert not panel.details.variations_button.isEnabled()  # its images cannot be varied by this one
    assert "another model or checkpoint" in panel.details.variations_button.toolTip()
    panel.controls.checkpoint.setCurrentIndex(panel.controls.checkpoint.findData(400))
    assert panel.details.variations_button.isEnabled()
    qtbot.mouseClick(panel.favourites_button, Qt.MouseButton.LeftButton)
    # the grid was made before the checkpoint changed: it was cleared then (favourites stay, they carry their model)
    assert panel.grid.model_.rowCount() == 0 and panel.centre.currentWidget() is panel.grid_empty
    assert len(panel.favourites) == 2
    _generate(qtbot, panel)
    assert panel.grid.model_.rowCount() == 16

    _click_tile(qtbot, panel, 3)
    qtbot.keyClick(panel.grid, Qt.Key.Key_Return)  # Enter enlarges
    assert panel.centre.currentWidget() is panel.enlarged
    assert panel.enlarged.view.scale() >= 10 and "seed 7 · image 4" in panel.enlarged.caption.text()
    _shot(panel.window(), tmp_path, "canvas-enlarged.png")
    qtbot.keyClick(panel.enlarged, Qt.Key.Key_Escape)
    assert panel.centre.currentWidget() is panel.grid
    centre = panel.grid.visualRect(panel.grid.model_.index(2)).center()
    qtbot.mouseClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a real double click
    qtbot.mouseDClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # presses first
    assert panel.centre.currentWidget() is panel.enlarged
    qtbot.mouseClick(panel.enlarged.back_button, Qt.MouseButton.LeftButton)
    assert panel.centre.currentWidget() is panel.grid


def _strip_tile(qtbot, strip, row: int, modifier=Qt.KeyboardModifier.NoModifier, where: str = "centre") -> None:
    rect = strip.grid.visualRect(strip.grid.model_.index(row))
    card, star, box = tile_rects(rect)
    point = {"centre": card.center(), "star": star.center(), "box": box.center()}[where]
    qtbot.mouseClick(strip.grid.viewport(), Qt.MouseButton.LeftButton, modifier, point)


def _vary(qtbot, panel):
    with qtbot.waitSignal(panel.strip_opened, timeout=5000) as opened:
        qtbot.mouseClick(panel.details.variations_button, Qt.MouseButton.LeftButton)
    return opened.args[0]


def test_variations_open_a_strip_under_the_grid_and_the_grid_stays(qtbot, panel, fake, tmp_path):
    panel.controls.set_count(36)
    _generate(qtbot, panel)
    grid_before = _pixels(panel)
    _click_tile(qtbot, panel, 2)
    original = panel.current_tile()
    assert panel.details.values["index"].text() == "3"  # "image 3"
    panel.details.strength.setValue(60)
    strip = _vary(qtbot, panel)
    assert fake.calls[-1] == ("variations", original["key"], 0.6, 16)
    # the grid is untouched: the same 36 pictures under the same title
    assert _pixels(panel) == grid_before and panel.grid_label.text() == "36 images · seed 42"
    assert panel.strips.strips() == [strip] and panel.strips.isVisible() and strip.isVisible()
    assert strip.title.full_text() == "Variations of image 3 · strength 0.60"
    tiles = strip.tiles()
    assert len(tiles) == 16 and tiles[0]["pixels"].tobytes() == original["pixels"].tobytes()  # the image first
    assert all(t["settings"]["variations"][0]["strength"] == 0.6 for t in tiles[1:])
    assert len({t["pixels"].tobytes() for t in tiles}) == 16
    _strip_tile(qtbot, strip, 5)
    assert panel.current_tile() is tiles[5] and panel.grid.selected_rows() == []  # one selection at a time
    assert "strength 0.60" in panel.details.values["variation"].text()
    assert panel.details.values["variation"].isVisible()
    _shot(panel.window(), tmp_path, "canvas-variations-strip.png")

    panel.details.strength.setValue(30)  # a variation of that variation: a second strip, on top
    second = _vary(qtbot, panel)
    assert panel.strips.strips() == [second, strip]
    assert second.title.full_text() == "Variations of image 3, variation 5 · strength 0.30"
    _click_tile(qtbot, panel, 7)  # the grid is still there to vary another image
    assert panel.current_tile()["settings"]["latent_index"] == 7 and strip.grid.selected_rows() == []
    third = _vary(qtbot, panel)
    assert third.title.full_text() == "Variations of image 8 · strength 0.30" and len(panel.strips.strips()) == 3
    assert _pixels(panel) == grid_before

    _strip_tile(qtbot, second, 1)
    qtbot.mouseClick(second.close_button, Qt.MouseButton.LeftButton)  # closing a strip leaves the rest
    assert panel.strips.strips() == [third, strip] and panel.active is panel.grid  # back to the grid
    for left in list(panel.strips.strips()):
        qtbot.mouseClick(left.close_button, Qt.MouseButton.LeftButton)
    assert panel.strips.strips() == [] and not panel.strips.isVisible() and _pixels(panel) == grid_before


def _walk(qtbot, panel, rows=(1, 9, 4)) -> object:
    _click_tile(qtbot, panel, rows[0])
    for row in rows[1:]:
        _click_tile(qtbot, panel, row, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(panel.strip_opened, timeout=5000) as opened:
        qtbot.mouseClick(panel.walk.make_button, Qt.MouseButton.LeftButton)
    return opened.args[0]


def test_walk_between_picked_images_plays_in_a_strip_and_exports_a_gif_at_the_chosen_size(qtbot, panel, fake, tmp_path):
    panel.controls.set_count(16)
    _generate(qtbot, panel)
    panel.tabs.setCurrentWidget(panel.walk)
    _click_tile(qtbot, panel, 1)
    assert not panel.walk.make_button.isEnabled() and "one more image" in panel.walk.hint.text()
    _click_tile(qtbot, panel, 9, Qt.KeyboardModifier.ControlModifier)  # Ctrl-click picks another
    _click_tile(qtbot, panel, 4, where="box")  # so does the tick box
    assert panel.grid.selected_rows() == [1, 4, 9] and panel.walk.make_button.isEnabled()
    assert panel.details.export_button.text() == "Export 3 PNG…"
    order = [panel.grid.tiles()[r]["key"] for r in (1, 9, 4)]
    assert [t["key"] for t in panel.picked_tiles()] == order  # the order they were picked
    panel.walk.frames_per_step.setValue(6)
    panel.walk.easing.setCurrentIndex(1)
    with qtbot.waitSignal(panel.strip_opened, timeout=5000) as opened:
        qtbot.mouseClick(panel.walk.make_button, Qt.MouseButton.LeftButton)
    strip = opened.args[0]
    assert fake.calls[-1] == ("walk", 3, 6, "linear", True, 12)  # a preview: no path, nothing written
    assert not (panel.project.root / "outputs" / "walks").exists()
    assert strip.title.full_text() == "Walk through 3 images · 18 frames" and strip.frames.model_.rowCount() == 18
    assert panel.grid.model_.rowCount() == 16  # the grid stays
    assert len(panel.walk.frames) == 18 and panel.walk.timer.isActive()
    first = panel.walk.view.image
    qtbot.waitUntil(lambda: panel.walk.view.image is not first, timeout=2000)  # it plays
    assert panel.walk.export_button.isVisible() and "Export GIF" in panel.walk.status.text()
    _shot(panel.window(), tmp_path, "canvas-walk.png")
    qtbot.mouseClick(panel.walk.play_button, Qt.MouseButton.LeftButton)
    assert not panel.walk.timer.isActive() and panel.walk.play_button.text() == "Play"
    _click_tile(qtbot, panel, 4, where="box")  # un-tick: two left, still a walk
    assert panel.grid.selected_rows() == [1, 9] and panel.walk.make_button.isEnabled()

    # Export GIF… on the strip: a dialog with sizes in pixels, frames per step, GIF only
    qtbot.mouseClick(strip.export_button, Qt.MouseButton.LeftButton)
    dialog = panel.walk_dialog
    assert dialog is not None and dialog.isVisible()
    sizes = [dialog.scale.itemText(i) for i in range(dialog.scale.count())]
    assert sizes[0] == "×1 → 32 × 32 px" and sizes[3] == "×4 → 128 × 128 px" and sizes[-1] == "×8 → 256 × 256 px"
    assert dialog.frames_per_step.value() == 6 and "GIF only" in dialog.note.text()
    _shot(dialog, tmp_path, "canvas-walk-export.png")
    dialog.scale.setCurrentIndex(dialog.scale.findData(5))
    dialog.frames_per_step.setValue(4)
    assert dialog.summary.text().startswith("12 frames of 160 × 160 px")
    target = tmp_path / "my walk.gif"
    asked = []
    panel.ask_walk_path = lambda default: asked.append(default) or str(target)
    with qtbot.waitSignal(panel.walk_exported, timeout=5000) as exported:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert exported.args[0] == str(target) and asked[0].name.endswith("-x5.gif")
    assert asked[0].parent == panel.project.root / "outputs" / "walks"
    assert fake.calls[-1] == ("walk", 3, 4, "linear", True, 12, "my walk.gif", 5, "nearest")
    with Image.open(target) as picture:
        assert picture.size == (RES * 5, RES * 5) and picture.n_frames == 12 and picture.info.get("loop") == 0
    assert "160 × 160 px" in panel.banner.text.text() and panel.walk_dialog is None

    qtbot.mouseClick(panel.walk.export_button, Qt.MouseButton.LeftButton)  # the Walk tab's button: same dialog,
    assert panel.walk_dialog.scale.currentData() == 5  # remembering the last size
    qtbot.mouseClick(
        panel.walk_dialog.buttons.button(panel.walk_dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton
    )
    assert panel.walk_dialog is None and fake.calls[-1][-1] == "nearest" and len(fake.calls) == 3  # nothing ran


def test_another_model_or_checkpoint_clears_the_grid_and_its_strips(qtbot, panel, fake):
    panel.controls.set_count(16)
    _generate(qtbot, panel)
    _click_tile(qtbot, panel, 3)
    _vary(qtbot, panel)
    assert panel.details.export_button.isEnabled() and panel.strips.isVisible()
    panel.controls.model.setCurrentIndex(1)  # the VAE
    assert panel.grid.tiles() == [] and panel.strips.strips() == [] and not panel.strips.isVisible()
    assert panel.centre.currentWidget() is panel.grid_empty and "Press Generate" in panel.grid_empty.title.text()
    assert panel.current_tile() is None and not panel.details.export_button.isEnabled()
    assert not panel.details.variations_button.isEnabled()
    calls = len(fake.calls)
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Ctrl+E: nothing to export
    assert len(fake.calls) == calls and panel.export_slot.runner is None
    _generate(qtbot, panel)
    assert panel.details.export_button.isEnabled() and panel.grid.tiles()[0]["settings"]["run_id"].endswith("vae")

    panel.controls.model.setCurrentIndex(0)
    _generate(qtbot, panel)
    panel.refresh_models()  # the list listed again (coming back to the panel): same model, the grid stays
    qtbot.waitUntil(lambda: panel.models_slot.runner is None, timeout=5000)
    assert panel.grid.model_.rowCount() == 16
    panel.controls.checkpoint.setCurrentIndex(panel.controls.checkpoint.findData(200))  # another checkpoint
    assert panel.grid.tiles() == [] and not panel.details.export_button.isEnabled()

    fake.delay = 0.5  # a grid still being made when the model changes never lands under the new one
    panel.generate()
    assert panel.generate_slot.runner is not None
    panel.controls.checkpoint.setCurrentIndex(panel.controls.checkpoint.findData(400))
    assert panel.generate_slot.runner is None and panel.controls.generate_button.text() == "Generate"
    qtbot.wait(700)
    assert panel.grid.tiles() == [] and panel.centre.currentWidget() is panel.grid_empty


def test_exported_file_names_count_as_the_canvas_does(qtbot, panel, fake, tmp_path):
    """The details say "Image 3" and a strip "variation 5": the files say 03 and 05 (the core's writer and names)."""
    from studio.core.generation.image_jobs import ExportImages

    def core_export(items, folder, scale, resample):
        job = ExportImages([p for p, _ in items], [s for _, s in items], folder, scale=scale, resample=resample)
        return FakeJob("Exporting PNG files", lambda: job(JobContext())["files"])

    fake.export_job = core_export
    out = tmp_path / "exported"
    out.mkdir()
    panel.ask_export_folder = lambda: str(out)
    panel.controls.set_count(16)
    _generate(qtbot, panel)
    _click_tile(qtbot, panel, 2)
    assert panel.details.values["index"].text() == "3"
    assert "image 3" in panel.grid.model_.index(2).data(Qt.ItemDataRole.ToolTipRole)
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        qtbot.mouseClick(panel.details.export_button, Qt.MouseButton.LeftButton)
    assert [Path(p).name for p in done.args[0]] == ["20261125-201400-gan-circles-s42-03.png"]

    _click_tile(qtbot, panel, 0)
    _click_tile(qtbot, panel, 9, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        qtbot.mouseClick(panel.details.export_button, Qt.MouseButton.LeftButton)
    assert [Path(p).name[-10:] for p in done.args[0]] == ["s42-01.png", "s42-10.png"]

    _click_tile(qtbot, panel, 2)
    strip = _vary(qtbot, panel)
    _strip_tile(qtbot, strip, 5)
    assert panel.details.values["variation"].text().startswith("5 · seed ")
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        qtbot.mouseClick(panel.details.export_button, Qt.MouseButton.LeftButton)
    name = Path(done.args[0][0]).name
    assert name.startswith("20261125-201400-gan-circles-s42-03-v") and name.endswith("x0.3-05.png")


def test_the_export_size_list_says_pixels(qtbot, panel, project_root):
    scale = panel.details.scale
    texts = [scale.itemText(i) for i in range(scale.count())]
    assert texts == ["32 × 32 px (native)", "64 × 64 px (×2)", "128 × 128 px (×4)", "256 × 256 px (×8)"]
    config = project_root / "runs" / "20261124-100000-vae" / "config.json"  # a 48 px model: its own pixels
    data = json.loads(config.read_text())
    data["model"]["resolution"] = data["config"]["resolution"] = 48
    config.write_text(json.dumps(data))
    panel.refresh_models()
    qtbot.waitUntil(lambda: panel.models_slot.runner is None, timeout=5000)
    panel.controls.model.setCurrentIndex(1)
    assert scale.itemText(2) == "192 × 192 px (×4)" and scale.currentData() == 1
    panel.controls.model.setCurrentIndex(0)
    _generate(qtbot, panel)
    assert [scale.itemText(i) for i in range(scale.count())] == texts  # a picture's own size once there is one


def test_export_writes_pngs_and_open_png_regenerates_them(qtbot, panel, fake, tmp_path):
    panel.controls.set_count(4)
    _generate(qtbot, panel)
    _click_tile(qtbot, panel, 0)
    _click_tile(qtbot, panel, 3, Qt.KeyboardModifier.ControlModifier)
    exported = panel.grid.tiles()[3]["pixels"].tobytes()
    panel.details.scale.setCurrentIndex(panel.details.scale.findData(4))
    panel.details.resample.setCurrentIndex(panel.details.resample.findData("lanczos"))
    assert panel.details.export_button.text() == "Export 2 PNG…"
    out = tmp_path / "exported"
    out.mkdir()
    panel.ask_export_folder = lambda: str(out)
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        panel.grid.setFocus()
        qtbot.keyClick(panel.grid, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Ctrl+E
    files = [Path(p) for p in done.args[0]]
    assert fake.calls[-1] == ("export", 2, 4, "lanczos") and len(files) == 2
    assert all(f.is_file() and Image.open(f).size == (RES * 4, RES * 4) for f in files)
    assert "Saved 2 PNG files" in panel.banner.text.text()

    panel.ask_png_path = lambda: str(files[1])
    with qtbot.waitSignal(panel.compared, timeout=5000) as result:
        qtbot.mouseClick(panel.controls.open_png_button, Qt.MouseButton.LeftButton)
    assert result.args[0]["identical"] is True and result.args[0]["settings"]["latent_index"] == 3
    assert panel.tabs.currentWidget() is panel.compare
    assert panel.compare.verdict.text().startswith("Identical") and panel.compare.verdict.property("tone") == "success"
    _shot(panel.window(), tmp_path, "canvas-open-png.png")
    panel.controls.seed.setValue(5)  # elsewhere now; "Use these settings" brings the picture's grid back
    panel.controls.model.setCurrentIndex(1)
    with qtbot.waitSignal(panel.generated, timeout=5000):
        qtbot.mouseClick(panel.compare.use_button, Qt.MouseButton.LeftButton)
    assert panel.controls.run_id() == "20261125-201400-gan" and panel.controls.seed.value() == 42
    assert panel.grid.current_row() == 3 and panel.current_tile()["pixels"].tobytes() == exported

    tampered = tmp_path / "tampered.png"  # same settings inside, one pixel changed
    with Image.open(files[0]) as picture:
        pixels = np.asarray(picture.convert("RGB")).copy()
        info = PngImagePlugin.PngInfo()
        info.add_text("aigc-studio", picture.text["aigc-studio"])
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(tampered, pnginfo=info)
    panel.ask_png_path = lambda: str(tampered)
    with qtbot.waitSignal(panel.compared, timeout=5000) as result:
        panel.open_png()
    assert result.args[0]["identical"] is False
    assert panel.compare.verdict.text().startswith("Different: 1 of 16,384 pixels changed")

    plain = tmp_path / "plain.png"  # a PNG without studio settings: a plain message, nothing breaks
    Image.new("RGB", (8, 8)).save(plain)
    panel.ask_png_path = lambda: str(plain)
    panel.open_png()
    qtbot.waitUntil(lambda: panel.banner.isVisible() and panel.banner.property("tone") == "error", timeout=5000)


def test_vae_reconstructs_a_dropped_picture_and_morphs_two(qtbot, panel, tmp_path):
    pictures = []
    for i, colour in enumerate(((220, 40, 40), (40, 40, 220))):
        path = tmp_path / f"photo{i}.png"
        Image.new("RGB", (80, 60), colour).save(path)
        pictures.append(path)

    def drop(paths):
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
        event = QDropEvent(centre, *args)
        QApplication.sendEvent(panel, event)
        assert not panel.overlay.isVisible()

    drop(pictures[:1])  # a GAN is selected: it says what to do
    assert "VAE only" in panel.banner.text.text() and panel.compare_slot.runner is None

    panel.controls.model.setCurrentIndex(1)  # the VAE
    with qtbot.waitSignal(panel.compared, timeout=5000) as result:
        drop(pictures[:1])
    assert result.args[0]["kind"] == "reconstruction" and panel.tabs.currentWidget() is panel.compare
    assert "photo0.png" in panel.compare.title.text() and panel.compare.right.image is not None
    assert "Average difference" in panel.compare.verdict.text()
    _shot(panel.window(), tmp_path, "canvas-vae-reconstruction.png")
    with qtbot.waitSignal(panel.compared, timeout=5000) as result:
        drop(pictures)
    assert result.args[0]["kind"] == "morph" and result.args[0]["frames"] == 24
    assert Path(result.args[0]["gif"]).is_file() and panel.tabs.currentWidget() is panel.walk
    assert len(panel.walk.frames) == 24

    panel.ask_image_paths = lambda: [str(pictures[1])]  # "Open image…" does the same as a drop
    with qtbot.waitSignal(panel.compared, timeout=5000) as result:
        qtbot.mouseClick(panel.controls.open_image_button, Qt.MouseButton.LeftButton)
    assert result.args[0]["kind"] == "reconstruction" and "photo1.png" in panel.compare.title.text()


@pytest.mark.main_window
def test_open_in_canvas_from_training_selects_that_run_and_checkpoint(qtbot, panel, project_root):
    window = panel.window_
    window.show_panel("training")
    record = project_root / "runs" / "20261124-100000-vae" / "checkpoints" / "step-000300.json"
    window.panels["training"].open_checkpoint("image", str(record))
    assert window.current_panel_id == "image"
    qtbot.waitUntil(lambda: panel.controls.run_id() == "20261124-100000-vae", timeout=5000)
    assert panel.controls.step() == 300
    older = project_root / "runs" / "20261125-201400-gan" / "checkpoints" / "step-000200.json"
    window.panels["training"].open_checkpoint("image", str(older))
    qtbot.waitUntil(
        lambda: panel.controls.run_id() == "20261125-201400-gan" and panel.controls.step() == 200, timeout=5000
    )


@pytest.mark.main_window
def test_panel_state_is_remembered(qtbot, panel, fake):
    controls = panel.controls
    controls.model.setCurrentIndex(0)
    controls.checkpoint.setCurrentIndex(controls.checkpoint.findData(200))
    controls.set_class("stars")
    qtbot.mouseClick(controls.size_buttons[36], Qt.MouseButton.LeftButton)
    controls.seed.setValue(777)
    controls.set_truncation(0.7)
    panel.walk.frames_per_step.setValue(9)
    panel.details.scale.setCurrentIndex(2)
    panel.tabs.setCurrentWidget(panel.walk)
    state = panel.save_state()
    assert state["run"] == "20261125-201400-gan" and state["step"] == 200 and state["grid"] == 36
    assert state["seed"] == 777 and state["truncation"] == 0.7 and state["class"] == "stars"

    window = panel.window_
    window.save_window_state()
    reopened = _window(qtbot)
    other = _open(qtbot, reopened, fake, window.project.root)
    assert other.controls.run_id() == "20261125-201400-gan" and other.controls.step() == 200
    assert other.controls.count() == 36 and other.controls.seed.value() == 777
    assert other.controls.truncation_value_() == 0.7 and other.controls.class_name() == "stars"
    assert other.walk.frames_per_step.value() == 9 and other.details.export_options()[0] == 4
    assert other.tabs.currentWidget() is other.walk
    _generate(qtbot, other)
    assert fake.calls[-1] == ("grid", "20261125-201400-gan", 200, 777, 36, 0.7, "stars")


# -- the real generation core -------------------------------------------------------------------------------------
def _real_core() -> bool:
    """The generation core and the networks exist (found without importing them: collection stays torch-free)."""
    import importlib.util

    names = (
        "studio.core.generation.image_jobs",
        "studio.core.generation.png_settings",
        "studio.core.generation.animation",
        "studio.core.nets.gan",
    )
    try:
        return all(importlib.util.find_spec(name) is not None for name in names)
    except (ImportError, ValueError):
        return False


@pytest.mark.skipif(
    not _real_core(), reason="the generation core (studio.core.generation, studio.core.nets) is not complete yet"
)
@pytest.mark.slow
def test_real_core_generates_exports_and_regenerates_identically(qtbot, studio_app, tmp_path):
    """An untrained generator saved as a run's checkpoint: the canvas generates, exports and regenerates it."""
    import torch
    from safetensors.torch import save_file

    from studio.core.nets import gan

    root = create_project(tmp_path / "Real").root
    folder = make_run(root, "20261125-120000-gan", "gan", steps=(1,), classes=("a", "b"))
    config = json.loads((folder / "config.json").read_text())
    config["model"].update({"z_dim": 32, "width": 16})
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    generator = gan.build_generator(config["model"])
    save_file(
        {f"generator.{k}": v.contiguous() for k, v in generator.state_dict().items()},
        str(folder / "checkpoints" / "step-000001.safetensors"),
    )
    window = _window(qtbot)
    panel = _open(qtbot, window, CanvasBackend(), root)
    panel.controls.set_count(4)
    with qtbot.waitSignal(panel.generated, timeout=60000):  # imports torch in the job
        panel.generate()
    assert panel.grid.tiles()[0]["pixels"].shape == (RES, RES, 3)
    _click_tile(qtbot, panel, 2)
    out = tmp_path / "out"
    out.mkdir()
    panel.ask_export_folder = lambda: str(out)
    with qtbot.waitSignal(panel.exported, timeout=30000) as done:
        panel.export_selected()
    panel.ask_png_path = lambda: done.args[0][0]
    with qtbot.waitSignal(panel.compared, timeout=30000) as result:
        panel.open_png()
    assert result.args[0]["identical"] is True
    with qtbot.waitSignal(panel.strip_opened, timeout=30000) as opened:  # variations: the image, then neighbours
        panel.make_variations()
    strip = opened.args[0]
    tiles = strip.tiles()
    assert len(tiles) == 16 and len(tiles[1]["settings"]["variations"]) == 1 and len(panel.grid.tiles()) == 4
    _strip_tile(qtbot, strip, 0)
    _strip_tile(qtbot, strip, 5, Qt.KeyboardModifier.ControlModifier)
    panel.walk.frames_per_step.setValue(3)
    with qtbot.waitSignal(panel.walk_ready, timeout=30000) as ready:
        panel.make_walk()
    assert ready.args[0] == 6 and len(panel.walk.frames) == 6
    walk = panel.strips.strips()[0]
    panel.export_walk(walk)
    panel.walk_dialog.scale.setCurrentIndex(panel.walk_dialog.scale.findData(2))
    panel.ask_walk_path = lambda default: str(tmp_path / "walk.gif")
    with qtbot.waitSignal(panel.walk_exported, timeout=30000) as exported:
        panel.walk_dialog.accept()
    with Image.open(exported.args[0]) as picture:
        assert picture.info.get("loop") == 0 and picture.size == (RES * 2, RES * 2) and picture.n_frames == 6


@pytest.mark.skipif(
    not _real_core(), reason="the generation core (studio.core.generation, studio.core.nets) is not complete yet"
)
def test_real_vae_rebuilds_a_dropped_picture_and_morphs_two(qtbot, studio_app, tmp_path):
    """An untrained VAE saved as a run's checkpoint: "Open image…" rebuilds one picture and morphs two."""
    import torch
    from safetensors.torch import save_file

    from studio.core.nets import vae

    root = create_project(tmp_path / "Real").root
    folder = make_run(root, "20261125-130000-vae", "vae", steps=(1,))
    config = json.loads((folder / "config.json").read_text())
    config["model"].update({"z_dim": 16, "width": 8})
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    network = vae.build_vae(config["model"])
    save_file(
        {f"vae.{k}": v.contiguous() for k, v in network.state_dict().items()},
        str(folder / "checkpoints" / "step-000001.safetensors"),
    )
    pictures = []
    for i, colour in enumerate(((200, 60, 30), (30, 90, 200))):
        pictures.append(tmp_path / f"in{i}.png")
        Image.new("RGB", (50, 40), colour).save(pictures[-1])
    window = _window(qtbot)
    panel = _open(qtbot, window, CanvasBackend(), root)
    assert panel.controls.is_vae() and panel.controls.open_image_button.isEnabled()
    panel.ask_image_paths = lambda: [str(pictures[0])]
    with qtbot.waitSignal(panel.compared, timeout=60000) as result:
        qtbot.mouseClick(panel.controls.open_image_button, Qt.MouseButton.LeftButton)
    assert result.args[0]["kind"] == "reconstruction" and panel.compare.right.image.width() == RES
    panel.ask_image_paths = lambda: [str(p) for p in pictures]
    with qtbot.waitSignal(panel.compared, timeout=30000) as result:
        panel.open_images()
    assert result.args[0]["kind"] == "morph" and Path(result.args[0]["gif"]).is_file()
