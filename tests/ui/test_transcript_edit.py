"""A transcript typed in the Dataset panel's clip list reaches the dataset and the audio cache training reads; Undo
brings the earlier one back. The user's recordings and their metadata.csv are never written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from studio.core.datasets import audio
from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import run_job
from studio.core.project import create_project, open_project
from studio.ui.widgets.dataset.clip_list import ClipModel

METADATA = "clip0|Hello there.\nclip1|A second line.\n"


@pytest.fixture
def voice_panel(qtbot, studio_app, tmp_path, panel_alone):
    """The Dataset panel showing an audio dataset of three clips (clip2 without a transcript) and its built
    audio cache, on the Browse tab."""
    source = tmp_path / "recordings"
    source.mkdir()
    rate = 22050
    for i in range(3):
        t = np.arange(int(0.6 * rate)) / rate
        soundfile.write(source / f"clip{i}.wav", (0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)).astype(np.float32), rate)
    (source / "metadata.csv").write_text(METADATA, encoding="utf-8")
    project = create_project(tmp_path / "Voices")
    run_job(ImportDataset(project.root, "voice", [source], kind="audio", workers=1))
    folder = dataset_folder(project.root, "voice")
    run_job(BuildAudioCache(folder))
    panel = panel_alone("dataset", QSize(1200, 780))
    panel.set_project(open_project(project.root))
    panel.select_dataset("voice")
    panel.tabs.setCurrentIndex(1)
    panel.source_, panel.folder_ = source, folder
    return panel


def _row(panel, name: str) -> int:
    model = panel.clips.model
    return next(r for r in range(model.rowCount()) if model.entries[r]["source"].endswith(name))


def _editor(qtbot) -> QLineEdit:
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=3000)
    editor = QApplication.focusWidget()
    assert editor.objectName() == "transcriptEditor"
    return editor


def _cache_text(folder: Path, entry_id: str) -> tuple[str | None, bool]:
    """What training reads for the clip: the cache is brought up to date first, as every training run does."""
    run_job(BuildAudioCache(folder))
    cache = AudioCache.open(folder)
    row = cache.info["ids"].index(entry_id)
    return cache.info["transcripts"][row], bool(cache.has_transcript(row))


def test_a_transcript_typed_in_the_clip_list_reaches_the_cache_and_undo_reverts_it(qtbot, voice_panel):
    panel, clips = voice_panel, voice_panel.clips
    row = _row(panel, "clip2.wav")
    entry_id = clips.model.entries[row]["id"]
    index = clips.model.index(row, ClipModel.TRANSCRIPT)
    assert index.data() == "No transcript" and "1 without a transcript" in clips.count.text()
    original_csv = (panel.source_ / "metadata.csv").read_bytes()

    clips.view.scrollTo(index)
    cell = clips.view.visualRect(index).center()
    qtbot.mouseClick(clips.view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(clips.view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    editor = _editor(qtbot)
    assert editor.text() == ""
    qtbot.keyClicks(editor, "The third clip, typed in.")
    qtbot.keyClick(editor, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: Manifest.load(panel.folder_).by_id()[entry_id].get("transcript") is not None, timeout=3000)
    saved = Manifest.load(panel.folder_).by_id()[entry_id]
    assert saved["transcript"] == "The third clip, typed in."
    assert audio.NO_TRANSCRIPT not in (saved.get("flags") or [])
    row = clips.model.row_of_id(entry_id)
    assert clips.model.index(row, ClipModel.TRANSCRIPT).data() == "The third clip, typed in."
    assert "without a transcript" not in clips.count.text()
    assert clips.selected_id() == entry_id  # the refilled list keeps the clip selected
    assert "Saved the transcript of “clip2.wav”" in panel.banner.text.text()
    assert _cache_text(panel.folder_, entry_id) == ("The third clip, typed in.", True)

    panel.undo()
    assert "transcript" not in Manifest.load(panel.folder_).by_id()[entry_id]
    row = clips.model.row_of_id(entry_id)
    assert clips.model.index(row, ClipModel.TRANSCRIPT).data() == "No transcript"
    assert "1 without a transcript" in clips.count.text()
    assert _cache_text(panel.folder_, entry_id) == (None, False)
    assert (panel.source_ / "metadata.csv").read_bytes() == original_csv


def test_the_edit_button_fixes_the_selected_clip_and_escape_changes_nothing(qtbot, voice_panel):
    panel, clips = voice_panel, voice_panel.clips
    row = _row(panel, "clip0.wav")
    entry_id = clips.model.entries[row]["id"]
    clips.view.selectRow(row)
    assert clips.edit_button.isEnabled()

    qtbot.mouseClick(clips.edit_button, Qt.MouseButton.LeftButton)
    editor = _editor(qtbot)
    assert editor.text() == "Hello there."
    qtbot.keyClicks(editor, " Nothing else")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    QApplication.processEvents()
    assert Manifest.load(panel.folder_).by_id()[entry_id]["transcript"] == "Hello there."
    assert Manifest.load(panel.folder_).history == []

    qtbot.mouseClick(clips.edit_button, Qt.MouseButton.LeftButton)
    editor = _editor(qtbot)
    editor.selectAll()
    qtbot.keyClicks(editor, "Hello there, friend.")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: Manifest.load(panel.folder_).by_id()[entry_id]["transcript"] == "Hello there, friend.", timeout=3000
    )
    assert _cache_text(panel.folder_, entry_id) == ("Hello there, friend.", True)
    panel.undo()
    assert Manifest.load(panel.folder_).by_id()[entry_id]["transcript"] == "Hello there."
