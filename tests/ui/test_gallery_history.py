"""The gallery as a designer meets it in the three creation panels: everything made is kept in the project and
listed in the panel's History, newest first, with its settings — after a restart too; a picture reopened comes
out identical; a delete is undone by Edit ▸ Undo; stars outlive the session; search and the run filter narrow the
list.

The canvas and the writer use the shipped starters (models/starter-shapes, models/starter-shakespeare) through the
real generation core; speech uses the speech tests' fake core and system voice (tones, no espeak-ng needed).
"Restart" is a new panel on the same project folder, as the next session opens it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from test_speech_panel import SCRIPT, FakeSpeechBackend, RecordingOutput

from studio.core.project import create_project, open_project
from studio.ui.widgets.common.audio_player import AudioPlayer
from studio.ui.widgets.writer.history import entry_of

pytestmark = pytest.mark.timeout(180)
SHAPES, SHAKESPEARE = "starter-shapes", "starter-shakespeare"
OLD_RUN = "20250101-090000-gpt"  # a run named by the writer's old history.json (no longer in the project)


@pytest.fixture
def project_root(tmp_path):
    return create_project(tmp_path / "Gallery Project").root


@pytest.fixture
def opened():
    """The panels a test opens, held until every other fixture is torn down. panel_alone keeps only weak
    references, and a panel's own reference cycles would otherwise let a garbage collection destroy it while
    another window paints (after the test returns, as pytest-qt processes events)."""
    panels: list = []
    yield panels
    panels.clear()


def _settled(qtbot, panel) -> list[dict]:
    """The History's rows once every recording, star, delete and listing has ended."""
    qtbot.waitUntil(lambda: not panel.history.busy(), timeout=60000)
    return panel.history.rows()


def _open(qtbot, panel_alone, opened: list, panel_id: str, root: Path, backend=None):
    """A panel on the project, as a new session opens it: models (or voices) listed, the History read."""
    panel = panel_alone(panel_id, QSize(1360, 860))
    opened.append(panel)
    if backend is not None:
        panel.backend = backend
    if panel_id == "speech":
        panel.set_player(AudioPlayer(outputs=[RecordingOutput()]))
    panel.set_project(open_project(root))
    if panel_id == "speech":
        qtbot.waitUntil(lambda: panel.voices is not None and panel.voices_slot.runner is None, timeout=10000)
    else:
        qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=10000)
    _settled(qtbot, panel)
    return panel


def _choose_model(panel, run_id: str) -> None:
    panel.controls.model.setCurrentIndex(panel.controls.model.findData(run_id))  # as a click: announced
    assert panel.controls.run_id() == run_id


