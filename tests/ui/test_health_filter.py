"""The Health tab's filters: they start afresh for each dataset, and the filter box lets Ctrl+Z through to the
window when it has no typing of its own to undo. Its counts read as English and agree with the table."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from studio.core.datasets.importer import ImportDataset
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import run_job
from studio.ui.widgets.dataset.health_report import HealthReport


def _png(colour, size=(72, 72)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _dataset(tmp_path, name: str, files: dict[str, bytes]) -> Manifest:
    drop = tmp_path / "drops" / name
    drop.mkdir(parents=True)
    for rel, data in files.items():
        (drop / rel).write_bytes(data)
    run_job(ImportDataset(tmp_path / "P", name, [drop], workers=1))
    return Manifest.load(tmp_path / "P" / "datasets" / name)


@pytest.fixture
def two_datasets(tmp_path):
    icons = _dataset(
        tmp_path, "icons", {"a.png": _png((200, 0, 0)), "b.png": _png((0, 200, 0)), "broken.png": b"not a png"}
    )
    photos = _dataset(tmp_path, "photos", {"c.png": _png((0, 0, 200)), "d.png": _png((90, 90, 0))})
    return icons, photos


@pytest.fixture
def health(qtbot):
    widget = HealthReport()
    qtbot.addWidget(widget)
    return widget


def test_switching_dataset_resets_the_filter(health, two_datasets):
    icons, photos = two_datasets
    health.set_manifest(icons)
    health.status_filter.setCurrentIndex(health.status_filter.findData("skipped"))
    health.set_filter_text("broken")
    assert health.visible_rows() == 1

    health.set_manifest(Manifest.load(icons.folder))  # the same dataset again, as after a fix: filters stay
    assert health.status_filter.currentData() == "skipped" and health.search.text() == "broken"
    assert health.visible_rows() == 1

    health.set_manifest(photos)  # another dataset: every row shown
    assert health.status_filter.currentData() == "all" and health.search.text() == ""
    assert health.visible_rows() == 2 and health.shown.text() == "2 files"
    assert not health.search.isUndoAvailable()  # the last dataset's filter text is not typing to undo here


@pytest.fixture
def window(qtbot, health, two_datasets):
    """The health tab in a top-level window that owns an Undo action, as the main window's Edit ▸ Undo."""
    top = QWidget()
    QVBoxLayout(top).addWidget(health)
    undo = QAction("Undo", top)
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    undo.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    top.addAction(undo)
    top.undos = []  # type: ignore[attr-defined]
    undo.triggered.connect(lambda: top.undos.append(health.search.text()))  # type: ignore[attr-defined]
    qtbot.addWidget(top)
    health.set_manifest(two_datasets[0])
    top.resize(900, 600)
    with qtbot.waitExposed(top):
        top.show()
    top.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is top, timeout=2000)
    health.search.setFocus()
    qtbot.waitUntil(health.search.hasFocus, timeout=2000)
    return top


def test_ctrl_z_in_the_empty_filter_box_reaches_the_windows_undo(qtbot, window, health):
    qtbot.keyClick(health.search, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undos == [""]  # the window's Undo ran, with focus still in the filter box
    assert health.search.hasFocus()


def test_the_filter_box_undoes_its_own_typing_first(qtbot, window, health):
    qtbot.keyClicks(health.search, "bro")
    assert health.search.text() == "bro" and health.search.isUndoAvailable()
    qtbot.keyClick(health.search, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undos == [] and health.search.text() != "bro"  # the box kept Ctrl+Z for its typing
    while health.search.isUndoAvailable():
        qtbot.keyClick(health.search, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undos == [] and health.search.text() == ""
    qtbot.keyClick(health.search, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undos == [""]  # nothing left to undo in the box: the window's turn


def _wav(seconds=1.0, rate=22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def test_counts_read_as_english_and_agree_with_the_table(health, tmp_path):
    one = _dataset(tmp_path, "one", {"only.png": _png((10, 20, 30))})
    health.set_manifest(one)
    assert health.tiles["usable"].hint.text() == "of 1 file" and health.shown.text() == "1 file"
    health.set_filter_text("nothing like this")
    assert health.shown.text() == "Showing 0 of 1 file"

    voice = _dataset(tmp_path, "voice", {"clip.wav": _wav(), "metadata.csv": b"clip|Hello there.\n"})
    health.set_manifest(voice)  # the clip and its transcript file: the tile counts 1 file, the table 2 rows
    assert health.tiles["usable"].hint.text() == "of 1 file"
    assert health.visible_rows() == 2 and health.shown.text() == "2 files, including 1 transcript file"

    repeated = "A line of copy.\n\nA line of copy.\n\nA line of copy.\n\nSomething else entirely.\n"
    copy = _dataset(tmp_path, "copy", {"ad.txt": repeated.encode()})
    health.set_manifest(copy)
    assert "2 duplicate paragraphs" in health.proxy.index(0, 2).data()  # the row names the file's own count
    assert "Flagged — 1 file: duplicate paragraphs." in health.summary.text()  # one file has that flag
