"""The Dataset panel as a designer uses it: drop a folder, read the health report, fix, browse, split.

Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
import wave
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QListView

from studio.core.datasets.manifest import Manifest
from studio.core.project import create_project, open_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.dataset import clip_list
from studio.ui.widgets.dataset.thumbnail_grid import EXCLUDED_ROLE, ThumbnailDelegate, ThumbnailModel

COLOURS = [(200, 60, 60), (60, 160, 80), (60, 90, 200), (220, 170, 40)]


def _shapes(root: Path) -> Path:
    """8 drawings in two class folders, a broken file, an exact duplicate, a tiny picture (flagged) and a
    JPEG re-save of one drawing (a near-duplicate: other pixels, same picture; flagged too)."""
    source = root / "shapes"
    for shape in ("circle", "square"):
        (source / shape).mkdir(parents=True)
        for i, colour in enumerate(COLOURS):
            image = Image.new("RGB", (96, 96), (245, 245, 240))
            draw = ImageDraw.Draw(image)
            box = [10 + i * 8, 12 + i * 5, 60 + i * 8, 70 + i * 4]
            (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=colour)
            draw.line([0, i * 20, 96, 96 - i * 15], fill=(20, 20, 20), width=3)
            image.save(source / shape / f"{shape}{i}.png")
    (source / "square" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a picture")
    shutil.copy(source / "circle" / "circle0.png", source / "square" / "copy_of_circle.png")
    Image.new("RGB", (20, 20), (10, 10, 10)).save(source / "circle" / "tiny.png")
    with Image.open(source / "circle" / "circle0.png") as image:
        image.save(source / "circle" / "zz_circle0_again.jpg", quality=85)
    return source


def _shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()  # pending layout requests (a banner appeared, a strip went away)
    target = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path)) / name
    assert widget.grab().save(str(target))
    return target


@pytest.fixture
def panel(request, qtbot, studio_app, tmp_path, panel_alone):
    """The Dataset panel with a new project open: on its own, or inside the whole window for tests marked
    main_window."""
    size = QSize(1200, 780)  # offscreen screens are small; the pictures are not
    if not request.node.get_closest_marker("main_window"):
        panel = panel_alone("dataset", size)
        panel.set_project(create_project(tmp_path / "Spring Campaign"))
        return panel
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.resize(size)
    window.setFixedSize(size)
    with qtbot.waitExposed(window):
        window.show()
    window.set_project(create_project(tmp_path / "Spring Campaign"))
    panel = window.panels["dataset"]
    panel.window_ = window
    return panel


def _import(qtbot, panel, paths, **kwargs):
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        assert panel.import_paths(paths, **kwargs) is not None
    return panel.manifest


def _tiles(panel) -> dict[str, int]:
    return {key: int(tile.value.text().replace(",", "")) for key, tile in panel.health.tiles.items()}


def _drop_event(kind, paths, panel):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPointF(panel.width() / 2, panel.height() / 2)
    if kind is QDropEvent:
        return QDropEvent(
            centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        ), mime
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:  # PySide6 up to 6.11 takes a QPoint here, later releases a QPointF
        return QDragEnterEvent(centre.toPoint(), *args), mime
    except TypeError:
        return QDragEnterEvent(centre, *args), mime


def test_dropping_a_folder_imports_it_and_the_health_tab_accounts_for_every_file(qtbot, panel, tmp_path):
    assert panel.stack.currentWidget() is panel.empty  # a new project: the empty state says what to do
    assert "Drop pictures" in panel.empty.body.text()
    source = _shapes(tmp_path)

    enter, _mime = _drop_event(QDragEnterEvent, [source], panel)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted() and panel.overlay.isVisible()  # the highlighted drop hint
    assert "new dataset “shapes”" in panel.overlay.body.text()
    _shot(panel, tmp_path, "dataset-drop-hint.png")
    drop, _mime = _drop_event(QDropEvent, [source], panel)
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        QApplication.sendEvent(panel, drop)  # the real drop path (the import starts right after it)
        assert drop.isAccepted() and not panel.overlay.isVisible()
        qtbot.waitUntil(lambda: panel.import_strip.isVisible() or not panel.import_slot.busy, timeout=5000)

    assert panel.dataset_names() == ["shapes"] and panel.current_name == "shapes"
    assert panel.stack.currentWidget() is panel.content
    assert _tiles(panel) == {"usable": 10, "ok": 10, "fixed": 0, "skipped": 1, "duplicates": 1, "flagged": 2}
    assert "Imported 12 files into “shapes”" in panel.banner.text.text()
    assert not panel.import_strip.isVisible() and panel.import_button.isEnabled()

    health = panel.health
    assert health.visible_rows() == 12  # every file is accounted for
    health.search.setText("broken")
    qtbot.waitUntil(lambda: health.visible_rows() == 1, timeout=2000)  # applied once typing pauses
    assert health.proxy.index(0, 2).data() == "truncated or damaged image"
    health.set_filter_text("")
    assert health.visible_rows() == 12
    health.status_filter.setCurrentIndex(health.status_filter.findData("duplicate"))
    assert health.visible_rows() == 1 and "copy_of_circle" in health.proxy.index(0, 0).data()
    health.status_filter.setCurrentIndex(health.status_filter.findData("all"))
    shot = _shot(panel, tmp_path, "dataset-health.png")
    with Image.open(shot) as image:
        assert image.size[0] >= 900 and len(image.convert("RGB").getcolors(1 << 20)) > 50


def test_one_click_fixes_are_undoable_and_saved(qtbot, panel, tmp_path, monkeypatch):
    manifest = _import(qtbot, panel, [_shapes(tmp_path)])
    folder = manifest.folder
    health = panel.health
    assert not health.undo_button.isEnabled()

    assert health.near_button.isEnabled()
    qtbot.mouseClick(health.near_button, Qt.MouseButton.LeftButton)  # the JPEG re-save
    assert _tiles(panel)["usable"] == 9 and _tiles(panel)["flagged"] == 1
    assert not health.near_button.isEnabled()
    qtbot.mouseClick(health.flagged_button, Qt.MouseButton.LeftButton)  # the tiny picture
    assert _tiles(panel)["usable"] == 8 and _tiles(panel)["flagged"] == 0
    assert len(Manifest.load(folder).usable()) == 8  # saved at once
    assert health.undo_button.isEnabled() and "drop flagged" in health.undo_button.toolTip()
    assert panel.dataset_list.currentItem().data(Qt.ItemDataRole.UserRole + 1) == "8 pictures"
    health.status_filter.setCurrentIndex(health.status_filter.findData("excluded"))
    assert health.visible_rows() == 2

    qtbot.mouseClick(health.undo_button, Qt.MouseButton.LeftButton)
    assert _tiles(panel)["usable"] == 9 and len(Manifest.load(folder).usable()) == 9
    assert "Undid" in panel.banner.text.text()
    panel.undo()
    assert _tiles(panel)["usable"] == 10 and not health.undo_button.isEnabled()

    for suffix in ("csv", "json"):
        target = tmp_path / f"report.{suffix}"
        monkeypatch.setattr(panel, "ask_export_path", lambda _name, t=target: (str(t), ""))
        qtbot.mouseClick(health.export_button, Qt.MouseButton.LeftButton)
        assert target.is_file()
    with open(tmp_path / "report.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok", "skipped", "duplicate"}
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["summary"]["skipped"] == 1 and data["usable"] == 10


def test_browse_shows_thumbnails_and_delete_insert_exclude_and_include(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_shapes(tmp_path)])
    panel.tabs.setCurrentIndex(1)
    grid = panel.grid
    assert panel.browse.currentWidget() is grid and grid.model.rowCount() == 10
    qtbot.waitUntil(lambda: grid.model.loaded_rows() == 10, timeout=10000)  # decoded off the GUI thread
    assert "10 pictures" in grid.count_label.text()

    grid.view.setFocus()
    grid.select_rows([0, 1])
    qtbot.keyClick(grid.view, Qt.Key.Key_Delete)
    assert _tiles(panel)["usable"] == 8 and "2 excluded" in grid.count_label.text()
    assert grid.model.index(0).data(EXCLUDED_ROLE) and not grid.model.index(2).data(EXCLUDED_ROLE)
    grid.select_rows([1])
    qtbot.keyClick(grid.view, Qt.Key.Key_Insert)
    assert _tiles(panel)["usable"] == 9
    panel.undo()  # the include
    panel.undo()  # the exclude
    assert _tiles(panel)["usable"] == 10

    grid.select_rows([4])
    qtbot.mouseClick(grid.exclude_button, Qt.MouseButton.LeftButton)
    _shot(panel, tmp_path, "dataset-browse.png")
    assert _tiles(panel)["usable"] == 9


def test_the_thumbnail_model_loads_nothing_until_rows_are_shown(qtbot, tmp_path):
    """20,000 items: setting them costs a list, and only the rows painted ask for a thumbnail."""
    entries = [
        {"id": f"{i:06d}", "source": f"big/{i}.png", "status": "ok", "item": f"items/{i:06d}.png"}
        for i in range(20_000)
    ]
    model = ThumbnailModel()
    started = time.perf_counter()
    model.set_entries(tmp_path, entries)
    view = QListView()
    qtbot.addWidget(view)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setUniformItemSizes(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    delegate = ThumbnailDelegate(view)
    view.setItemDelegate(delegate)
    view.setModel(model)
    view.resize(800, 600)
    assert model._loader is None  # nothing made before a row is painted
    with qtbot.waitExposed(view):
        view.show()
    qtbot.wait(50)
    first = model.loader.pending() + len(model.loader._cache)
    assert 0 < first <= 100  # about one screenful, not 20,000
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())  # jump to the end
    qtbot.wait(50)
    assert model.loader.pending() + len(model.loader._cache) <= 2 * first
    assert time.perf_counter() - started < 5


def test_split_apply_changes_the_manifest_and_shows_counts_per_class(qtbot, panel, tmp_path):
    manifest = _import(qtbot, panel, [_shapes(tmp_path)])
    panel.tabs.setCurrentIndex(2)
    split = panel.split_tab
    split.percent.setValue(40)
    split.seed.setValue(3)
    qtbot.mouseClick(split.apply_button, Qt.MouseButton.LeftButton)
    saved = Manifest.load(manifest.folder)
    assert saved.split == {"val_percent": 40.0, "seed": 3}
    values = [e["split"] for e in saved.usable()]
    assert values.count("val") == 4 and values.count("train") == 6  # round(6 × 0.4) + round(4 × 0.4)
    assert "Validation: <b>4</b>" in split.counts.text()
    assert split.classes.topLevelItemCount() == 2 and split.classes.topLevelItem(0).text(0) == "circle"
    _shot(panel, tmp_path, "dataset-split.png")


def test_mixed_drops_are_split_into_sibling_datasets(qtbot, panel, tmp_path):
    source = _shapes(tmp_path)
    (source / "notes.txt").write_text("A short note about the shapes.", encoding="utf-8")
    _import(qtbot, panel, [source])
    assert "split" in panel.banner.text.text() and "“shapes-text”" in panel.banner.text.text()
    assert panel.dataset_names() == ["shapes", "shapes-text"]
    panel.select_dataset("shapes-text")
    assert panel.manifest.kind == "text"
    assert not panel.tabs.isTabVisible(3)  # Augment is for pictures only


def test_text_preview_shows_each_files_encoding(qtbot, panel, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "spring.txt").write_bytes(
        "春季新品上市，限时优惠。我们的陶瓷杯由手工制作，每一只都独一无二。".encode("gb18030")
    )
    (copy / "mug.txt").write_text("A ceramic mug, hand-finished and made to last.", encoding="utf-8")
    _import(qtbot, panel, [copy])
    assert panel.current_name == "copy" and panel.manifest.kind == "text"
    panel.tabs.setCurrentIndex(1)
    preview = panel.text_preview
    encodings = {preview.list.topLevelItem(i).text(0): preview.list.topLevelItem(i).text(1) for i in range(2)}
    assert encodings == {"mug.txt": "UTF-8", "spring.txt": "GB18030"}
    preview.list.setCurrentItem(preview.list.findItems("spring.txt", Qt.MatchFlag.MatchExactly)[0])
    assert "陶瓷杯" in preview.current_text() and "GB18030" in preview.info.text()


def test_audio_clips_list_says_when_playback_is_unavailable(qtbot, panel, tmp_path, monkeypatch):
    voice = tmp_path / "voice"
    voice.mkdir()
    for i in range(2):
        with wave.open(str(voice / f"clip{i}.wav"), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(22050)
            samples = bytearray()
            for n in range(22050):
                value = int(9000 * ((n // (40 + 30 * i)) % 2 * 2 - 1) * min(1.0, n / 2000, (22050 - n) / 2000))
                samples += value.to_bytes(2, "little", signed=True)
            clip.writeframes(bytes(samples))
    (voice / "metadata.csv").write_text("clip0|Hello there.\n", encoding="utf-8")

    class NoPortAudio:  # what importing sounddevice does when the PortAudio library is not installed
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    monkeypatch.setattr(clip_list, "_checked", False)
    _import(qtbot, panel, [voice])
    assert panel.manifest.kind == "audio"
    panel.tabs.setCurrentIndex(1)
    clips = panel.clips
    assert clips.model.rowCount() == 2
    qtbot.waitUntil(clips.message.isVisible, timeout=5000)  # checked off the GUI thread when first shown
    assert clips.message.text().startswith("Playback is unavailable:")
    assert "PortAudio" in clips.message.text() and not clips.play_button.isEnabled()
    assert clips.model.index(0, 4).data() == "Hello there." and clips.model.index(1, 4).data() == "No transcript"
    qtbot.waitUntil(lambda: clips.model.index(0, 1).data(clip_list.PEAKS_ROLE) is not None, timeout=5000)
    assert not clips.play(0)  # a message, not a crash


def test_augment_preview_and_cache_build(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_shapes(tmp_path)])
    panel.tabs.setCurrentIndex(4)
    cache = panel.cache_tab
    cache.resolution.setCurrentIndex(cache.resolution.findData(32))
    with qtbot.waitSignal(panel.cache_done, timeout=30000):
        qtbot.mouseClick(cache.build_button, Qt.MouseButton.LeftButton)
    assert cache.status.text().startswith("Ready: 10 pictures")
    assert (panel.manifest.folder / "cache" / "images_32_crop.u8").is_file()

    panel.tabs.setCurrentIndex(3)  # torch is imported on a worker thread, only now
    augment = panel.augment
    qtbot.waitUntil(lambda: augment.shown_images() == 8, timeout=30000)
    first = augment.tiles[0].pixmap().toImage()
    augment.checks["flip"].setChecked(False)
    augment.checks["cutout"].setChecked(False)
    assert augment.policy() == "translation,color"
    qtbot.waitUntil(lambda: augment.tiles[0].pixmap().toImage() != first, timeout=30000)
    _shot(panel, tmp_path, "dataset-augment.png")


def test_cancel_stops_the_import_and_says_so(qtbot, panel, tmp_path, monkeypatch):
    from studio.core.datasets import importer

    def slowly(sources, budget=None, _real=importer.iter_sources):  # a big folder: time to press Cancel
        for source in _real(sources, budget):
            time.sleep(0.05)
            yield source

    monkeypatch.setattr(importer, "iter_sources", slowly)
    runner = panel.import_paths([_shapes(tmp_path)])
    assert panel.import_strip.isVisible() and not panel.import_button.isEnabled()
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        qtbot.mouseClick(panel.import_strip.cancel_button, Qt.MouseButton.LeftButton)
    assert runner.state == "cancelled" and "Import cancelled" in panel.banner.text.text()
    assert not panel.import_strip.isVisible() and panel.import_button.isEnabled()


def test_the_name_is_asked_only_when_needed(qtbot, panel, tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(panel, "ask_dataset_name", lambda default, reason="": asked.append((default, reason)) or None)
    source = _shapes(tmp_path)
    assert panel.choose_dataset_name([source]) == "shapes" and not asked  # the folder's name
    _import(qtbot, panel, [source])
    loose = tmp_path / "more"
    loose.mkdir()
    Image.new("RGB", (80, 80), (1, 2, 3)).save(loose / "extra.png")
    (loose / "tagline.txt").write_text("Made to last.", encoding="utf-8")
    assert panel.choose_dataset_name([loose / "extra.png"]) == "shapes"  # more for the selected dataset
    assert panel.choose_dataset_name([loose / "tagline.txt"]) == "copy"  # another kind: a new dataset
    assert not asked
    (tmp_path / "pics.txt").write_text("Not pictures.", encoding="utf-8")
    assert panel.choose_dataset_name([tmp_path / "pics.txt"]) == "copy"
    text_folder = tmp_path / "shapes-words" / "shapes"
    text_folder.mkdir(parents=True)
    (text_folder / "a.txt").write_text("Words, not shapes.", encoding="utf-8")
    assert panel.choose_dataset_name([text_folder]) is None  # “shapes” holds pictures: the user is asked
    assert asked == [("shapes-2", "A dataset named “shapes” already holds pictures.")]
    assert panel.choose_dataset_name([source], new=True) is None and asked[-1][0] == "shapes-2"


@pytest.mark.main_window
def test_panel_state_is_remembered(qtbot, panel, tmp_path):
    _import(qtbot, panel, [_shapes(tmp_path)])
    panel.tabs.setCurrentIndex(2)
    panel.grid.set_side(192)
    panel.transparency_choice.restore_state({"row": 3})  # "Keep transparency"
    state = panel.save_state()
    assert state.pop("list_width") > 150
    assert state == {
        "tab": "split",
        "thumb_size": 192,
        "augment_policy": "flip,translation,color,cutout",
        "dataset": "shapes",
        "transparency": {"row": 3, "colour": [255, 255, 255]},
    }
    panel.window_.close()

    again = MainWindow(AppSettings())
    qtbot.addWidget(again)
    again.open_project_folder(tmp_path / "Spring Campaign")
    fresh = again.panels["dataset"]
    assert fresh.current_name == "shapes"
    assert fresh.tabs.currentIndex() == 2 and fresh.grid.side == 192
    assert fresh.transparency_choice.text() == "Transparency: keep"


def test_no_project_means_no_import(qtbot, studio_app, tmp_path):
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    panel = window.panels["dataset"]
    assert panel.stack.currentWidget() is panel.empty and "Open or create a project" in panel.empty.body.text()
    enter, _mime = _drop_event(QDragEnterEvent, [tmp_path], panel)
    QApplication.sendEvent(panel, enter)
    assert not enter.isAccepted() and not panel.overlay.isVisible()
    assert panel.import_paths([tmp_path]) is None and not panel.import_button.isEnabled()


def test_read_as_decodes_a_text_file_again_and_undo_goes_back(qtbot, panel, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "spring.txt").write_bytes("春季新品上市，限时优惠。".encode("gb18030"))
    (copy / "mug.txt").write_text("A ceramic mug.", encoding="utf-8")
    _import(qtbot, panel, [copy])
    panel.tabs.setCurrentIndex(1)
    preview = panel.text_preview
    preview.list.setCurrentItem(preview.list.findItems("spring.txt", Qt.MatchFlag.MatchExactly)[0])
    assert preview.read_as.currentText() == "GB18030" and "春季" in preview.current_text()

    preview.read_as.setCurrentIndex(preview.read_as.findData("latin-1"))
    preview.read_as.activated.emit(preview.read_as.currentIndex())  # what choosing it with the mouse sends
    preview.list.setCurrentItem(preview.list.findItems("spring.txt", Qt.MatchFlag.MatchExactly)[0])
    assert preview.read_as.currentText() == "Latin-1" and "春季" not in preview.current_text()
    assert "Latin-1" in panel.banner.text.text()
    assert (copy / "spring.txt").read_bytes() == "春季新品上市，限时优惠。".encode("gb18030")  # original untouched

    panel.undo()
    preview.list.setCurrentItem(preview.list.findItems("spring.txt", Qt.MatchFlag.MatchExactly)[0])
    assert preview.read_as.currentText() == "GB18030" and "春季" in preview.current_text()


def test_trim_silence_runs_as_a_job_and_is_undoable(qtbot, panel, tmp_path):
    import numpy as np
    import soundfile

    from studio.core.datasets.base import ImportOptions
    from studio.core.datasets.importer import ImportDataset
    from studio.core.jobs import run_job

    voice = tmp_path / "voice"
    voice.mkdir()
    rate = 22050
    for i in range(3):  # a second of tone between seconds of silence; other pitches, so no duplicates
        tone = (0.3 * np.sin(2 * np.pi * (220 + 110 * i) * np.arange(rate) / rate)).astype(np.float32)
        soundfile.write(
            voice / f"clip{i}.wav", np.concatenate([np.zeros(rate, np.float32), tone, np.zeros(rate, np.float32)]), rate
        )
    run_job(
        ImportDataset(panel.project.root, "voice", [voice], kind="audio", options=ImportOptions(trim_silence=False))
    )
    panel.set_project(open_project(panel.project.root))  # the import above ran outside the window
    panel.select_dataset("voice")
    assert panel.health.trim_button.isVisible() and panel.health.trim_button.isEnabled()
    before = {e["id"]: e["meta"]["duration_s"] for e in panel.manifest.usable()}

    panel.health.trim_button.click()
    assert panel.fix_slot.busy and not panel.health.undo_button.isEnabled()  # no edits meanwhile
    qtbot.waitUntil(lambda: not panel.fix_slot.busy, timeout=20000)
    after = {e["id"]: e["meta"]["duration_s"] for e in panel.manifest.usable()}
    assert all(after[i] < before[i] - 1.5 for i in before)
    assert "Trimmed the silence of 3 clips" in panel.banner.text.text()

    panel.undo()
    assert {e["id"]: e["meta"]["duration_s"] for e in panel.manifest.usable()} == before


@pytest.mark.main_window
def test_file_import_opens_the_dataset_panel_and_imports_the_chosen_files(qtbot, panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    source = _shapes(tmp_path)
    window = panel.window_
    window.show_panel("speech")
    offered = {}

    def choose(parent, caption, start, filters):
        offered["filters"] = filters
        return [str(source / "circle" / "circle1.png"), str(source / "square" / "square2.png")], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", choose)
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Import Files…")
    assert action.shortcut().toString() == "Ctrl+I"
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        action.trigger()
    assert window.current_panel_id == "dataset" and panel.current_name == "images"
    assert len(panel.manifest.usable()) == 2
    assert "*.webp" in offered["filters"] and "*.flac" in offered["filters"] and "*.zip" in offered["filters"]