def test_pictures_are_kept_reopened_identically_starred_and_deleted_with_undo(qtbot, opened, panel_alone, project_root):
    canvas = _open(qtbot, panel_alone, opened, "image", project_root)
    _choose_model(canvas, SHAPES)
    canvas.controls.set_count(4)
    canvas.controls.seed.setValue(42)
    with qtbot.waitSignal(canvas.generated, timeout=60000):
        canvas.generate()
    rows = _settled(qtbot, canvas)
    assert [r["title"] for r in rows] == [f"circle · Seed 42 · image {n}" for n in (1, 2, 3, 4)]  # in grid order
    assert all(r["run_id"] == SHAPES and r["settings"]["seed"] == 42 for r in rows)
    assert [r["settings"]["latent_index"] for r in rows] == [0, 1, 2, 3]
    assert all(not r["image"].isNull() for r in rows)  # each row shows its picture

    canvas.grid.select_row(1)
    canvas.toggle_favourite()  # a star on a grid tile is the gallery's star
    starred = rows[1]["id"]
    qtbot.waitUntil(lambda: not canvas.history.busy() and len(canvas.favourites) == 1, timeout=10000)
    assert [r["favourite"] for r in canvas.history.rows()] == [False, True, False, False]

    canvas.history.select_ids([rows[2]["id"]])
    with qtbot.waitSignal(canvas.compared, timeout=60000) as reopened:
        canvas.history.reopen()  # Reopen: made again from the kept settings
    assert reopened.args[0]["kind"] == "gallery" and reopened.args[0]["identical"] is True
    assert canvas.tabs.currentWidget() is canvas.compare and "Identical" in canvas.compare.verdict.text()

    gone = rows[0]["id"]
    canvas.history.select_ids([gone])
    with qtbot.waitSignal(canvas.history_changed, timeout=5000):
        canvas.history.delete_selected()
    assert gone not in [r["id"] for r in canvas.history.rows()]  # gone at once
    assert canvas.can_undo() and canvas.undo_label() == "delete 1 picture"
    assert len(_settled(qtbot, canvas)) == 3
    with qtbot.waitSignal(canvas.history_changed, timeout=5000):
        canvas.undo()  # Edit ▸ Undo
    assert not canvas.can_undo() and canvas.can_redo()
    assert [r["id"] for r in _settled(qtbot, canvas)] == [r["id"] for r in rows]

    again = _open(qtbot, panel_alone, opened, "image", project_root)  # the next session
    kept = again.history.rows()
    assert [r["id"] for r in kept] == [r["id"] for r in rows]
    assert kept[3]["settings"] == rows[3]["settings"] and kept[3]["settings"]["truncation"] is not None
    assert [r["id"] for r in kept if r["favourite"]] == [starred]
    qtbot.waitUntil(lambda: len(again.favourites) == 1, timeout=10000)  # the canvas's Favourites too
    again.favourites_button.click()
    assert again.grid.model_.rowCount() == 1 and again.grid.tiles()[0]["settings"]["latent_index"] == 1
    again.history.favourites.click()  # ★ in the History
    assert [r["id"] for r in _settled(qtbot, again)] == [starred]


def _old_history(root: Path) -> None:
    """The writer's history.json of an earlier version, with one generation."""
    entry = {
        "id": "1735722000.000000",
        "time": 1735722000.0,
        "run_id": OLD_RUN,
        "step": 400,
        "template": "",
        "template_title": "",
        "fields": {},
        "prompt": "Old linen copy",
        "settings": {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.1, "max_tokens": 8},
        "variants": 1,
        "texts": ["Soft old linen, made to last."],
        "state": "done",
    }
    folder = root / "outputs" / "writer"
    folder.mkdir(parents=True)
    (folder / "history.json").write_text(json.dumps({"schema": 1, "entries": [entry]}))


def _search(qtbot, panel, text: str) -> list[dict]:
    with qtbot.waitSignal(panel.history.listed, timeout=10000):
        panel.history.search.setText(text)  # listed again once the typing pauses
    return panel.history.rows()


def test_texts_are_kept_found_by_search_and_run_and_brought_back(qtbot, opened, panel_alone, project_root):
    _old_history(project_root)
    writer = _open(qtbot, panel_alone, opened, "text", project_root)
    assert [r["title"] for r in writer.history.rows()] == ["Old linen copy"]  # the old history, brought in once
    _choose_model(writer, SHAKESPEARE)
    writer.prompt.setPlainText("ROMEO:")
    writer.controls.max_tokens.setValue(16)
    writer.controls.seed.setValue(7)
    with qtbot.waitSignal(writer.generated, timeout=60000) as done:
        writer.generate()
    rows = _settled(qtbot, writer)
    assert [r["title"] for r in rows] == ["ROMEO:", "Old linen copy"]  # newest first
    assert rows[0]["run_id"] == SHAKESPEARE and rows[0]["texts"] == done.args[0]

    history = writer.history
    names = [history.runs.itemText(i) for i in range(history.runs.count())]
    assert names == ["All runs", f"Starter · {SHAKESPEARE}", OLD_RUN]  # display names where the run is known
    with qtbot.waitSignal(history.listed, timeout=10000):
        history.runs.setCurrentIndex(history.runs.findData(OLD_RUN))
    assert [r["title"] for r in history.rows()] == ["Old linen copy"]
    with qtbot.waitSignal(history.listed, timeout=10000):
        history.runs.setCurrentIndex(0)
    assert len(_search(qtbot, writer, "LINEN")) == 1 and history.rows()[0]["run_id"] == OLD_RUN
    assert _search(qtbot, writer, "no such words") == [] and "No text matches" in history.count_label.text()
    assert len(_search(qtbot, writer, "")) == 2

    again = _open(qtbot, panel_alone, opened, "text", project_root)  # the next session: still there, imported once only
    kept = [entry_of(r) for r in again.history.rows()]
    assert [e["prompt"] for e in kept] == ["ROMEO:", "Old linen copy"]
    assert kept[0]["settings"]["max_tokens"] == 16 and kept[0]["settings"]["seed"] == 7 and kept[0]["step"]
    again.history.select_ids([again.history.rows()[0]["id"]])
    again.history.reopen()
    assert again.prompt.toPlainText() == "ROMEO:" and again.controls.seed.value() == 7
    assert again.columns.texts() == done.args[0] and again.controls.run_id() == SHAKESPEARE


