"""A picture of the real window on the demo project: checks it renders, and makes the README screenshot.

Set ``AIGC_SCREENSHOT_DIR`` to keep the PNG (``resources/`` for the README)."""

import os
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSize, Qt

from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def test_window_renders_the_demo_project(qtbot, studio_app, tmp_path):
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    with qtbot.waitSignal(window.project_changed, timeout=20000):
        window.restore_last_project()
    with qtbot.waitSignal(window.devices_ready, timeout=20000):
        window.detect_devices()
    window.activity_dock.show()
    window.resize(QSize(1200, 800))
    window.setFixedSize(QSize(1200, 800))  # offscreen screens are small; the picture is not
    window.resizeDocks([window.activity_dock], [110], Qt.Orientation.Vertical)
    dataset = window.panels["dataset"]
    assert dataset.dataset_names() == ["copy", "shapes", "voice"]  # the demo's three datasets
    dataset.select_dataset("shapes")
    qtbot.wait(50)
    target = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path)) / "screenshot.png"
    assert window.grab().save(str(target))
    with Image.open(target) as image:
        assert image.size[0] >= 1200
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # text, icons and panels, not a blank frame
    window.close()  # stops the window's jobs (qtbot holds it weakly: the test's end would delete it unclosed)
