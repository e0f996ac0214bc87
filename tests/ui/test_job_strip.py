"""The strip inside the Dataset panel while an import runs: what is being done, how far it is, and the time left."""

from __future__ import annotations

import re
import time

from PIL import Image
from PySide6.QtCore import QSize

from studio.core.datasets import importer
from studio.core.project import create_project


def test_the_import_strip_shows_its_title_progress_and_time_left(qtbot, panel_alone, tmp_path, monkeypatch):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(24):
        Image.new("RGB", (40, 40), (i * 10, 255 - i * 10, 90)).save(pics / f"{i:02d}.png")

    def slowly(*args, _real=importer._normalize_task):  # a big folder on a slow disk: time for an estimate
        time.sleep(0.15)
        return _real(*args)

    monkeypatch.setattr(importer, "_normalize_task", slowly)
    panel = panel_alone("dataset", QSize(1280, 800))
    panel.set_project(create_project(tmp_path / "Studio"))
    strip = panel.import_strip

    with qtbot.waitSignal(panel.import_done, timeout=30000):
        panel.import_paths([pics])
        assert strip.isVisible()
        # the title is readable in full (it used to get no width at all beside the stretch)
        assert strip.title.text() == strip.title.toolTip() == "Importing “pics” into “pics”"
        assert strip.title.width() >= strip.title.fontMetrics().horizontalAdvance(strip.title.text())
        assert strip.bar.maximum() == 0  # no fraction yet ("Looking for files"): a busy bar, not a made-up one
        left = re.compile(r"\d+ of 24 files · \d+ s left")  # as the status bar words it (one shared estimate)
        qtbot.waitUntil(lambda: left.fullmatch(strip.detail_text()) is not None, timeout=20000)
        assert strip.bar.maximum() == 1000 and 0 < strip.bar.value() < 1000  # a bar that fills as files are done
        assert strip.detail.text() == strip.detail_text()  # shown whole, not cut
    assert not strip.isVisible()