def test_clips_are_kept_played_starred_and_spoken_again(qtbot, opened, panel_alone, project_root):
    fake = FakeSpeechBackend()
    speech = _open(qtbot, panel_alone, opened, "speech", project_root, fake)
    speech.script.setPlainText(SCRIPT)
    speech.controls.set_settings({"rate": 1.25, "pitch": 2, "volume": 0.8})
    with qtbot.waitSignal(speech.synthesized, timeout=10000) as done:
        speech.synthesize()
    rows = _settled(qtbot, speech)
    assert len(rows) == 1 and rows[0]["kind"] == "audio" and rows[0]["run_id"] == "system:en-us"
    settings = rows[0]["settings"]
    assert settings["script"] == SCRIPT and settings["rate"] == 1.25 and settings["pitch"] == 2.0
    assert settings["voice_title"] == "English (America)"
    seconds = len(done.args[0]["samples"]) / done.args[0]["sample_rate"]
    assert rows[0]["duration"] == pytest.approx(seconds, abs=1e-3)
    speech.history.set_favourite([rows[0]["id"]], True)
    _settled(qtbot, speech)

    again = _open(qtbot, panel_alone, opened, "speech", project_root, FakeSpeechBackend())  # the next session
    kept = again.history.rows()
    assert [r["id"] for r in kept] == [rows[0]["id"]] and kept[0]["favourite"] and kept[0]["settings"] == settings
    with qtbot.waitSignal(again.previewed, timeout=10000) as played:
        again.history.play_requested.emit(kept[0])  # the row's ▶: the kept clip, no voice needed
    assert len(played.args[0]["samples"]) == len(done.args[0]["samples"])
    assert again.backend.calls == []
    again.controls.set_settings({"rate": 1.0, "pitch": 0, "volume": 1.0})
    again.script.setPlainText("Something else.")
    with qtbot.waitSignal(again.synthesized, timeout=10000):
        again.history.reopen_requested.emit(kept[0])  # Reopen: voice, delivery and script back, spoken again
    call = again.backend.calls[-1]
    assert call["voice"] == "system:en-us" and call["text"] == SCRIPT and call["settings"]["rate"] == 1.25
    assert len(_settled(qtbot, again)) == 1  # spoken again, not kept twice


def test_a_clip_that_cannot_be_kept_says_so_and_stays_on_screen(qtbot, opened, panel_alone, project_root):
    (project_root / "outputs").mkdir(exist_ok=True)
    (project_root / "outputs" / "gallery").write_text("not a folder")  # the gallery cannot be made here
    speech = _open(qtbot, panel_alone, opened, "speech", project_root, FakeSpeechBackend())
    speech.script.setPlainText(SCRIPT)
    with qtbot.waitSignal(speech.synthesized, timeout=10000):
        speech.synthesize()
    qtbot.waitUntil(lambda: not speech.history.busy(), timeout=10000)
    assert speech.banner.isVisible() and "could not be kept in the History" in speech.banner.text.text()
    assert speech.result is not None and speech.export_button.isEnabled()  # the clip itself is not lost
    assert speech.history.rows() == []
