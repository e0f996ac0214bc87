"""Every panel readable on a 1280 × 800 laptop screen, in both themes, with realistic content in it.

The window is fixed at 1280 × 800 on the demo project, with what a designer's project holds after a while: a
dataset with a long name, a finished training run, four writer variants, a grid of pictures and a spoken clip.
Each panel is shown and :func:`layout_audit.cut_texts` lists every visible button, label, tab, header and check
box whose text does not fit (an elided label passes when its tooltip has the full text). A screenshot of each
panel is saved in each theme: under ``test-artifacts/layout/`` (CI keeps the folder), or in
``AIGC_SCREENSHOT_DIR`` (``resources/screenshots`` for the README and the closing note).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from layout_audit import cut_texts
from PySide6.QtCore import QSize

from studio import paths
from studio.core.datasets.importer import ImportDataset
from studio.core.demo import SOURCES, MakeDemoProject
from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob
from studio.ui import theme
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings

pytestmark = [pytest.mark.slow, pytest.mark.main_window, pytest.mark.timeout(300)]
SIZE = QSize(1280, 800)
LONG_NAME = "Spring campaign product photos, final selection"
PANELS = ("dataset", "training", "image", "text", "speech")
RUN_STEPS = 3


def _artifacts() -> Path:
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR") or Path(__file__).parents[2] / "test-artifacts" / "layout")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _project_with_history() -> Path:
    """The demo project, plus a long-named picture dataset and a finished (tiny) GAN run on it."""
    project = run_job(MakeDemoProject(paths.projects_dir()))
    run_job(ImportDataset(project.root, LONG_NAME, [project.root / SOURCES / "shapes"], kind="image", workers=1))
    schedule = {"steps": RUN_STEPS, "eval_every": RUN_STEPS, "sample_every": RUN_STEPS, "checkpoint_every": RUN_STEPS}
    TrainJob(project.root, LONG_NAME, "gan", preset="fast", overrides=schedule, cpu_threads=1)(JobContext())
    return project.root


@pytest.fixture
def window(qtbot, studio_app):
    root = _project_with_history()
    settings = AppSettings()
    settings.add_recent_project(root)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.setFixedSize(SIZE)  # the offscreen screen is smaller; the laptop this stands for is not
    with qtbot.waitExposed(window):
        window.show()
    with qtbot.waitSignal(window.project_changed, timeout=30000):
        window.restore_last_project()
    yield window
    theme.apply(studio_app, "light")


def _fill(qtbot, window: MainWindow) -> None:
    """Realistic content in the panels that make things."""
    dataset = window.panels["dataset"]
    qtbot.waitUntil(lambda: LONG_NAME in dataset.dataset_names(), timeout=15000)
    dataset.select_dataset(LONG_NAME)
    training = window.panels["training"]
    window.show_panel("training")
    qtbot.waitUntil(lambda: bool(training.runs), timeout=30000)
    image = window.panels["image"]
    window.show_panel("image")
    qtbot.waitUntil(lambda: image.controls.generate_button.isEnabled(), timeout=30000)
    image.generate()
    qtbot.waitUntil(lambda: not image.generate_slot.is_running() and image.grid.model_.rowCount() > 0, timeout=60000)
    text = window.panels["text"]
    window.show_panel("text")
    qtbot.waitUntil(lambda: text.controls.generate_button.isEnabled(), timeout=30000)
    text.controls.set_variants(4)
    text.controls.max_tokens.setValue(60)
    text.prompt.setPlainText("Hand-finished ceramic mug")
    text.generate()
    qtbot.waitUntil(lambda: not text.generate_slot.is_running(), timeout=60000)
    speech = window.panels["speech"]
    window.show_panel("speech")
    speech.script.setPlainText("Hand-finished ceramic mug. Made to last, made by hand.\nOrder today.")
    qtbot.waitUntil(speech.controls.synthesize_button.isEnabled, timeout=30000)
    speech.synthesize()
    qtbot.waitUntil(lambda: not speech.speak_slot.is_running(), timeout=60000)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_panel_shows_all_of_its_text_at_1280_by_800(qtbot, studio_app, window, mode):
    theme.apply(studio_app, mode)
    _fill(qtbot, window)
    folder = _artifacts()
    cut = {}
    for panel_id in PANELS:
        window.show_panel(panel_id)
        qtbot.wait(300)  # layouts settle, lazily built parts (the training plots) appear
        cut[panel_id] = cut_texts(window.panels[panel_id])
        assert window.grab().save(str(folder / f"{panel_id}-{mode}.png"))
    assert not any(cut.values()), {panel: problems for panel, problems in cut.items() if problems}
